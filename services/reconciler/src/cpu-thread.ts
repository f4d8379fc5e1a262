// The worker thread of `cpu.ts`: pure functions that take long enough to stall the event loop
// (a partition's isolation verification, a large diff), run on request.
import { parentPort } from "node:worker_threads";
import { unifiedDiff } from "@bulkhead/render";
import { verifyPartition } from "@bulkhead/verify";

export const tasks = { verifyPartition, unifiedDiff };
export type Tasks = typeof tasks;

export interface TaskRequest {
  id: number;
  task: keyof Tasks;
  args: unknown[];
}

export type TaskAnswer = { id: number; result: unknown } | { id: number; error: string };

parentPort?.on("message", ({ id, task, args }: TaskRequest) => {
  try {
    const run = tasks[task] as (...a: unknown[]) => unknown;
    parentPort!.postMessage({ id, result: run(...args) } satisfies TaskAnswer);
  } catch (error) {
    parentPort!.postMessage({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies TaskAnswer);
  }
});
