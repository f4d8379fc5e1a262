// Helpers for sagas that span a service's database and other services.
import type { Logger } from "./observability.js";

/** Where a saga-managed row stands: finished (`ready`) or with a saga in progress. */
export type SagaState = "allocating" | "compensating" | "ready" | "freeing";

/** Runs a compensation; if it fails the sweeper retries it later, so the error is only logged. */
export async function compensate(log: Logger, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (error) {
    log.warn({ err: error }, `compensation of ${what} failed; the sweeper will retry`);
  }
}

/**
 * Calls `sweep(stalledBefore)` every `timeoutMs / 2` with the time before which an unfinished
 * saga counts as abandoned (its process failed or died); one sweep runs at a time.
 */
export class SagaSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
    private readonly sweep: (stalledBefore: Date) => Promise<void>,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.running ??= this.sweep(new Date(Date.now() - this.timeoutMs))
        .catch((error) => this.log.warn({ err: error }, "saga sweep failed; retrying"))
        .finally(() => (this.running = undefined));
    }, Math.max(50, this.timeoutMs / 2));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }
}
