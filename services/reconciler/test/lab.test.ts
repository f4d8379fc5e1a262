// The fabric lab on fabrics built through the public RPCs: every desired revision the reconciler
// would push runs on real FRR in network namespaces, and isolation is read off the routers.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { formatReport, labUnavailable, proven, runLab } from "@bulkhead/lab";
import { startStack, type Stack } from "./harness.js";
import { ScenarioPartition } from "./scenario.js";

const test = suite<{ stack: Stack }>("fabric lab", {} as never);

test.before(async (ctx) => {
  const unavailable = labUnavailable();
  if (unavailable) throw new Error(unavailable);
  ctx.stack = await startStack(process.env.LAB_NO_VERIFY ? { reconcilerEnv: { BULKHEAD_VERIFY_ISOLATION: "false" } } : {});
});

test.after(async (ctx) => {
  await ctx.stack?.stop();
});

test("two projects peered with the internet meet only at their public addresses", async ({ stack }) => {
  const p = await ScenarioPartition.create(stack, "hub", 1, { racks: 2, exit: true });
  const ops = await p.project("ops");
  await p.externalSession(ops, "internet", "swp1", 0, ["0.0.0.0/0"]);
  const a = await p.project("a");
  const c = await p.project("c");
  const netA = await p.network(a, "a1");
  const netC = await p.network(c, "c1");
  await p.peer(a, netA.id, "internet");
  await p.peer(c, netC.id, "internet");
  await p.machine(a, 1, [netA.id, "internet"]);
  await p.machine(a, 2, [netA.id]);
  await p.machine(c, 2, [netC.id, "internet"]);
  const input = await p.labInput();
  if (process.env.LAB_DUMP) (await import("node:fs")).writeFileSync(process.env.LAB_DUMP, JSON.stringify(input, null, 1));
  const report = await runLab(input);
  assert.ok(proven(report), formatReport(report));
  const { verification } = await stack.fabric.verifyPartition({ partition: p.id });
  assert.equal(verification!.findings.map((f) => `${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`), []);
});

test("three projects: peering chains, a shared network, a DMZ with its firewalls, NAT to the internet, external peers", async ({ stack }) => {
  const p = await ScenarioPartition.create(stack, "tri", 2, { racks: 2, exit: true, spines: 2 });
  const ops = await p.project("ops");
  await p.externalSession(ops, "internet", "swp1", 0, ["0.0.0.0/0"]);
  const [a, b, c] = [await p.project("a"), await p.project("b"), await p.project("c")];
  const [a1, a2, a3] = [await p.network(a, "a1"), await p.network(a, "a2"), await p.network(a, "a3")];
  const [b1, bs] = [await p.network(b, "b1"), await p.network(b, "bs", { shared: true })];
  const [c1, c2, c3] = [await p.network(c, "c1"), await p.network(c, "c2"), await p.network(c, "c3")];
  const dmz = await p.network(c, "cdmz", { dmz: true });
  // A: a chain a1–a2–a3 (a1 and a3 never meet), a1 on the internet; a1 and c1 both use B's shared storage.
  await p.peer(a, a1.id, a2.id);
  await p.peer(a, a2.id, a3.id);
  await p.peer(a, a1.id, "internet");
  await p.peer(a, a1.id, bs.id);
  await p.peer(c, c1.id, bs.id);
  // B's own network has an external BGP peer that may announce one block.
  await p.externalSession(b, b1.id, "swp2", 1, ["192.168.50.0/24"]);
  await p.machine(a, 1, [a1.id, "internet"]);
  await p.machine(a, 2, [a1.id]);
  await p.machine(a, 1, [a2.id]);
  await p.machine(a, 2, [a3.id]);
  await p.machine(b, 1, [b1.id]);
  await p.machine(b, 2, [bs.id]);
  await p.machine(c, 1, [c1.id]);
  await p.machine(c, 2, [c2.id]);
  await p.machine(c, 1, [c3.id]);
  // C: a DMZ firewall (c2, the DMZ, the internet) and an application firewall behind it (c3, the DMZ).
  const edge = await p.firewall(c, 2, [c2.id, dmz.id, "internet"]);
  const app = await p.firewall(c, 1, [c3.id, dmz.id]);
  await p.policy(c, edge, "out", { egress: [["0.0.0.0/0", [443]]] });
  await p.policy(c, app, "app-out", { egress: [["0.0.0.0/0", [443]]] });
  const input = await p.labInput();
  if (process.env.LAB_DUMP) (await import("node:fs")).writeFileSync(process.env.LAB_DUMP, JSON.stringify(input, null, 1));
  const { verification } = await stack.fabric.verifyPartition({ partition: p.id });
  if (verification!.findings.length) console.log((await stack.fabric.listDeviceStatuses({ partition: p.id })).statuses.map((x) => `${x.device} ${x.state} ${x.lastError.slice(0, 1500)}`).join("\n"));
  assert.equal(verification!.findings.map((f) => `${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`), []);
  const report = await runLab(input);
  assert.ok(proven(report), formatReport(report));
});

test.run();
