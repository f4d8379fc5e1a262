import type { OutboxEvent, Queryable } from "@bulkhead/db";

/** Appends an event in the caller's transaction (the service context's outbox). */
export type Outbox = (client: Queryable, event: OutboxEvent) => Promise<void>;

/** Applies a label patch: set keys, then remove keys. */
export function patchLabels(labels: Record<string, string>, patch: { set: Record<string, string>; remove: string[] } | undefined): Record<string, string> {
  if (!patch) return labels;
  const next = { ...labels, ...patch.set };
  for (const key of patch.remove) delete next[key];
  return next;
}
