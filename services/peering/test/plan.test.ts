// The route-leak plan the renderer turns into `import vrf` lines: exactly the direct peers'
// prefixes, never transitive.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import type { Network } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { startWorld, type World } from "./harness.js";

const test = suite<{ w: World; a: Network; b: Network; c: Network; lonely: Network }>("route-leak plan", {} as never);
test.before(async (ctx) => {
  const w = (ctx.w = await startWorld());
  ctx.a = await w.allocate(w.projectA, "a", { dual: true });
  ctx.b = await w.allocate(w.projectA, "b");
  ctx.c = await w.allocate(w.projectA, "c");
  ctx.lonely = await w.allocate(w.projectB, "lonely");
  const local = (network1: string, network2: string) => w.peerings.createPeering({ project: w.projectA, name: `${network1}-${network2}`, type: PeeringType.LOCAL, network1, network2 });
  await local(ctx.a.id, ctx.b.id);
  await local(ctx.c.id, ctx.b.id);
  await local(ctx.a.id, "internet");
  await w.peerings.createPeering({
    project: w.projectA,
    name: "corp",
    type: PeeringType.EXTERNAL,
    network1: ctx.c.id,
    bgp: { switch: "exit01", port: "Ethernet0", local: { asn: 4200000100, address: "172.16.0.1/30" }, remote: { asn: 65001, address: "172.16.0.2/30" }, remotePrefixes: ["192.168.7.0/24"] },
  });
});
test.after(async (ctx) => ctx.w?.stop());

test("a chain A–B–C gives A and C B's prefixes and never each other's", async ({ w, a, b, c, lonely }) => {
  const published = (await (await w.editor(w.projectA)).ips.allocateIP({ project: w.projectA, network: "internet" })).ip!.ip;
  const plan = await w.peerings.getRouteLeakPlan({ partition: "fra1" });
  const byNetwork = Object.fromEntries(plan.vrfs.map((v) => [v.network, v]));
  const imports = (n: Network) => byNetwork[n.id]!.imports.map((i) => [i.fromNetwork, i.fromVrf, i.prefixes]);
  assert.equal(imports(a), [[b.id, b.vrf, b.prefixes], ["internet", 104009, ["0.0.0.0/0"]]].sort((x, y) => (x[1] as number) - (y[1] as number)), "A: B's prefixes and the internet's destinations");
  assert.equal(imports(c), [[b.id, b.vrf, b.prefixes]], "C: only B");
  assert.equal(imports(b).map((i) => i[0]).sort(), [a.id, c.id].sort(), "B: both its peers");
  assert.not.ok(imports(a).some((i) => i[0] === c.id) || imports(c).some((i) => i[0] === a.id), "no A↔C");
  assert.equal(byNetwork.internet?.imports.map((i) => [i.fromNetwork, i.prefixes]), [[a.id, [`${published}/32`]]], "the internet VRF takes from A only the address A's project holds there — never A's own prefixes");
  assert.equal(imports(lonely), [], "unpeered VRFs are listed, importing nothing");
  assert.equal(byNetwork[a.id]?.prefixes, a.prefixes);
  assert.equal(plan.vrfs.map((v) => v.vrf), [...plan.vrfs.map((v) => v.vrf)].sort((x, y) => x - y), "ordered by VRF");

  assert.is(plan.externalSessions.length, 1);
  const session = plan.externalSessions[0]!;
  assert.equal([session.switch, session.port, session.vrf, session.network, session.localAsn, session.remoteAddress, session.announcePrefixes], ["exit01", "Ethernet0", c.vrf, c.id, 4200000100, "172.16.0.2/30", c.prefixes]);
  assert.equal([session.remotePrefixes, session.maximumPrefixes], [["192.168.7.0/24"], 1000], "what the peer may announce, and the default bound");
  assert.equal(session.deniedPrefixes, ["10.0.0.0/16", "10.255.0.0/16", "185.1.2.0/24", "2001:db8::/48"], "never Bulkhead's own prefixes: supers, underlay, external networks");
});

test("a plan for one VRF holds only that VRF and its sessions; another partition's plan has neither", async ({ w, b, c }) => {
  const one = await w.peerings.getRouteLeakPlan({ partition: "fra1", vrf: c.vrf });
  assert.equal(one.vrfs.map((v) => v.network), [c.id]);
  assert.equal(one.vrfs[0]?.imports.map((i) => i.fromNetwork), [b.id]);
  assert.is(one.externalSessions.length, 1);
  const other = await w.peerings.getRouteLeakPlan({ partition: "fra2" });
  assert.equal([other.vrfs.length, other.externalSessions.length], [0, 0]);
});

test("removing the middle link removes exactly its imports", async ({ w, a, b, c }) => {
  const ab = (await w.peerings.listPeerings({ network: a.id })).peerings.find((p) => p.network2 === b.id)!;
  await w.peerings.deletePeering({ id: ab.id });
  const plan = await w.peerings.getRouteLeakPlan({ partition: "fra1" });
  const byNetwork = Object.fromEntries(plan.vrfs.map((v) => [v.network, v]));
  assert.equal(byNetwork[a.id]?.imports.map((i) => i.fromNetwork), ["internet"]);
  assert.equal(byNetwork[b.id]?.imports.map((i) => i.fromNetwork), [c.id]);
});

test.run();
