// --wait: after a change, until it reached every device it affects. The call's answer names the
// fabric changes it committed (the `bulkhead-changes` header); the reconciler tells for each
// whether it has fanned it out, and for each device it affects whether a render that began after
// that has finished and the device applied the result. No quiet-period guessing: a change that
// reached nothing says so, one that did not converge is an error.
import { SyncState } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import type { Bulkhead } from "@bulkhead/sdk";

const POLL_MS = 200;

/**
 * Waits until `changes` reached every device they affect, or `deadline` (epoch ms) passed. With
 * `project`, a project member follows the devices carrying the project's networks.
 */
export async function waitForChanges(bh: Bulkhead, changes: readonly string[], deadline: number, progress: (line: string) => void, project = ""): Promise<string> {
  if (changes.length === 0) return "no fabric change to wait for: the call changed nothing a device is rendered from";
  const started = Date.now();
  for (;;) {
    const report = (await bh.fabric.getChangeProgress({ changes: [...changes], project })).changes;
    const devices = new Map<string, (typeof report)[number]["devices"][number]>();
    for (const change of report) for (const d of change.devices) devices.set(d.device, d);
    const broken = [...devices.values()].filter((d) => d.rendered && (d.state === SyncState.FAILED || d.state === SyncState.REJECTED));
    if (broken.length > 0) throw new Error(`the change did not converge: ${broken.map((d) => `${d.device} ${SyncState[d.state]}: ${d.lastError || "the reason is shown to operators (bulkhead fabric status)"}`).join("; ")}`);
    const unprocessed = report.filter((c) => !c.processed);
    const pending = [...devices.values()].filter((d) => !d.rendered || d.state !== SyncState.IN_SYNC);
    const elapsed = ((Date.now() - started) / 1000).toFixed(1);
    if (unprocessed.length === 0 && pending.length === 0) {
      return devices.size > 0
        ? `fabric converged in ${elapsed} s: ${[...devices.values()].map((d) => `${d.device} generation ${d.desiredGeneration}`).join(", ")}`
        : "fabric in sync: the change affects no device";
    }
    if (Date.now() > deadline) {
      const what = [...unprocessed.map((c) => `${c.change} not yet fanned out`), ...pending.map((d) => `${d.device} ${d.rendered ? SyncState[d.state] : "not yet rendered"}`)];
      throw new Error(`the fabric did not converge in time (--wait-timeout): ${what.join(", ")}`);
    }
    progress(unprocessed.length > 0 ? "waiting for the reconciler to take the change" : `waiting for the fabric: ${pending.length} of ${devices.size} devices converging`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
