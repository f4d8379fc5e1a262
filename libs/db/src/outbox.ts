import { once } from "node:events";
import type pg from "pg";
import { Queue } from "bullmq";
import type { Redis } from "ioredis";
import { noteChange } from "./changes.js";
import { assertIdentifier, type Queryable } from "./pool.js";

/** The queue every service's outbox relay publishes to and the reconciler consumes. */
export const FABRIC_CHANGES_QUEUE = "fabric-changes";

export interface OutboxEvent {
  /** What happened, e.g. `network.allocated`. */
  topic: string;
  /** The aggregate the event is about, e.g. `network/<id>`; consumers group by it. */
  key: string;
  payload?: Record<string, unknown>;
}

/** Appends an event in the caller's transaction (a service context's outbox); returns the change's name. */
export type Outbox = (client: Queryable, event: OutboxEvent) => Promise<string>;

/** The job data a consumer of the fabric-changes queue receives. */
export interface PublishedEvent {
  source: string;
  id: string;
  topic: string;
  key: string;
  payload: Record<string, unknown>;
  createdAt: string;
}

const channel = (schema: string) => `bulkhead_outbox_${schema}`;

/**
 * Appends an event in the caller's transaction, so it is published if and only if the
 * transaction commits. The relay is woken through NOTIFY, which Postgres delivers on commit.
 * Returns the change's name, `<schema>:<event id>`.
 */
export async function appendOutbox(client: Queryable, schema: string, event: OutboxEvent): Promise<string> {
  const { rows } = await client.query<{ id: string }>("INSERT INTO outbox (topic, key, payload) VALUES ($1, $2, $3) RETURNING id", [event.topic, event.key, event.payload ?? {}]);
  await client.query("SELECT pg_notify($1, '')", [channel(assertIdentifier(schema, "schema"))]);
  return noteChange(schema, String(rows[0]!.id));
}

export interface OutboxRelayOptions {
  pool: pg.Pool;
  schema: string;
  connection: Redis;
  queuePrefix?: string;
  batchSize?: number;
  /** Safety-net poll interval; NOTIFY wakes the relay immediately in the normal case. */
  pollMs?: number;
  /** How long published rows are kept before they are deleted. */
  retentionMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Publishes outbox rows to the fabric-changes queue in id order and marks them published.
 * At-least-once: a crash between publishing and marking republishes the batch; the BullMQ job id
 * `<schema>-<id>` lets the queue drop duplicates while the first copy is still held. Several
 * relays may run against the same schema: rows are claimed with FOR UPDATE SKIP LOCKED.
 */
export class OutboxRelay {
  readonly queue: Queue;
  private readonly schema: string;
  private listener?: pg.PoolClient;
  private timer?: NodeJS.Timeout;
  private draining?: Promise<void>;
  private again = false;
  private stopped = false;
  private failures = 0;
  private lastCleanup = 0;

  constructor(private readonly options: OutboxRelayOptions) {
    this.schema = assertIdentifier(options.schema, "schema");
    this.queue = new Queue(FABRIC_CHANGES_QUEUE, { connection: options.connection, prefix: options.queuePrefix ?? "bulkhead" });
    this.queue.on("error", (error) => this.options.onError?.(error));
  }

  async start(): Promise<void> {
    this.listener = await this.options.pool.connect();
    this.listener.on("notification", () => this.wake());
    this.listener.on("error", (error) => this.options.onError?.(error));
    await this.listener.query(`LISTEN ${channel(this.schema)}`);
    this.schedule(0);
  }

  /** Publishes everything pending now; resolves when the outbox is empty or publishing failed. */
  drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          while (!this.stopped && (await this.publishBatch()) > 0);
        } while (this.again && !this.stopped);
        this.failures = 0;
      } catch (error) {
        this.failures++;
        this.options.onError?.(error);
      } finally {
        this.draining = undefined;
      }
    })();
    return this.draining;
  }

  /**
   * Stops publishing. A publish still waiting for an unreachable Valkey is abandoned after a few
   * seconds: its rows stay in the outbox and the next start publishes them.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await within(this.draining, PUBLISH_TIMEOUT_MS + 1_000);
    if (this.listener) {
      await this.listener.query(`UNLISTEN ${channel(this.schema)}`).catch(() => {});
      this.listener.release();
      this.listener = undefined;
    }
    await within(this.queue.close().catch(() => {}), 2_000);
  }

  private wake(): void {
    if (!this.stopped) void this.drain();
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(async () => {
      await this.drain();
      await this.deleteExpired().catch((error) => this.options.onError?.(error));
      // Back off while Valkey or Postgres is failing, up to 5 s.
      const poll = this.options.pollMs ?? 1000;
      this.schedule(this.failures ? Math.min(poll * 2 ** this.failures, 5_000) : poll);
    }, delay);
  }

  private async publishBatch(): Promise<number> {
    // Wait for Valkey before locking rows, not while holding them.
    const connection = this.options.connection;
    if (connection.status !== "ready") await once(connection, "ready", { signal: AbortSignal.timeout(PUBLISH_TIMEOUT_MS) }).catch(() => {});
    if (connection.status !== "ready") throw new Error(`valkey is not connected (${connection.status})`);
    const client = await this.options.pool.connect();
    try {
      await client.query("BEGIN");
      const { rows } = await client.query<{ id: string; topic: string; key: string; payload: Record<string, unknown>; created_at: Date }>(
        "SELECT id, topic, key, payload, created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
        [this.options.batchSize ?? 200],
      );
      if (rows.length > 0) {
        const added = this.queue.addBulk(
          rows.map((row) => ({
            name: row.topic,
            data: { source: this.schema, id: row.id, topic: row.topic, key: row.key, payload: row.payload, createdAt: row.created_at.toISOString() } satisfies PublishedEvent,
            opts: { jobId: `${this.schema}-${row.id}`, removeOnComplete: { age: 3600, count: 10_000 }, removeOnFail: { age: 7 * 86_400 } },
          })),
        );
        // Valkey lost mid-publish: give up the batch (its rows stay unpublished) instead of waiting.
        if (!(await within(added, PUBLISH_TIMEOUT_MS))) throw new Error(`valkey did not take the batch within ${PUBLISH_TIMEOUT_MS} ms`);
        await client.query("UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])", [rows.map((r) => r.id)]);
      }
      await client.query("COMMIT");
      return rows.length;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  private async deleteExpired(): Promise<void> {
    if (Date.now() - this.lastCleanup < 60_000) return;
    this.lastCleanup = Date.now();
    const retention = this.options.retentionMs ?? 86_400_000;
    await this.options.pool.query("DELETE FROM outbox WHERE published_at < now() - make_interval(secs => $1)", [retention / 1000]);
  }
}

const PUBLISH_TIMEOUT_MS = 5_000;

/** Waits for `promise`, but not longer than `ms`: true if it settled in time (rejections pass through). */
async function within(promise: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (!promise) return true;
  const settled = promise.then(() => true);
  settled.catch(() => {}); // a rejection after the deadline has nobody left to tell
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([settled, new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
