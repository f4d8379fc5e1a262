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
 * Runs `work` every `intervalMs`, one run at a time; a failed run is tried again. Quiet while
 * healthy: one warning (its message, no stack) when runs start failing or fail differently, one
 * info line when they work again; every failure with its stack at debug level. With `jitter`
 * (a fraction), each interval is drawn from intervalMs × (1 ± jitter): processes started together
 * (a fabric's agents booting at once) spread their runs out instead of arriving together.
 */
export class Periodic {
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private running?: Promise<void>;
  /** The message of the failure the last run ended with. */
  private failing?: string;

  constructor(
    private readonly intervalMs: number,
    private readonly log: Logger,
    private readonly what: string,
    private readonly work: () => Promise<void>,
    private readonly jitter = 0,
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** Milliseconds until the next run. */
  nextDelay(): number {
    return Math.round(this.intervalMs * (1 + this.jitter * (2 * Math.random() - 1)));
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runNow();
      this.schedule();
    }, this.nextDelay());
    this.timer.unref();
  }

  /** Runs the work now unless a run is under way; resolves when that run ends. */
  runNow(): Promise<void> {
    this.running ??= this.work()
      .then(
        () => {
          if (this.failing !== undefined) this.log.info(`${this.what} works again`);
          this.failing = undefined;
        },
        (error) => {
          const message = error instanceof Error ? error.message : String(error);
          if (message !== this.failing) this.log.warn({ error: message }, `${this.what} failed; retrying`);
          this.log.debug({ err: error }, `${this.what} failed`);
          this.failing = message;
        },
      )
      .finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}

/**
 * Calls `sweep(stalledBefore)` every `timeoutMs / 2` with the time before which an unfinished
 * saga counts as abandoned (its process failed or died); one sweep runs at a time.
 */
export class SagaSweeper extends Periodic {
  constructor(timeoutMs: number, log: Logger, sweep: (stalledBefore: Date) => Promise<void>) {
    super(Math.max(50, timeoutMs / 2), log, "saga sweep", () => sweep(new Date(Date.now() - timeoutMs)));
  }
}
