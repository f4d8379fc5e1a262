// The reconciler's BullMQ wiring. Three queues, each drained by a worker:
//   fabric-changes  outbox events of every service → renders of the devices they touch
//   render          one job per device: at most one active and one waiting, newest data wins; a
//                   device whose configuration changed less than BULKHEAD_RENDER_INTERVAL_MS ago
//                   waits out the rest of the interval, so a burst of changes costs it one more
//                   push, not one each
//   push            one job per device likewise; retried with exponential backoff and jitter,
//                   then a dead letter on the device (Postgres, the newest 10) and FAILED. A push
//                   asked for only because the agent does not run the desired revision yet is
//                   dropped while one is under way: that one delivers it
//                   (a later heartbeat asks again if it did not)
// Every queue is bounded: render and push hold at most two jobs per device, finished jobs are
// removed, failed ones after a day.
// Jobs of a worker that died are picked up again once their lock expires (BULKHEAD_STALLED_MS).
import { Queue, Worker, type Job, type JobsOptions } from "bullmq";
import { Redis } from "ioredis";
import { FABRIC_CHANGES_QUEUE, type PublishedEvent } from "@bulkhead/db";
import type { Logger } from "@bulkhead/service-kit";
import type { Reconciler, WorkQueues } from "./reconciler.js";

/**
 * Events fanned out at once. A fan-out only reads and enqueues (renders read the records as they
 * are then, so the order events are fanned out in does not matter); a burst's events must not
 * queue behind a few of them.
 */
const EVENT_CONCURRENCY = 16;

export interface QueueSettings {
  url: string;
  prefix: string;
  renderConcurrency: number;
  renderIntervalMs: number;
  pushConcurrency: number;
  pushAttempts: number;
  pushBackoffMs: number;
  stalledMs: number;
}

export class BullQueues implements WorkQueues {
  private readonly connections: Redis[] = [];
  private readonly renders: Queue;
  private readonly pushes: Queue;
  private readonly workers: Worker[] = [];
  private readonly redis: Redis;

  constructor(
    private readonly settings: QueueSettings,
    private readonly log: Logger,
  ) {
    this.redis = this.connection();
    const options = { connection: this.redis, prefix: settings.prefix };
    this.renders = new Queue("render", options);
    this.pushes = new Queue("push", options);
    for (const q of [this.renders, this.pushes]) q.on("error", (error) => log.warn({ err: error }, "queue error"));
  }

  /** A connection that waits out Valkey restarts instead of failing commands. */
  private connection(): Redis {
    const redis = new Redis(this.settings.url, { maxRetriesPerRequest: null });
    redis.on("error", (error) => this.log.debug({ err: error }, "valkey connection error"));
    this.connections.push(redis);
    return redis;
  }

  private cooldownKey(device: string): string {
    return `${this.settings.prefix}:render-cooldown:${device}`;
  }

  /** A resync renders at once (and apart from change renders, so that its force is not lost). */
  async render(device: string, force = false): Promise<void> {
    const delay = force || this.settings.renderIntervalMs === 0 ? 0 : Math.max(0, await this.redis.pttl(this.cooldownKey(device)));
    await this.renders.add("render", { device, force }, {
      deduplication: { id: `${force ? "resync" : "render"}-${device}`, keepLastIfActive: true },
      delay,
      attempts: 10,
      backoff: { type: "exponential", delay: 500, jitter: 0.5 },
      removeOnComplete: true,
      removeOnFail: { age: 86_400 },
    });
  }

  async push(device: string, unlessUnderWay = false): Promise<void> {
    const options: JobsOptions = {
      deduplication: { id: `push-${device}`, keepLastIfActive: !unlessUnderWay },
      attempts: this.settings.pushAttempts,
      backoff: { type: "exponential", delay: this.settings.pushBackoffMs, jitter: 0.5 },
      removeOnComplete: true,
      removeOnFail: { age: 86_400 },
    };
    await this.pushes.add("push", { device }, options);
  }

  start(reconciler: Reconciler): void {
    const worker = <T>(name: string, concurrency: number, run: (job: Job<T>) => Promise<unknown>) => {
      const w = new Worker<T>(name, run, { connection: this.connection(), prefix: this.settings.prefix, concurrency, stalledInterval: this.settings.stalledMs, lockDuration: this.settings.stalledMs });
      w.on("error", (error) => this.log.warn({ err: error, queue: name }, "worker error"));
      this.workers.push(w);
      return w;
    };
    worker<PublishedEvent>(FABRIC_CHANGES_QUEUE, EVENT_CONCURRENCY, (job) => reconciler.onEvent(job.data));
    worker<{ device: string; force: boolean }>("render", this.settings.renderConcurrency, async (job) => {
      const started = Date.now();
      const changed = await reconciler.render(job.data.device, job.data.force);
      const rest = this.settings.renderIntervalMs - (Date.now() - started);
      if (changed && rest > 0) await this.redis.set(this.cooldownKey(job.data.device), "1", "PX", rest);
    }).on("failed", (job, error) => {
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) this.log.error({ device: job.data.device, err: error }, "render failed after every attempt");
    });
    worker<{ device: string }>("push", this.settings.pushConcurrency, (job) => reconciler.push(job.data.device)).on("failed", (job, error) => {
      if (!job) return;
      const refused = error.name === "UnrecoverableError";
      if (!refused && job.attemptsMade < (job.opts.attempts ?? 1)) return;
      reconciler
        .pushFailed(job.data.device, error.message, refused)
        .then(() => this.log.warn({ device: job.data.device, reason: error.message }, "push failed for good"))
        .catch((e) => this.log.error({ err: e }, "recording a failed push failed"));
    });
  }

  async close(): Promise<void> {
    // A worker waits for its active jobs without a deadline: give them a few seconds.
    await Promise.race([Promise.all(this.workers.map((w) => w.close())), new Promise((r) => setTimeout(r, 5_000))]);
    await Promise.all([this.renders.close(), this.pushes.close()]);
    for (const c of this.connections) c.disconnect();
  }
}
