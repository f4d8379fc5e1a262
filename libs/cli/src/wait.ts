// --wait: after a change, until every device of the fabric runs its desired revision again.
// A change reaches the reconciler through the outbox a moment later, so waiting ends only once a
// device got a new revision (or nothing did for a few seconds) and nothing is pending.
import { SyncState } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import type { Bulkhead } from "@bulkhead/sdk";

export type Snapshot = Map<string, bigint>;

export async function snapshot(bh: Bulkhead): Promise<Snapshot> {
  return new Map((await bh.fabric.listDeviceStatuses({})).statuses.map((s) => [s.device, s.desiredGeneration]));
}

export async function waitForFabric(bh: Bulkhead, before: Snapshot, timeoutMs: number, progress: (line: string) => void): Promise<string> {
  const started = Date.now();
  const settleMs = 3_000;
  for (;;) {
    const statuses = (await bh.fabric.listDeviceStatuses({})).statuses;
    const changed = statuses.filter((s) => s.desiredGeneration > (before.get(s.device) ?? 0n));
    const broken = changed.filter((s) => s.state === SyncState.FAILED || s.state === SyncState.REJECTED);
    if (broken.length > 0) throw new Error(`the change did not converge: ${broken.map((s) => `${s.device} ${SyncState[s.state]}: ${s.lastError}`).join("; ")}`);
    const pending = statuses.filter((s) => s.state !== SyncState.IN_SYNC);
    const elapsed = Date.now() - started;
    if (pending.length === 0 && (changed.length > 0 || elapsed > settleMs)) {
      return changed.length > 0 ? `fabric converged in ${(elapsed / 1000).toFixed(1)} s: ${changed.map((s) => `${s.device} generation ${s.desiredGeneration}`).join(", ")}` : "fabric in sync: no device needed a change";
    }
    if (elapsed > timeoutMs) throw new Error(`the fabric did not converge within ${timeoutMs / 1000} s: ${pending.map((s) => `${s.device} ${SyncState[s.state]}`).join(", ")}`);
    progress(`waiting for the fabric: ${pending.length} of ${statuses.length} devices converging${changed.length ? `, ${changed.length} with a new revision` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
