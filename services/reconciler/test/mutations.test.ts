// Mutation testing of the whole proof: every fault of `mutations.ts` injected into the correct
// configuration of the three-project fabric, checked by the syntax gates (each must still pass
// them), by the verifier (before any push) and by the fabric lab (real FRR). Every fault that can
// break isolation must be refused by the verifier; so must every fault the lab shows to leak.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { formatReport, labUnavailable, proven, runLab, type LabInput } from "@bulkhead/lab";
import { inNs, namespaces, sh } from "@bulkhead/testkit";
import { verifyPartition, type Facts } from "@bulkhead/verify";
import { factsOf } from "../src/facts.js";
import { startStack, type Stack } from "./harness.js";
import { describe, devicesOf, hostile, measure, mutated, mutations } from "./mutations.js";
import { threeProjects, type ThreeProjects } from "./scenario.js";

interface Ctx {
  stack: Stack;
  fabric: ThreeProjects;
  input: LabInput;
  facts: Facts;
}

const test = suite<Ctx>("mutation testing", {} as never);
const LAB_PARALLEL = Number(process.env.BULKHEAD_LAB_PARALLEL ?? 3);

test.before(async (ctx) => {
  const unavailable = labUnavailable();
  if (unavailable) throw new Error(unavailable);
  ctx.stack = await startStack();
  ctx.fabric = await threeProjects(ctx.stack, "mut", 3);
  ctx.facts = factsOf(await ctx.fabric.partition.records());
  ctx.input = hostile(await ctx.fabric.partition.labInput(), ctx.fabric);
});

test.after(async (ctx) => {
  await ctx.stack?.stop();
});

test(`the catalogue has at least 40 faults, each applying to the fabric and passing vtysh -C or nft -c`, async (ctx) => {
  assert.ok(mutations.length >= 40, `${mutations.length} mutations`);
  const ns = await namespaces("nftcheck");
  try {
    for (const [i, m] of mutations.entries()) {
      const { input, device, path } = mutated(ctx.input, ctx.fabric, i);
      const content = input.devices.find((d) => d.id === device)!.files[path]!;
      const file = join(tmpdir(), `bulkhead-mutation-${process.pid}-${i}`);
      writeFileSync(file, content);
      if (path.startsWith("frr/")) await sh("vtysh", "-C", "-f", file).catch((e: Error) => assert.unreachable(`${m.name}: vtysh -C refuses it: ${e.message}`));
      if (path.startsWith("nftables/")) await inNs(ns.nftcheck, "nft", "-c", "-f", file).catch((e: Error) => assert.unreachable(`${m.name}: nft -c refuses it: ${e.message}`));
    }
  } finally {
    await ns.remove();
  }
});

test("the correct fabric: the verifier finds nothing, the lab proves it — hostile announcements refused", async (ctx) => {
  const { findings } = verifyPartition(devicesOf(ctx.input), ctx.facts);
  assert.equal(findings.map((f) => `${f.device} ${f.object}: ${f.message}`), []);
  const report = await runLab(ctx.input);
  assert.ok(proven(report), formatReport(report));
});

/** Classic holes the lab must show on real FRR by itself (the rest of its catch rate: `pnpm bench lab`). */
const SAMPLE = [
  "a machine's filter admits every prefix",
  "a machine's inbound route map is gone",
  "imports without their route map (a peer's peer comes along)",
  "the internet VRF takes a tenant's own prefix (the transit hub)",
  "a peer's import list widened to the super network",
  "the internet session accepts Bulkhead's own prefixes (a hijack)",
  "a firewall leaks its primary into the internet without no-export",
  "a firewall leaks the DMZ into the internet without no-export",
  "an accept-all forward rule",
];

test("the verifier refuses every isolation-breaking fault; what it lets through does not leak on real FRR; the lab catches the classic holes itself", async (ctx) => {
  const results = await measure(ctx.input, ctx.fabric, ctx.facts, (m, verified) => !verified || SAMPLE.includes(m.name), LAB_PARALLEL);
  console.log(results.map(describe).join("\n"));
  if (process.env.DEBUG_MUT) for (const r of results) if (r.lab && !proven(r.lab) && r.lab.leaks.length + r.lab.blackHoles.length + r.lab.strays.length === 0) console.log(r.name, formatReport(r.lab));
  assert.equal(results.filter((r) => r.isolation && !r.verify).map((r) => r.name), [], "isolation-breaking faults the verifier missed");
  assert.equal(results.filter((r) => r.lab && r.lab.leaks.length > 0 && !r.verify).map((r) => r.name), [], "faults the lab shows to leak that the verifier let through");
  assert.equal(results.filter((r) => SAMPLE.includes(r.name) && (!r.lab || proven(r.lab))).map((r) => r.name), [], "classic holes the lab did not show");
  assert.equal(SAMPLE.filter((n) => !results.some((r) => r.name === n)), [], "the sample names mutations of the catalogue");
});

test.run();
