// libs/lab: the fabric lab. `runLab` plans an emulated partition from what the reconciler would
// push (pure), runs it on real FRR in network namespaces, and proves isolation from the routers'
// own routing tables against the oracle (records only).
import { randomBytes } from "node:crypto";
import type { LabInput } from "./input.js";
import { planLab } from "./plan.js";
import { prove, type LabReport } from "./prove.js";
import { runPlan } from "./run.js";

export * from "./input.js";
export { readInterfaces } from "./ifupdown.js";
export { readConfigDb } from "./configdb.js";
export { Oracle, type Packet, type Source, type Verdict } from "./oracle.js";
export { planLab, type LabPlan, type RouterPlan } from "./plan.js";
export { prove, type Flow, type LabReport, type Stray } from "./prove.js";
export { labUnavailable, runPlan, type LabRun } from "./run.js";

/** A per-run prefix for namespaces and pathspaces, so two labs on one machine never collide. */
export const runPrefix = () => `bhl${randomBytes(3).toString("hex")}`;

export async function runLab(input: LabInput, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<LabReport> {
  const plan = planLab(input, runPrefix());
  if (plan.errors.length > 0) {
    return { partition: input.partition, converged: false, notUp: [], leaks: [], blackHoles: [], strays: [], pings: [], errors: plan.errors, repairs: [], probes: 0, routers: plan.routers.length, timings: { setupMs: 0, convergedMs: 0, totalMs: 0 } };
  }
  const run = await runPlan(plan, options);
  return prove(input, plan, run);
}

/** Whether the lab proved the partition: converged, no leak, no black hole, no stray, pings as expected, no error. */
export const proven = (r: LabReport) => r.converged && r.errors.length === 0 && r.leaks.length === 0 && r.blackHoles.length === 0 && r.strays.length === 0 && r.pings.every((p) => p.ok === p.expect);

/** A readable report: each leak and black hole with its evidence. */
export function formatReport(r: LabReport): string {
  const lines = [`fabric lab of partition ${r.partition}: ${r.routers} routers, ${r.probes} probes, converged ${r.converged ? "yes" : "NO"} in ${(r.timings.convergedMs / 1000).toFixed(1)} s`];
  const path = (hops: LabReport["leaks"][number]["path"]) => hops.map((h) => `    ${h.router} [${h.vrf}] ${h.note}`).join("\n");
  for (const s of r.notUp) lines.push(`session not up: ${s.router} ${s.vrf} ${s.family} ${s.peer} (${s.state})`);
  for (const e of r.errors) lines.push(`error: ${e}`);
  for (const x of r.repairs) lines.push(`repaired: ${x}`);
  for (const l of r.leaks) lines.push(`LEAK ${l.source} (${l.from} ${l.packet.src}) → ${l.destination} ${l.packet.dst} ${l.packet.protocol}/${l.packet.port}: ${l.why}\n${path(l.path)}`);
  for (const b of r.blackHoles) lines.push(`BLACK HOLE ${b.source} (${b.from} ${b.packet.src}) → ${b.destination} ${b.packet.dst} ${b.packet.protocol}/${b.packet.port}: allowed (${b.why}), dropped at ${b.dropped}\n${path(b.path)}`);
  for (const s of r.strays) lines.push(`stray route: ${s.device} ${s.vrf} (${s.network}) holds ${s.prefix}`);
  for (const p of r.pings) if (p.ok !== p.expect) lines.push(`ping ${p.from} → ${p.to} (${p.destination}) ${p.ok ? "went through" : "failed"}, expected ${p.expect ? "through" : "blocked"} (${p.why}): ${p.output}`);
  lines.push(`${r.leaks.length} leaks, ${r.blackHoles.length} black holes, ${r.strays.length} strays, ${r.pings.filter((p) => p.ok === p.expect).length}/${r.pings.length} pings as expected`);
  return lines.join("\n");
}
