// The reconciler refuses to push what the isolation verifier rejects. The services are stand-ins
// here (a leak plan that imports a VRF nobody peered with — a bug in the planner), the store is
// real: the revision is stored as rejected, the device is REJECTED with the finding, nothing is pushed.
import { create } from "@bufbuild/protobuf";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { GetSwitchViewResponseSchema, PortRole, SwitchRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { GetRouteLeakPlanResponseSchema } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { createLogger } from "@bulkhead/service-kit";
import { startTestService, type TestService } from "@bulkhead/testkit";
import { Reconciler, type Services } from "../src/reconciler.js";
import { reconcilerService } from "../src/service.js";
import { ReconcilerStore } from "../src/store.js";

const unused = "http://127.0.0.1:9";
const test = suite<{ service: TestService; pushed: string[]; reconciler: Reconciler; store: ReconcilerStore }>("isolation gate", {} as never);

const view = create(GetSwitchViewResponseSchema, {
  switch: { id: "leaf01", partition: "fra1", role: SwitchRole.LEAF, asn: 4200000001, routerId: "10.255.255.1" },
  ports: [
    { name: "swp31", role: PortRole.FABRIC },
    { name: "swp32", role: PortRole.FABRIC },
    { name: "swp1", role: PortRole.MACHINE, machine: "m1", project: "pa", network: "a", vrf: 41, allowedPrefixes: ["10.1.0.0/24"] },
    { name: "swp2", role: PortRole.MACHINE, machine: "m2", project: "pb", network: "b", vrf: 42, allowedPrefixes: ["10.2.0.0/24"] },
  ],
  vrfs: [
    { vrf: 41, network: "a", project: "pa", prefixes: ["10.1.0.0/24"] },
    { vrf: 42, network: "b", project: "pb", prefixes: ["10.2.0.0/24"] },
  ],
});
const networks = [
  { id: "a", project: "pa", vrf: 41, prefixes: ["10.1.0.0/24"], destinationPrefixes: [], type: NetworkType.CHILD },
  { id: "b", project: "pb", vrf: 42, prefixes: ["10.2.0.0/24"], destinationPrefixes: [], type: NetworkType.CHILD },
];

function services(plan: "clean" | "leaky"): Services {
  const imports = plan === "leaky" ? [{ fromVrf: 42, fromNetwork: "b", prefixes: ["10.2.0.0/24"], peering: "none" }] : [];
  return {
    switches: { getSwitchView: async () => view },
    peering: {
      getRouteLeakPlan: async () => create(GetRouteLeakPlanResponseSchema, { vrfs: [{ vrf: 41, network: "a", project: "pa", prefixes: ["10.1.0.0/24"], imports }, { vrf: 42, network: "b", project: "pb", prefixes: ["10.2.0.0/24"], imports: [] }] }),
      listPeerings: async () => ({ peerings: [] }),
    },
    networks: { listNetworks: async (req: { type?: NetworkType }) => ({ networks: req.type === NetworkType.EXTERNAL ? [] : networks, nextPageToken: "" }) },
    machines: {},
    policies: {},
  } as unknown as Services;
}

test.before(async (ctx) => {
  ctx.service = await startTestService(reconcilerService, { env: { BULKHEAD_INVENTORY_URL: unused, BULKHEAD_NETWORK_URL: unused, BULKHEAD_PEERING_URL: unused, BULKHEAD_FIREWALL_POLICY_URL: unused } });
  ctx.store = new ReconcilerStore(ctx.service.service.pool);
  ctx.pushed = [];
});
test.after(async (ctx) => ctx.service?.stop());

const reconcilerWith = (ctx: { store: ReconcilerStore; pushed: string[] }, plan: "clean" | "leaky") =>
  new Reconciler(ctx.store, services(plan), { render: async () => {}, push: async (d) => void ctx.pushed.push(d) }, { verify: "off", isolation: true, agentToken: async () => "", agentTimeoutMs: 1000 }, createLogger("reconciler", "silent"));

test("a render that passes is recorded and pushed", async (ctx) => {
  assert.ok(await reconcilerWith(ctx, "clean").render("leaf01"));
  const revision = (await ctx.store.revision("leaf01"))!;
  assert.equal([revision.rejected, revision.verification.checks, revision.verification.findings], [false, ["isolation"], []]);
  assert.equal(ctx.pushed, ["leaf01"]);
});

test("a render that leaks between unpeered networks is rejected, never pushed, and the status says why", async (ctx) => {
  const before = (await ctx.store.device("leaf01"))!;
  await ctx.store.applied("leaf01", before.desired_generation, before.desired_hash, true); // the agent runs the good revision
  ctx.pushed.length = 0;
  assert.not.ok(await reconcilerWith(ctx, "leaky").render("leaf01"));
  const revision = (await ctx.store.revision("leaf01"))!;
  assert.ok(revision.rejected);
  assert.ok(revision.verification.findings.some((f) => f.property === "import-closure" && f.object === "import vrf vrf42" && f.line > 0), JSON.stringify(revision.verification.findings));
  const after = (await ctx.store.device("leaf01"))!;
  assert.equal([after.state, after.desired_generation], [5, before.desired_generation], "REJECTED; the desired revision stays the last good one");
  assert.match(after.last_error, /import vrf vrf42/);
  assert.equal(ctx.pushed, []);
});

test.run();
