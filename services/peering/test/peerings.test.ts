// Creating and deleting peerings: what may be peered, every rule that refuses, who may do it, and
// networks that cannot be deleted while peered.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { PeeringService, PeeringType, type CreatePeeringRequestSchema } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import type { Network } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { encodePageToken } from "@bulkhead/service-kit";
import { walkPages } from "@bulkhead/testkit";
import { failure, startWorld, type World } from "./harness.js";

type Request = MessageInitShape<typeof CreatePeeringRequestSchema>;

interface Ctx {
  w: World;
  a1: Network;
  a2: Network;
  a3: Network;
  b1: Network;
  storage: Network;
  aFar: Network;
  bFar: Network;
}

const test = suite<Ctx>("peerings", {} as never);
test.before(async (ctx) => {
  const w = (ctx.w = await startWorld());
  ctx.a1 = await w.allocate(w.projectA, "a1");
  ctx.a2 = await w.allocate(w.projectA, "a2");
  ctx.a3 = await w.allocate(w.projectA, "a3");
  ctx.b1 = await w.allocate(w.projectB, "b1");
  ctx.storage = await w.allocate(w.projectB, "storage", { shared: true });
  // In the namespaced super of fra2 children of different projects overlap.
  ctx.aFar = await w.allocate(w.projectA, "a-far", { partition: "fra2" });
  ctx.bFar = await w.allocate(w.projectB, "b-far", { partition: "fra2", shared: true });
});
test.after(async (ctx) => ctx.w?.stop());

const fieldOf = (e: Awaited<ReturnType<typeof failure>>) =>
  e.findDetails(ViolationsSchema)[0]?.violations[0]?.field?.elements.map((x) => x.fieldName).join(".") ?? e.findDetails(ViolationsSchema)[0]?.violations[0]?.ruleId;
const local = (project: string, network1: string, network2: string, name = `${network1}-${network2}`): Request => ({ project, name, type: PeeringType.LOCAL, network1, network2 });
const bgp = (port = "Ethernet0", overrides: { localAsn?: number; remoteAsn?: number; local?: string; remote?: string; switch?: string; remotePrefixes?: string[] } = {}) => ({
  remotePrefixes: overrides.remotePrefixes ?? [],
  switch: overrides.switch ?? "exit01",
  port,
  local: { asn: overrides.localAsn ?? 4200000100, address: overrides.local ?? "172.16.0.1/30" },
  remote: { asn: overrides.remoteAsn ?? 65001, address: overrides.remote ?? "172.16.0.2/30" },
});

test("a private network peers with another of its project, a shared network of any project, and an external network", async ({ w, a1, a2, a3, storage }) => {
  const { peerings } = await w.editor(w.projectA);
  const own = (await peerings.createPeering(local(w.projectA, a1.id, a2.id))).peering!;
  assert.equal([own.type, own.network1, own.network2, own.automatic, own.project], [PeeringType.LOCAL, a1.id, a2.id, false, w.projectA]);
  const shared = (await peerings.createPeering(local(w.projectA, storage.id, a1.id))).peering!;
  assert.is(shared.network1, storage.id, "either side may be named first");
  const internet = (await peerings.createPeering(local(w.projectA, a1.id, "internet"))).peering!;
  const listed = (await peerings.listPeerings({ project: w.projectA })).peerings.map((p) => p.id);
  assert.equal(listed, [own.id, shared.id, internet.id]);
  const event = (await w.peering.service.pool.query("SELECT payload FROM outbox WHERE topic = 'peering.created' ORDER BY id LIMIT 1")).rows[0].payload;
  assert.equal([event.peering, event.partition, event.networks], [own.id, "fra1", [{ network: a1.id, vrf: a1.vrf }, { network: a2.id, vrf: a2.vrf }]], "the event names both VRFs");
  const again = (await peerings.createPeering({ ...local(w.projectA, a2.id, a3.id), requestId: "a2-a3" })).peering!;
  assert.is((await peerings.createPeering({ ...local(w.projectA, a2.id, a3.id), requestId: "a2-a3" })).peering?.id, again.id, "a repeated request_id returns the same peering");
  const inPages = await walkPages(1, async (page) => {
    const r = await peerings.listPeerings({ project: w.projectA, ...page });
    return { items: r.peerings, next: r.nextPageToken };
  }, (p) => p.id);
  assert.equal(inPages, [own.id, shared.id, internet.id, again.id], "a page at a time, in order of creation");
  for (const pageToken of ["x", encodePageToken(own.id), encodePageToken(["yesterday", own.id]), encodePageToken(["2026-01-01 00:00:00+00", "not-a-uuid"])]) {
    const bad = await failure(peerings.listPeerings({ project: w.projectA, pageToken }));
    assert.equal([bad.code, bad.rawMessage.startsWith("page_token")], [Code.InvalidArgument, true], bad.rawMessage);
  }
  await peerings.deletePeering({ project: w.projectA, id: again.id });
});

test("every rule refuses by name, and a refused peering writes nothing", async ({ w, a1, a2, a3, b1, storage, aFar, bFar }) => {
  const { peerings } = await w.editor(w.projectA);
  const before = await w.count("SELECT count(*) FROM peerings");
  const events = await w.count("SELECT count(*) FROM outbox");
  const external = (n1: string, b: ReturnType<typeof bgp>): Request => ({ project: w.projectA, name: "uplink", type: PeeringType.EXTERNAL, network1: n1, bgp: b });
  const cases: [string, Request, Code, string | undefined, string][] = [
    ["self-peering", local(w.projectA, a3.id, a3.id), Code.InvalidArgument, "create_peering.self", "itself"],
    ["another project's unshared network", local(w.projectA, a3.id, b1.id), Code.InvalidArgument, "network2", "only once it is shared"],
    ["no private network of the project", local(w.projectA, storage.id, "internet"), Code.InvalidArgument, "network1", "neither"],
    ["a super network", local(w.projectA, a3.id, "super"), Code.InvalidArgument, "network2", "super network"],
    ["the underlay", local(w.projectA, "underlay", a3.id), Code.InvalidArgument, "network1", "underlay"],
    ["networks of different partitions", local(w.projectA, a3.id, aFar.id), Code.InvalidArgument, "network2", "one partition"],
    ["overlapping prefixes", local(w.projectA, aFar.id, bFar.id), Code.FailedPrecondition, undefined, "overlap"],
    ["a duplicate, sides swapped", local(w.projectA, a2.id, a1.id), Code.AlreadyExists, undefined, "already peered"],
    ["an unknown network", local(w.projectA, a3.id, "nowhere"), Code.InvalidArgument, "network2", "there is no network nowhere"],
    ["a port that does not exist", external(a3.id, bgp("Ethernet9")), Code.InvalidArgument, "bgp.port", "no port Ethernet9"],
    ["a switch that is not an exit switch", external(a3.id, bgp("Ethernet0", { switch: "leaf01" })), Code.InvalidArgument, "bgp.switch", "not an exit switch"],
    ["an unknown switch", external(a3.id, bgp("Ethernet0", { switch: "exit99" })), Code.InvalidArgument, "bgp.switch", "no switch exit99"],
    ["a fabric uplink", external(a3.id, bgp("Ethernet3")), Code.FailedPrecondition, undefined, "uplink"],
    ["a documentation AS", external(a3.id, bgp("Ethernet0", { remoteAsn: 64500 })), Code.InvalidArgument, "bgp.remote.asn", "documentation"],
    ["AS 23456", external(a3.id, bgp("Ethernet0", { remoteAsn: 23456 })), Code.InvalidArgument, "bgp.remote.asn", ""],
    ["the same AS on both sides", external(a3.id, bgp("Ethernet0", { remoteAsn: 4200000100 })), Code.InvalidArgument, "bgp.remote.asn", "eBGP"],
    ["a link wider than /30", external(a3.id, bgp("Ethernet0", { local: "172.16.0.1/29", remote: "172.16.0.2/29" })), Code.InvalidArgument, "bgp.local.address", "/30 or /31"],
    ["a remote address outside the link", external(a3.id, bgp("Ethernet0", { remote: "172.16.0.6/30" })), Code.InvalidArgument, "bgp.remote.address", "not in the link"],
    ["the link's broadcast address", external(a3.id, bgp("Ethernet0", { remote: "172.16.0.3/30" })), Code.InvalidArgument, "bgp.remote.address", "usable"],
    ["another project's network to a BGP peer", external(storage.id, bgp()), Code.InvalidArgument, "network1", "external BGP session"],
    ["a peer allowed to announce a block of the partition's own", external(a3.id, bgp("Ethernet0", { remotePrefixes: ["0.0.0.0/0", "10.0.5.0/24"] })), Code.InvalidArgument, "bgp.remote_prefixes.1", "lies inside 10.0.0.0/16 of network super"],
    ["a remote prefix with host bits", external(a3.id, bgp("Ethernet0", { remotePrefixes: ["192.168.7.1/24"] })), Code.InvalidArgument, "bgp.remote_prefixes", ""],
    ["an external session without bgp", { project: w.projectA, name: "x", type: PeeringType.EXTERNAL, network1: a3.id }, Code.InvalidArgument, "create_peering.external", ""],
  ];
  for (const [name, request, code, field, message] of cases) {
    const error = await failure(peerings.createPeering(request));
    assert.is(error.code, code, `${name}: ${error.message}`);
    if (field) assert.is(fieldOf(error), field, name);
    assert.match(error.rawMessage, message, name);
  }
  assert.is(await w.count("SELECT count(*) FROM peerings"), before);
  assert.is(await w.count("SELECT count(*) FROM outbox"), events, "no event either");
});

test("a VRF's imports never collide: a second peer overlapping the first is refused", async ({ w, aFar, bFar }) => {
  const { peerings } = await w.editor(w.projectA);
  const aFar2 = await w.allocate(w.projectA, "a-far-2", { partition: "fra2" });
  await peerings.createPeering(local(w.projectA, aFar2.id, bFar.id));
  const error = await failure(peerings.createPeering(local(w.projectA, aFar2.id, aFar.id)));
  assert.is(error.code, Code.FailedPrecondition);
  assert.match(error.rawMessage, `already imports ${bFar.id}`);
});

test("concurrent peerings of one network are checked one at a time: of two overlapping peers only one gets in", async ({ w, aFar, bFar }) => {
  const { peerings } = await w.editor(w.projectA);
  for (let round = 0; round < 4; round++) {
    const hub = await w.allocate(w.projectA, `hub-${round}`, { partition: "fra2" });
    const outcomes = await Promise.allSettled([peerings.createPeering(local(w.projectA, hub.id, bFar.id)), peerings.createPeering(local(w.projectA, hub.id, aFar.id))]);
    assert.equal(outcomes.map((o) => o.status).sort(), ["fulfilled", "rejected"], `round ${round}: exactly one of the overlapping peers`);
    const refused = outcomes.find((o) => o.status === "rejected") as PromiseRejectedResult;
    assert.match(String(refused.reason), "whose prefixes overlap");
  }
});

test("external peerings take a free exit switch port; the port is then used", async ({ w, a3 }) => {
  const { peerings } = await w.editor(w.projectA);
  const session = (await peerings.createPeering({ project: w.projectA, name: "corp", type: PeeringType.EXTERNAL, network1: a3.id, bgp: bgp("Ethernet1") })).peering!;
  assert.equal([session.type, session.network2, session.bgp?.switch, session.bgp?.port, session.bgp?.remote?.asn], [PeeringType.EXTERNAL, "", "exit01", "Ethernet1", 65001]);
  const taken = await failure(peerings.createPeering({ project: w.projectA, name: "corp2", type: PeeringType.EXTERNAL, network1: a3.id, bgp: bgp("Ethernet1", { local: "172.16.0.5/31", remote: "172.16.0.4/31" }) }));
  assert.equal([taken.code, taken.rawMessage.includes("already carries")], [Code.FailedPrecondition, true]);
  assert.ok((await peerings.createPeering({ project: w.projectA, name: "v6", type: PeeringType.EXTERNAL, network1: a3.id, bgp: bgp("Ethernet2", { local: "2001:db8:ffff::/127", remote: "2001:db8:ffff::1/127" }) })).peering);
  const internetByEditor = await failure(peerings.createPeering({ project: w.projectA, name: "isp", type: PeeringType.EXTERNAL, network1: "internet", bgp: bgp("Ethernet0") }));
  assert.is(fieldOf(internetByEditor), "network1", "only platform admins attach an external network to a BGP peer");
});

test("only the project's owners and editors change its peerings; viewers list; other projects see nothing", async ({ w, a1 }) => {
  const viewer = w.peering.client(PeeringService, await w.network.projectToken(w.projectA, "viewer"));
  const listed = (await viewer.listPeerings({ project: w.projectA })).peerings;
  assert.ok(listed.length > 0, "viewers list");
  assert.is((await failure(viewer.createPeering(local(w.projectA, a1.id, "internet", "x")))).code, Code.PermissionDenied);
  assert.is((await failure(viewer.deletePeering({ project: w.projectA, id: listed[0]!.id }))).code, Code.PermissionDenied);
  const b = await w.editor(w.projectB);
  assert.is((await failure(b.peerings.createPeering(local(w.projectA, a1.id, "internet", "x")))).code, Code.PermissionDenied, "B's editor cannot act for A");
  assert.is((await failure(b.peerings.getPeering({ project: w.projectB, id: listed[0]!.id }))).code, Code.NotFound, "nor see A's peerings");
  assert.is((await failure(b.peerings.deletePeering({ project: w.projectB, id: listed[0]!.id }))).code, Code.NotFound);
  assert.equal((await b.peerings.listPeerings({ project: w.projectB })).peerings, []);
  // Ids are compared as uuid: one that cannot be a uuid is not found, not a server error.
  assert.is((await failure(viewer.getPeering({ project: w.projectA, id: "not-a-uuid" }))).code, Code.NotFound);
  assert.is((await failure((await w.editor(w.projectA)).peerings.deletePeering({ project: w.projectA, id: "not-a-uuid" }))).code, Code.NotFound);
  assert.is((await viewer.listPeerings({ project: w.projectA })).peerings.length, listed.length, "nothing deleted");
  assert.is((await failure(b.peerings.releaseNetwork({ network: a1.id }))).code, Code.PermissionDenied, "releasing is the network service's");
});

test("a peered network cannot be deleted until its peerings are gone", async ({ w, a1, a2, storage }) => {
  const a = await w.editor(w.projectA);
  const refused = await failure(a.networks.deleteNetwork({ project: w.projectA, id: a2.id }));
  assert.is(refused.code, Code.FailedPrecondition);
  assert.match(refused.rawMessage, `${a1.id}-${a2.id}`, "the refusal names the peering");
  assert.ok((await a.networks.getNetwork({ project: w.projectA, id: a2.id })).network, "and the network is still there, ready");
  const b = await w.editor(w.projectB);
  const shared = await failure(b.networks.deleteNetwork({ project: w.projectB, id: storage.id }));
  assert.is(shared.code, Code.FailedPrecondition);
  assert.match(shared.rawMessage, "1 of other projects", "another project's peering is counted, not named");
  const peering = (await a.peerings.listPeerings({ project: w.projectA, network: a2.id })).peerings;
  for (const p of peering) await a.peerings.deletePeering({ project: w.projectA, id: p.id });
  await a.networks.deleteNetwork({ project: w.projectA, id: a2.id });
  assert.is((await failure(a.networks.getNetwork({ project: w.projectA, id: a2.id }))).code, Code.NotFound);
});

test("of concurrent requests for one pair, in either order, exactly one creates it", async ({ w }) => {
  const { peerings } = await w.editor(w.projectA);
  const x = await w.allocate(w.projectA, "x");
  const y = await w.allocate(w.projectA, "y");
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => peerings.createPeering(i % 2 ? local(w.projectA, x.id, y.id) : local(w.projectA, y.id, x.id))));
  assert.is(results.filter((r) => r.status === "fulfilled").length, 1);
  for (const r of results.filter((r): r is PromiseRejectedResult => r.status === "rejected")) assert.is(r.reason.code, Code.AlreadyExists);
  assert.is(await w.count(`SELECT count(*) FROM peerings WHERE '${x.id}' IN (network1, network2)`), 1);
  assert.is(await w.count(`SELECT count(*) FROM outbox WHERE topic = 'peering.created' AND payload->'networks'->0->>'network' IN ('${x.id}', '${y.id}')`), 1);
});

test.run();
