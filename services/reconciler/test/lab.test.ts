// The fabric lab on fabrics built through the public RPCs: every desired revision the reconciler
// would push runs on real FRR in network namespaces, and isolation is read off the routers.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { run } from "@bulkhead/cli";
import { formatReport, labUnavailable, proven, runLab, type LabInput } from "@bulkhead/lab";
import { startStack, type Stack } from "./harness.js";
import { ScenarioPartition, randomFabric, threeProjects, type ThreeProjects } from "./scenario.js";

const test = suite<{ stack: Stack; tri: ThreeProjects; triInput: LabInput }>("fabric lab", {} as never);

test.before(async (ctx) => {
  const unavailable = labUnavailable();
  if (unavailable) throw new Error(unavailable);
  ctx.stack = await startStack();
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
  const report = await runLab(input);
  assert.ok(proven(report), formatReport(report));
  const { verification } = await stack.fabric.verifyPartition({ partition: p.id });
  assert.equal(verification!.findings.map((f) => `${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`), []);
});

test("three projects: peering chains, a shared network, a DMZ with its firewalls, NAT to the internet, external peers", async (ctx) => {
  const { stack } = ctx;
  const fabric = (ctx.tri = await threeProjects(stack, "tri", 2));
  const { partition } = fabric;
  const input = (ctx.triInput = await partition.labInput());
  const { verification } = await stack.fabric.verifyPartition({ partition: partition.id });
  assert.equal(verification!.findings.map((f) => `${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`), []);
  const report = await runLab(input);
  assert.ok(proven(report), formatReport(report));
});

test("a firewall whose OS the tenant controls cannot put its routes into another VRF: the leaves' EVPN filter holds", async ({ tri, triInput }) => {
  // The application firewall exports its cluster's routes with the route-target of A's a1.
  const hostile = structuredClone(triInput);
  const fw = hostile.devices.find((d) => d.id === tri.app)!;
  const block = `vrf vrf${tri.nets.c3.vrf}\n bgp router-id`;
  const at = fw.files["frr/frr.conf"]!.indexOf(" address-family l2vpn evpn\n  advertise ipv4 unicast\n", fw.files["frr/frr.conf"]!.indexOf(block));
  assert.ok(at > 0, "the firewall's c3 VRF has an EVPN family");
  const end = at + " address-family l2vpn evpn\n  advertise ipv4 unicast\n".length;
  fw.files["frr/frr.conf"] = `${fw.files["frr/frr.conf"]!.slice(0, end)}  route-target export 65000:${tri.nets.a1.vrf}\n${fw.files["frr/frr.conf"]!.slice(end)}`;
  const guarded = await runLab(hostile);
  // Its own cluster loses its routes through it (fail closed: the routes are refused whole); nobody else notices.
  assert.equal([guarded.leaks.length, guarded.strays.length, guarded.errors], [0, 0, []], formatReport(guarded));
  assert.equal([...new Set(guarded.blackHoles.map((b) => b.source))], guarded.blackHoles.length ? [tri.nets.c3.id] : [], formatReport(guarded));
  // Without the leaves' inbound filter the same firewall lands its routes in a1's VRF: the test can fail.
  const open = structuredClone(hostile);
  for (const d of open.devices.filter((x) => x.kind === "leaf")) d.files["frr/frr.conf"] = d.files["frr/frr.conf"]!.replace(/  neighbor \S+ route-map fw-\S+-evpn-in in\n/g, "");
  const unguarded = await runLab(open);
  assert.ok(unguarded.strays.some((x) => x.vrf === `vrf${tri.nets.a1.vrf}`) || unguarded.leaks.length > 0, formatReport(unguarded));
});

test("a firewall of a network peered with the internet takes over its way there: the leaves stop importing the internet", async ({ stack }) => {
  const p = await ScenarioPartition.create(stack, "gov", 3, { racks: 1, exit: true });
  const ops = await p.project("ops");
  await p.externalSession(ops, "internet", "swp1", 0, ["0.0.0.0/0"]);
  const a = await p.project("a");
  const net = await p.network(a, "a1");
  await p.peer(a, net.id, "internet");
  await p.machine(a, 1, [net.id]);
  const importsOf = async () => (await stack.peering.client(PeeringService, await stack.peering.adminToken()).getRouteLeakPlan({ partition: p.id, vrf: net.vrf })).vrfs[0]?.imports.map((i) => i.fromNetwork);
  assert.equal(await importsOf(), ["internet"], "the test can fail: peered, the VRF imports the internet");
  const leafImports = async () => {
    const input = await p.labInput();
    const leaf = input.devices.find((d) => d.id === p.leaf(1, "a"))!;
    const block = new RegExp(`router bgp \\d+ vrf vrf${net.vrf}\\n([^]*?)\\nexit\\n`).exec(leaf.files["frr/frr.conf"]!)?.[1];
    assert.ok(block, "the leaf carries the network's VRF");
    return block.split("\n").filter((l) => l.includes("import vrf vrf"));
  };
  assert.equal(await leafImports(), ["  import vrf vrf104009"]);
  await p.firewall(a, 1, [net.id, "internet"]);
  assert.equal(await importsOf(), [], "the firewall governs: the peering stands aside");
  assert.equal(await leafImports(), [], "the leaf's VRF imports nothing from the internet VRF: its default route is the firewall's");
  const { verification } = await stack.fabric.verifyPartition({ partition: p.id });
  assert.equal(verification!.findings.map((f) => `${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`), []);
});

/** `bulkhead …` against the stack's reconciler as an admin: exit code, stdout and stderr. */
async function cli(stack: Stack, argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run([...argv, "--token", stack.f.admin], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env: { BULKHEAD_RECONCILER_URL: stack.reconcilerUrl } });
  return { code, out, err };
}

test("bulkhead fabric lab: the report and exit 0 when proven; a policy draft runs as planned; one line and exit 2 without FRR", async ({ stack, tri }) => {
  const partition = tri.partition.id;
  const proof = await cli(stack, ["fabric", "lab", "--partition", partition]);
  assert.is(proof.code, 0, proof.out + proof.err);
  assert.match(proof.out, /^fabric lab of partition tri: \d+ routers, \d+ probes, converged yes/);
  assert.match(proof.out, "0 leaks, 0 black holes, 0 strays");
  // The application firewall's draft: egress to the internet on 8443 instead of 443.
  const draft = join(tmpdir(), `draft-${process.pid}.yaml`);
  writeFileSync(draft, `project: ${(await tri.partition.records()).machines.find((m) => m.id === tri.app)!.allocation!.project}\nname: app-out\nfirewall: ${tri.app}\negress:\n  - to: [{cidr: 0.0.0.0/0}]\n    ports: [{protocol: PROTOCOL_TCP, port: 8443}]\n`);
  const planned = await cli(stack, ["fabric", "lab", "--partition", partition, "--plan", draft]);
  assert.is(planned.code, 0, planned.out + planned.err);
  const probes = (text: string) => Number(/(\d+) probes/.exec(text)?.[1]);
  assert.ok(probes(planned.out) > probes(proof.out), "the draft's port is probed too: the lab ran the planned fabric");
  const saved = process.env.BULKHEAD_FRR_DIR;
  process.env.BULKHEAD_FRR_DIR = "/nonexistent";
  try {
    const missing = await cli(stack, ["fabric", "lab", "--partition", partition]);
    assert.is(missing.code, 2);
    assert.equal(missing.err.trim().split("\n").length, 1, missing.err);
    assert.match(missing.err, "the fabric lab needs the Debian packages frr");
  } finally {
    if (saved === undefined) delete process.env.BULKHEAD_FRR_DIR;
    else process.env.BULKHEAD_FRR_DIR = saved;
  }
});

// Seeded random fabrics: the seed (and what it built) is printed on failure; BULKHEAD_LAB_SEEDS picks others.
const seeds = (process.env.BULKHEAD_LAB_SEEDS ?? "11,23").split(",").map(Number);
for (const [n, seed] of seeds.entries()) {
  test(`a random fabric (seed ${seed}): the routers agree with the oracle, the verifier finds nothing`, async ({ stack }) => {
    const { partition, describe } = await randomFabric(stack, `rnd${n}`, 10 + n, seed);
    const input = await partition.labInput();
    const { verification } = await stack.fabric.verifyPartition({ partition: partition.id });
    assert.equal(verification!.findings.map((f) => `${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`), [], describe.join("; "));
    const report = await runLab(input);
    assert.ok(proven(report), `${describe.join("; ")}\n${formatReport(report)}`);
  });
}

test.run();
