// Work items run together: at most `parallel` batches at once, each taking up to `maxSize` of
// the items waiting. An item submitted while nothing runs starts at once (alone) — or, with a
// gather window, with those submitted within it; items that arrive while batches run are taken
// together by the next one.

interface Waiting<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

export class Batches<T, R> {
  private waiting: Waiting<T, R>[] = [];
  private running = 0;
  private gathering?: NodeJS.Timeout;
  /** The most items a batch took so far. */
  largest = 0;

  constructor(
    /** Answers one result per item, in the items' order. */
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly options: { parallel: number; maxSize: number; gatherMs?: number },
  ) {}

  submit(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (this.gathering) return;
      if (this.running === 0 && this.options.gatherMs) {
        this.gathering = setTimeout(() => {
          this.gathering = undefined;
          this.drain();
        }, this.options.gatherMs);
        return;
      }
      this.drain();
    });
  }

  private drain(): void {
    while (this.running < this.options.parallel && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.options.maxSize);
      this.running++;
      this.largest = Math.max(this.largest, batch.length);
      this.run(batch.map((w) => w.item))
        .then(
          (results) => batch.forEach((w, k) => w.resolve(results[k]!)),
          (error: unknown) => batch.forEach((w) => w.reject(error)),
        )
        .finally(() => {
          this.running--;
          this.drain();
        });
    }
  }
}
