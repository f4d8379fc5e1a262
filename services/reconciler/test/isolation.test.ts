// The reconciler's verification gate fails closed, not frozen. The services are stand-ins here (a
// leak plan that imports a VRF nobody peered with — a bug in the planner — and records that say
// who is cabled where), the store is real: a refused render is kept as a rejected revision and
// never pushed; the device gets the last verified configuration minus everything no longer
// authorized instead, and its status names what was withheld.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DesiredStateService } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { MachineRole, MachineState } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { GetSwitchViewResponseSchema, PortRole, SwitchRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { GetRouteLeakPlanResponseSchema } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { agentSigningKeyPair, createLogger } from "@bulkhead/service-kit";
import { startTestService, type TestService } from "@bulkhead/testkit";
import { Reconciler, type Services } from "../src/reconciler.js";
import { reconcilerService } from "../src/service.js";
import { ReconcilerStore } from "../src/store.js";
import { noVerifyTools } from "../src/verify.js";

const unused = "http://127.0.0.1:9";
const test = suite<{ service: TestService; pushed: string[]; store: ReconcilerStore }>("isolation gate", {} as never);

/** Who is where: m1 on swp1 and m2 on swp2, each in its project's network (`owner` of m1 may change). */
interface World {
  plan: "clean" | "leaky";
  /** The switch's registered OS; Cumulus 5.9.1 unless given. */
  os?: { vendor: string; version: string };
  m1: { project: "pa" | "pb"; network: "a" | "b"; vrf: number; prefix: string } | "free";
  /** The switch's view is from before m1's installation (its port still in the PXE VLAN); the records have it installed. */
  staleView?: boolean;
}

const CUMULUS = { vendor: "Cumulus", version: "5.9.1" };

const networks = [
  { id: "a", project: "pa", vrf: 41, prefixes: ["10.1.0.0/24"], destinationPrefixes: [], type: NetworkType.CHILD },
  { id: "b", project: "pb", vrf: 42, prefixes: ["10.2.0.0/24"], destinationPrefixes: [], type: NetworkType.CHILD },
];

function services(world: World): Services {
  const m1 = world.m1;
  const view = create(GetSwitchViewResponseSchema, {
    switch: { id: "leaf01", partition: "fra1", role: SwitchRole.LEAF, asn: 4200000001, routerId: "10.255.255.1", os: world.os ?? CUMULUS },
    ports: [
      { name: "swp31", role: PortRole.FABRIC },
      { name: "swp32", role: PortRole.FABRIC },
      m1 === "free" || world.staleView ? { name: "swp1", role: PortRole.UNPROVISIONED, machine: "m1" } : { name: "swp1", role: PortRole.MACHINE, machine: "m1", project: m1.project, network: m1.network, vrf: m1.vrf, allowedPrefixes: [m1.prefix] },
      { name: "swp2", role: PortRole.MACHINE, machine: "m2", project: "pb", network: "b", vrf: 42, allowedPrefixes: ["10.2.0.0/24"] },
    ],
    vrfs: [...(m1 !== "free" && m1.vrf === 41 && !world.staleView ? [{ vrf: 41, network: "a", project: "pa", prefixes: ["10.1.0.0/24"] }] : []), { vrf: 42, network: "b", project: "pb", prefixes: ["10.2.0.0/24"] }],
  });
  const imports = world.plan === "leaky" ? [{ fromVrf: 41, fromNetwork: "a", prefixes: ["10.1.0.0/24"], peering: "a-bug" }] : [];
  const machine = (id: string, project: string, network: string, ip: string, port: string) => ({
    id,
    partition: "fra1",
    state: MachineState.INSTALLED,
    connections: [{ nic: "lan0", switch: "leaf01", port }],
    allocation: { project, role: MachineRole.MACHINE, hostname: id, networks: [{ network, ips: [ip], vrf: network === "a" ? 41 : 42 }] },
  });
  const machines = [...(m1 === "free" ? [] : [machine("m1", m1.project, m1.network, m1.prefix.replace("0/24", "10"), "swp1")]), machine("m2", "pb", "b", "10.2.0.11", "swp2")];
  return {
    switches: {
      getSwitch: async () => ({ switch: view.switch }),
      getSwitchViews: async ({ devices }: { devices: string[] }) => ({ views: devices.includes("leaf01") ? [view] : [], missing: devices.filter((d) => d !== "leaf01") }),
      listSwitches: async () => ({ switches: [{ id: "leaf01", partition: "fra1", role: SwitchRole.LEAF, routerId: "10.255.255.1", os: world.os ?? CUMULUS, ports: [{ name: "swp31", uplink: true }, { name: "swp32", uplink: true }, { name: "swp1" }, { name: "swp2" }] }] }),
    },
    peering: {
      getRouteLeakPlan: async () => create(GetRouteLeakPlanResponseSchema, { vrfs: [{ vrf: 41, network: "a", project: "pa", prefixes: ["10.1.0.0/24"], imports: [] }, { vrf: 42, network: "b", project: "pb", prefixes: ["10.2.0.0/24"], imports }] }),
      listPeerings: async () => ({ peerings: [] }),
    },
    networks: { listNetworks: async (req: { type?: NetworkType }) => ({ networks: req.type === NetworkType.EXTERNAL ? [] : networks, nextPageToken: "" }) },
    machines: { listMachines: async () => ({ machines, nextPageToken: "" }) },
    policies: { listPolicies: async () => ({ policies: [] }) },
    ips: { listIPs: async () => ({ ips: [], nextPageToken: "" }) },
  } as unknown as Services;
}

test.before(async (ctx) => {
  const keys = agentSigningKeyPair(mkdtempSync(join(tmpdir(), "bh-agent-key-")));
  ctx.service = await startTestService(reconcilerService, { env: { BULKHEAD_INVENTORY_URL: unused, BULKHEAD_NETWORK_URL: unused, BULKHEAD_PEERING_URL: unused, BULKHEAD_FIREWALL_POLICY_URL: unused, BULKHEAD_AGENT_SIGNING_KEY_FILE: keys.privateKeyFile } });
  ctx.store = new ReconcilerStore(ctx.service.service.pool);
  ctx.pushed = [];
});
test.after(async (ctx) => ctx.service?.stop());

const render = (ctx: { store: ReconcilerStore; pushed: string[] }, world: World) =>
  new Reconciler(ctx.store, services(world), { render: async () => {}, push: async (d) => void ctx.pushed.push(d) }, { verify: noVerifyTools, isolation: true, agentToken: async () => "", agentTimeoutMs: 1000, agentNetworks: [] }, createLogger("reconciler", "silent")).render("leaf01");

const desiredFiles = async (store: ReconcilerStore) => {
  const row = (await store.device("leaf01"))!;
  const revision = (await store.revision("leaf01", row.desired_generation))!;
  return { row, revision, frr: revision.files.find((f) => f.path === "frr/frr.conf")!.content, interfaces: revision.files.find((f) => f.path === "network/interfaces")!.content };
};

/** The devices withholding a grant of `record`, as an operator asks (an admin's call). */
const refusing = async (ctx: { service: TestService }, record: string) => ctx.service.client(DesiredStateService, await ctx.service.adminToken()).listDeviceStatuses({ record });

const inA = { project: "pa", network: "a", vrf: 41, prefix: "10.1.0.0/24" } as const;
const inB = { project: "pb", network: "b", vrf: 42, prefix: "10.2.0.0/24" } as const;

test("a render that verifies is recorded and pushed", async (ctx) => {
  assert.ok(await render(ctx, { plan: "clean", m1: inA }));
  const { revision, frr } = await desiredFiles(ctx.store);
  assert.equal([revision.rejected, revision.verification.checks, revision.verification.findings], [false, ["isolation"], []]);
  assert.match(frr, /interface swp1 vrf vrf41/);
  assert.equal(ctx.pushed, ["leaf01"]);
});

test("a render that leaks is never pushed: the device gets the verified part, and the status names what was withheld", async (ctx) => {
  const before = (await ctx.store.device("leaf01"))!;
  await ctx.store.applied("leaf01", before.desired_generation, before.desired_hash, true);
  ctx.pushed.length = 0;
  await render(ctx, { plan: "leaky", m1: inA });
  const refused = (await ctx.store.revision("leaf01"))!;
  assert.ok(refused.rejected, "the full render is kept, rejected");
  assert.ok(refused.verification.findings.some((f) => f.property === "import-closure" && f.object === "import vrf vrf41" && f.line > 0), JSON.stringify(refused.verification.findings));
  const { row, revision, frr } = await desiredFiles(ctx.store);
  assert.not.ok(revision.rejected);
  assert.not.match(frr, /import vrf vrf41/);
  assert.equal(row.state, 5, "REJECTED while something is withheld");
  assert.match(row.last_error, /import vrf vrf41/);
  assert.equal(row.withheld, ["vrf42 import from vrf41: 10.1.0.0/24 (peering a-bug)"]);
  // Reported on the record too: the peering's id finds the device and why.
  const [found, ...more] = (await refusing(ctx, "a-bug")).statuses;
  assert.equal([found?.device, found?.withheldRecords, found?.withheld, more], ["leaf01", ["a-bug"], row.withheld, []]);
  assert.equal((await refusing(ctx, "m2")).statuses, [], "m2's port is granted");
  // Nothing new was pushed: the verified part is what the device already runs.
  assert.equal(row.desired_hash, before.desired_hash);
  // The same refused render again changes nothing.
  assert.not.ok(await render(ctx, { plan: "leaky", m1: inA }));
  assert.equal((await ctx.store.revision("leaf01"))!.generation, refused.generation);
});

test("while refused, a port leaving a tenant's VRF is still delivered: it never stays in the other tenant's VRF", async (ctx) => {
  ctx.pushed.length = 0;
  // m1 was freed by project A and allocated by B into B's network; the plan is still leaky.
  assert.ok(await render(ctx, { plan: "leaky", m1: inB }));
  const { row, frr, interfaces } = await desiredFiles(ctx.store);
  assert.not.match(frr, /interface swp1 vrf vrf41/, "swp1 left A's VRF");
  assert.not.match(frr, /import vrf vrf41/);
  assert.match(interfaces, /iface swp1\n {4}link-down yes/, "the move into B's VRF waits for a render that verifies: the port is off");
  assert.equal(row.state, 5);
  assert.ok(row.withheld.some((w) => /^port swp1: machine m1 in vrf42/.test(w)), row.withheld.join("; "));
  assert.equal(row.withheld_records, ["a-bug", "m1"]);
  assert.equal((await refusing(ctx, "m1")).statuses.map((s) => s.device), ["leaf01"], "the machine's id finds where its port was switched off");
  assert.equal(ctx.pushed, ["leaf01"]);
});

test("a removal is delivered while refused: a freed machine's port returns to PXE", async (ctx) => {
  ctx.pushed.length = 0;
  assert.ok(await render(ctx, { plan: "leaky", m1: "free" }));
  const { interfaces } = await desiredFiles(ctx.store);
  assert.match(interfaces, /iface swp1\n {4}mtu 9000\n {4}bridge-access 4000/);
  assert.equal(ctx.pushed, ["leaf01"]);
});

test("once the render verifies again, everything is granted and nothing is withheld", async (ctx) => {
  assert.ok(await render(ctx, { plan: "clean", m1: inB }));
  const { row, frr } = await desiredFiles(ctx.store);
  assert.match(frr, /interface swp1 vrf vrf42/);
  assert.equal([row.state, row.withheld, row.withheld_records, row.last_error], [2, [], [], ""]);
  assert.equal((await refusing(ctx, "a-bug")).statuses, []);
});

test("a view older than the records about one port (its machine installed since): that port is off until a render catches up; the switch's other tenants keep theirs", async (ctx) => {
  ctx.pushed.length = 0;
  assert.ok(await render(ctx, { plan: "clean", m1: inA, staleView: true }));
  const { row, frr, interfaces } = await desiredFiles(ctx.store);
  assert.match(interfaces, /iface swp1\n {4}link-down yes/, "the port the records disagree about is off");
  assert.match(frr, /interface swp2 vrf vrf42/, "m2 keeps its VRF");
  assert.equal([row.state, row.withheld_records], [5, ["m1"]]);
  assert.ok(row.withheld.some((w) => /^port swp1: /.test(w)), row.withheld.join("; "));
  assert.ok(await render(ctx, { plan: "clean", m1: inA }), "the view caught up");
  const caughtUp = await desiredFiles(ctx.store);
  assert.match(caughtUp.frr, /interface swp1 vrf vrf41/);
  assert.equal(caughtUp.row.withheld, []);
  assert.is.not(caughtUp.row.state, 5, "no longer REJECTED");
});

test("a device keeps its newest 10 dead letters, newest first", async (ctx) => {
  for (let i = 1; i <= 12; i++) await ctx.store.failed("leaf01", 1000 + i, `failure ${i}`, false);
  const letters = (await ctx.store.device("leaf01"))!.dead_letters;
  assert.equal(letters.map((l) => l.reason), Array.from({ length: 10 }, (_, i) => `failure ${12 - i}`));
  assert.is(letters[0]!.generation, 1012);
});

// Last: it makes the reconciler forget leaf01.
test("a switch whose recorded OS Bulkhead does not configure (a record from before the rule) is not rendered, and nothing is pushed", async (ctx) => {
  const pushed = ctx.pushed.length;
  assert.is(await render(ctx, { plan: "clean", m1: inA, os: { vendor: "EOS", version: "4.30" } }), false);
  assert.is(await ctx.store.device("leaf01"), undefined, "no desired state is kept for it");
  assert.is(ctx.pushed.length, pushed);
});

test.run();
