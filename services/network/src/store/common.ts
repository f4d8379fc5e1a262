export type { Outbox } from "@bulkhead/db";

/** Applies a label patch: set keys, then remove keys. */
export function patchLabels(labels: Record<string, string>, patch: { set: Record<string, string>; remove: string[] } | undefined): Record<string, string> {
  if (!patch) return labels;
  const next = { ...labels, ...patch.set };
  for (const key of patch.remove) delete next[key];
  return next;
}
