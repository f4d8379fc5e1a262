// What finishes sagas that a failure or a crash left half done.
import type { Logger } from "@bulkhead/service-kit";
import type { Ips } from "./ips.js";
import type { Networks } from "./networks.js";
import type { NetworkStore } from "./store/networks.js";

/** Runs a compensation; if it fails the sweeper retries it later, so the error is only logged. */
export async function compensate(log: Logger, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    log.warn({ err: error }, `compensation of ${what} failed; the sweeper will retry`);
  }
}

/**
 * Every `timeoutMs / 2`, finds networks and IPs whose saga started more than `timeoutMs` ago
 * and did not end (the process running it failed or died): allocations are compensated, frees
 * completed. A row is claimed before it is touched, so several instances never work on one row.
 */
export class Sweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly store: NetworkStore,
    private readonly networks: Networks,
    private readonly ips: Ips,
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep().finally(() => (this.running = undefined));
    }, Math.max(50, this.timeoutMs / 2));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  async sweep(): Promise<void> {
    const before = new Date(Date.now() - this.timeoutMs);
    for (const row of await this.store.stalled(before)) {
      if (!(await this.store.claim("networks", row.id, before))) continue;
      this.log.info({ network: row.id, state: row.state }, "finishing an abandoned network saga");
      await compensate(this.log, `network ${row.id}`, () => (row.state === "freeing" ? this.networks.completeFree(row) : this.networks.compensateAllocation(row)));
    }
    for (const row of await this.store.stalledIps(before)) {
      if (!(await this.store.claim("ips", row.uuid, before))) continue;
      this.log.info({ ip: row.uuid, state: row.state }, "finishing an abandoned IP saga");
      await compensate(this.log, `ip ${row.uuid}`, () => (row.state === "freeing" ? this.ips.completeRelease(row) : this.ips.compensateAllocation(row)));
    }
  }
}
