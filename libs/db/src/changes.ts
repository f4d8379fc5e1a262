// The fabric changes a request made: every outbox event its committed transactions appended,
// named `<schema>:<event id>`, so that the caller can wait until the reconciler has acted on them.
// A transaction attempt that rolls back takes its events back with it.
import { AsyncLocalStorage } from "node:async_hooks";

const current = new AsyncLocalStorage<string[]>();

/** Runs `work` collecting the changes it commits; they are in `changes` once it settled. */
export function collectChanges<T>(changes: string[], work: () => Promise<T>): Promise<T> {
  return current.run(changes, work);
}

/** Notes an appended event in the collecting request, if any; returns its name. */
export function noteChange(schema: string, id: string): string {
  const change = `${schema}:${id}`;
  current.getStore()?.push(change);
  return change;
}

/** Where the collecting request's list stands (before a transaction attempt). */
export const changesMark = (): number => current.getStore()?.length ?? 0;

/** Drops the changes noted since `mark` (their transaction rolled back). */
export function dropChangesSince(mark: number): void {
  current.getStore()?.splice(mark);
}
