// Measurement helpers for benchmarks. The machine is small and noisy: every figure is a median
// over windows or runs, and latencies are kept per operation for percentiles.

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export interface Throughput {
  /** Median operations per second over the windows or runs. */
  perSecond: number;
  /** Every operation's latency in milliseconds. */
  latenciesMs: number[];
  operations: number;
}

/**
 * Runs `op` on `concurrency` workers for `durationMs` and returns the median rate over windows of
 * `windowMs` (the first window is dropped as warm-up).
 */
export async function sustained(concurrency: number, durationMs: number, windowMs: number, op: (worker: number) => Promise<unknown>): Promise<Throughput> {
  const start = performance.now();
  const end = start + durationMs + windowMs;
  const windows = new Array<number>(Math.ceil(durationMs / windowMs) + 1).fill(0);
  const latenciesMs: number[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < end) {
        const t0 = performance.now();
        await op(worker);
        const t1 = performance.now();
        latenciesMs.push(t1 - t0);
        const w = Math.floor((t1 - start) / windowMs);
        if (w < windows.length) windows[w]!++;
      }
    }),
  );
  const rates = windows.slice(1).map((n) => (n * 1000) / windowMs);
  return { perSecond: median(rates), latenciesMs, operations: latenciesMs.length };
}

/**
 * Runs `operations` calls of `op` spread over `concurrency` workers, timed, then `restore()`
 * untimed, `runs` times after one discarded warm-up run (fresh pool connections and JIT pay their
 * one-time costs there). Returns the median rate over the runs.
 */
export async function repeatedRuns<T>(options: {
  runs: number;
  operations: number;
  concurrency: number;
  op: (worker: number) => Promise<T>;
  restore: (results: T[]) => Promise<void>;
}): Promise<Throughput> {
  const rates: number[] = [];
  const latenciesMs: number[] = [];
  for (let run = -1; run < options.runs; run++) {
    const results: T[] = [];
    let remaining = options.operations;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: options.concurrency }, async (_, worker) => {
        while (remaining > 0) {
          remaining--;
          const s = performance.now();
          results.push(await options.op(worker));
          if (run >= 0) latenciesMs.push(performance.now() - s);
        }
      }),
    );
    if (run >= 0) rates.push((options.operations * 1000) / (performance.now() - t0));
    await options.restore(results);
  }
  return { perSecond: median(rates), latenciesMs, operations: options.runs * options.operations };
}

/** Formats a Markdown table. */
export function table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number) => (typeof v === "number" ? (Number.isInteger(v) ? String(v) : v.toFixed(2)) : v);
  return [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
}
