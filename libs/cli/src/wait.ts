// --wait: after a change, until every device of the fabric runs its desired revision again.
// A change reaches the reconciler through the outbox a moment later, and a device rendered a
// moment ago renders again only after the reconciler's render interval (1 s by default); so
// waiting ends once nothing is pending and no desired revision has changed for a quiet period —
// after a device got a new revision, or after a few seconds without any.
import { SyncState } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import type { Bulkhead } from "@bulkhead/sdk";

export type Snapshot = Map<string, bigint>;

export async function snapshot(bh: Bulkhead): Promise<Snapshot> {
  return new Map((await bh.fabric.listDeviceStatuses({})).statuses.map((s) => [s.device, s.desiredGeneration]));
}

export async function waitForFabric(bh: Bulkhead, before: Snapshot, timeoutMs: number, progress: (line: string) => void): Promise<string> {
  const started = Date.now();
  const settleMs = 3_000;
  const quietMs = 1_500;
  let lastSeen = "";
  let lastChangeAt = started;
  for (;;) {
    const statuses = (await bh.fabric.listDeviceStatuses({})).statuses;
    const generations = statuses.map((s) => `${s.device}=${s.desiredGeneration}`).join(",");
    if (generations !== lastSeen) {
      lastSeen = generations;
      lastChangeAt = Date.now();
    }
    const changed = statuses.filter((s) => s.desiredGeneration > (before.get(s.device) ?? 0n));
    const broken = changed.filter((s) => s.state === SyncState.FAILED || s.state === SyncState.REJECTED);
    if (broken.length > 0) throw new Error(`the change did not converge: ${broken.map((s) => `${s.device} ${SyncState[s.state]}: ${s.lastError}`).join("; ")}`);
    const pending = statuses.filter((s) => s.state !== SyncState.IN_SYNC);
    const elapsed = Date.now() - started;
    const quiet = Date.now() - lastChangeAt >= quietMs;
    if (pending.length === 0 && quiet && (changed.length > 0 || elapsed > settleMs)) {
      return changed.length > 0 ? `fabric converged in ${(elapsed / 1000).toFixed(1)} s: ${changed.map((s) => `${s.device} generation ${s.desiredGeneration}`).join(", ")}` : "fabric in sync: no device needed a change";
    }
    if (elapsed > timeoutMs) throw new Error(`the fabric did not converge within ${timeoutMs / 1000} s: ${pending.map((s) => `${s.device} ${SyncState[s.state]}`).join(", ")}`);
    progress(`waiting for the fabric: ${pending.length} of ${statuses.length} devices converging${changed.length ? `, ${changed.length} with a new revision` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
