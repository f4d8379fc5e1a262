// The fabric lab on fabrics built through the public RPCs: every desired revision the reconciler
// would push runs on real FRR in network namespaces, and isolation is read off the routers.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { formatReport, labUnavailable, proven, runLab } from "@bulkhead/lab";
import { startStack, type Stack } from "./harness.js";
import { ScenarioPartition, threeProjects } from "./scenario.js";

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
  const { partition } = await threeProjects(stack, "tri", 2);
  const input = await partition.labInput();
  const { verification } = await stack.fabric.verifyPartition({ partition: partition.id });
  assert.equal(verification!.findings.map((f) => `${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`), []);
  const report = await runLab(input);
  assert.ok(proven(report), formatReport(report));
});

test.run();
