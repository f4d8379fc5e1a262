// CPU-heavy pure work off the event loop: a partition's isolation verification takes seconds at
// scale and a large diff up to its edit budget, and RPCs (heartbeats above all) must not wait
// behind them. One long-lived worker thread takes the tasks in turn; one that dies is replaced,
// and the tasks it held fail.
import { Worker } from "node:worker_threads";
import type { TaskAnswer, TaskRequest, Tasks } from "./cpu-thread.js";

// Run from source, the thread registers tsx before importing its module (a worker does not take
// the parent's --import loaders in Node 20).
const fromSource = import.meta.url.endsWith(".ts");
const threadModule = JSON.stringify(new URL(`./cpu-thread.${fromSource ? "ts" : "js"}`, import.meta.url).href);
const threadEntry = fromSource ? `import(${JSON.stringify(import.meta.resolve("tsx/esm/api"))}).then((tsx) => { tsx.register(); return import(${threadModule}); })` : `import(${threadModule})`;

export class CpuThread {
  private worker?: Worker;
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  run<K extends keyof Tasks>(task: K, ...args: Parameters<Tasks[K]>): Promise<ReturnType<Tasks[K]>> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      const worker = this.thread();
      worker.ref();
      worker.postMessage({ id, task, args } satisfies TaskRequest);
    });
  }

  private thread(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(threadEntry, { eval: true });
    worker.on("message", (answer: TaskAnswer) => {
      const waiting = this.pending.get(answer.id);
      this.pending.delete(answer.id);
      if ("error" in answer) waiting?.reject(new Error(answer.error));
      else waiting?.resolve(answer.result);
      // An idle thread does not keep the process alive.
      if (this.pending.size === 0) worker.unref();
    });
    const lost = (error: Error) => {
      if (this.worker === worker) this.worker = undefined;
      for (const { reject } of this.pending.values()) reject(error);
      this.pending.clear();
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(new Error(`the CPU worker thread exited (code ${code})`)));
    return (this.worker = worker);
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    await worker?.terminate();
  }
}
