import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { NatType, NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { readAuditLog } from "@bulkhead/db";
import { DEFAULT_EXTERNAL_LABEL } from "../src/networks.js";
import { count, failure, startWorld, type World } from "./harness.js";

const test = suite<{ w: World }>("networks", {} as never);
test.before(async (ctx) => {
  ctx.w = await startWorld();
});
test.after(async (ctx) => ctx.w?.stop());

const field = (e: Awaited<ReturnType<typeof failure>>) => e.findDetails(ViolationsSchema)[0]?.violations[0]?.field?.elements.map((x) => x.fieldName).join(".");

test("a child network is dual stack by default, with its own VRF and prefixes cut from the super network", async ({ w }) => {
  const { network } = await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "cluster-a" });
  assert.is(network?.type, NetworkType.CHILD);
  assert.is(network?.parentNetwork, "fra1-super");
  assert.equal(network?.prefixes, ["10.0.0.0/22", "2001:db8::/64"]);
  assert.ok(network!.vrf >= 1 && network!.vrf <= 131072);
  const usage = (await w.editorA.networks.getNetworkUsage({ id: network!.id, project: w.projectA })).usage;
  assert.equal(usage.map((u) => [u.family, u.availableIps]), [[AddressFamily.IPV4, "1022"], [AddressFamily.IPV6, ((1n << 64n) - 1n).toString()]]);
  const { network: v4only } = await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "v4", addressFamily: AddressFamily.IPV4, length: { ipv4: 24 } });
  assert.equal(v4only?.prefixes, ["10.0.4.0/24"]);
  assert.not.equal(v4only?.vrf, network?.vrf);
});

test("lengths outside the super network's bounds and families it lacks are refused, naming the field", async ({ w }) => {
  const a = { project: w.projectA, partition: "fra1", name: "x" };
  assert.is(field(await failure(w.editorA.networks.allocateNetwork({ ...a, length: { ipv4: 16 } }))), "length.ipv4");
  assert.is(field(await failure(w.editorA.networks.allocateNetwork({ ...a, length: { ipv4: 19 } }))), "length.ipv4", "shorter than the minimum /20");
  assert.is((await failure(w.editorA.networks.allocateNetwork({ ...a, partition: "nowhere" }))).code, Code.NotFound);
});

test("type rules: one super and one underlay per partition, no NAT on them, no overlap with other networks", async ({ w }) => {
  const again = await failure(w.networks.createNetwork({ name: "second super", type: NetworkType.SUPER, partition: "fra1", prefixes: ["10.1.0.0/16"], defaultChildPrefixLength: { ipv4: 22 } }));
  assert.is(again.code, Code.AlreadyExists);
  assert.match(again.message, "already has a super network");
  assert.is((await failure(w.networks.createNetwork({ name: "u2", type: NetworkType.UNDERLAY, partition: "fra1", prefixes: ["10.254.0.0/24"] }))).code, Code.AlreadyExists);
  assert.is(field(await failure(w.networks.createNetwork({ name: "u6", type: NetworkType.UNDERLAY, partition: "fra1", prefixes: ["2001:db8:ffff::/64"] }))), "prefixes");
  assert.is(field(await failure(w.networks.createNetwork({ name: "nat", type: NetworkType.UNDERLAY, partition: "fra1", prefixes: ["10.253.0.0/24"], natType: NatType.IPV4_MASQUERADE }))), "nat_type");
  const overlap = await failure(w.networks.createNetwork({ id: "ext2", name: "overlapping", type: NetworkType.EXTERNAL, prefixes: ["10.0.128.0/24"], vrf: 104010 }));
  assert.is(overlap.code, Code.AlreadyExists);
  assert.match(overlap.message, "10.0.0.0/16");
  assert.is((await failure(w.networks.getNetwork({ id: "ext2" }))).code, Code.NotFound, "the refused network left nothing behind");
  assert.is((await failure(w.networks.createNetwork({ id: "ext3", name: "same vrf", type: NetworkType.EXTERNAL, prefixes: ["192.0.2.0/24"], vrf: 104009 }))).code, Code.AlreadyExists);
  const noVrf = await failure(w.networks.createNetwork({ name: "no vrf", type: NetworkType.EXTERNAL, prefixes: ["192.0.2.0/24"] }));
  assert.is(noVrf.code, Code.InvalidArgument);
  assert.match(noVrf.message, "create_network.vrf");
});

test("a DMZ network is shared, masquerades, routes 0.0.0.0/0 and is labelled default external", async ({ w }) => {
  const { network } = await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "dmz", dmz: true, addressFamily: AddressFamily.IPV4 });
  assert.is(network?.type, NetworkType.CHILD_SHARED);
  assert.is(network?.natType, NatType.IPV4_MASQUERADE);
  assert.equal(network?.destinationPrefixes, ["0.0.0.0/0"]);
  assert.ok(DEFAULT_EXTERNAL_LABEL in network!.labels);
});

test("a shared network serves other projects; an unshared one is invisible to them", async ({ w }) => {
  const storage = (await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "storage", addressFamily: AddressFamily.IPV4 })).network!;
  assert.is((await failure(w.editorB.networks.getNetwork({ id: storage.id, project: w.projectB }))).code, Code.NotFound);
  assert.is((await failure(w.editorB.ips.allocateIP({ project: w.projectB, network: storage.id }))).code, Code.NotFound);
  assert.is((await failure(w.editorB.networks.updateNetwork({ id: storage.id, project: w.projectB, shared: true }))).code, Code.NotFound, "B cannot share A's network");
  assert.is((await failure(w.editorB.networks.deleteNetwork({ id: storage.id, project: w.projectB }))).code, Code.NotFound);
  assert.equal((await w.editorB.networks.listNetworks({ project: w.projectB, ids: [storage.id] })).networks, [], "naming it does not show it");
  const shared = (await w.editorA.networks.updateNetwork({ id: storage.id, project: w.projectA, shared: true })).network!;
  assert.is(shared.type, NetworkType.CHILD_SHARED);
  const ip = (await w.editorB.ips.allocateIP({ project: w.projectB, network: storage.id })).ip!;
  assert.is(ip.project, w.projectB);
  assert.is((await failure(w.editorB.networks.deleteNetwork({ id: storage.id, project: w.projectB }))).code, Code.PermissionDenied, "shared is not owned");
  const listed = (await w.editorB.networks.listNetworks({ project: w.projectB })).networks.map((n) => n.id);
  assert.ok(listed.includes(storage.id) && listed.includes("internet") && listed.includes("fra1-super"));
  assert.not.ok(listed.includes("fra1-underlay"), "the underlay is not a tenant's business");
  const byIds = (await w.editorB.networks.listNetworks({ project: w.projectB, ids: [storage.id, "fra1-underlay", "internet", "no-such-net"] })).networks.map((n) => n.id);
  assert.equal(byIds.sort(), [storage.id, "internet"].sort(), "ids only narrow what the member may see");
  assert.equal((await w.networks.listNetworks({ ids: ["fra1-underlay", "internet"] })).networks.map((n) => n.id), ["fra1-underlay", "internet"], "an admin gets every network named");
  await w.editorB.ips.releaseIP({ project: w.projectB, uuid: ip.uuid });
});

test("children of a super-namespaced network of different projects may overlap", async ({ w }) => {
  await w.network.client(PartitionService, w.admin).createPartition({ id: "fra2", name: "Frankfurt 2" });
  await w.networks.createNetwork({ id: "ns-super", name: "namespaced", type: NetworkType.SUPER_NAMESPACED, partition: "fra2", prefixes: ["100.64.0.0/16"], defaultChildPrefixLength: { ipv4: 24 } });
  const a = (await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra2", name: "ns-a" })).network!;
  const b = (await w.editorB.networks.allocateNetwork({ project: w.projectB, partition: "fra2", name: "ns-b" })).network!;
  assert.equal([a.prefixes, b.prefixes], [["100.64.0.0/24"], ["100.64.0.0/24"]]);
  assert.equal([a.namespace, b.namespace], [w.projectA, w.projectB]);
  assert.not.equal(a.vrf, b.vrf);
  const ipA = (await w.editorA.ips.allocateIP({ project: w.projectA, network: a.id, ip: "100.64.0.10" })).ip!;
  const ipB = (await w.editorB.ips.allocateIP({ project: w.projectB, network: b.id, ip: "100.64.0.10" })).ip!;
  assert.is(ipA.ip, ipB.ip);
  await w.editorA.ips.releaseIP({ project: w.projectA, uuid: ipA.uuid });
  await w.editorB.ips.releaseIP({ project: w.projectB, uuid: ipB.uuid });
  await w.editorA.networks.deleteNetwork({ id: a.id, project: w.projectA });
  await w.editorB.networks.deleteNetwork({ id: b.id, project: w.projectB });
  assert.not.ok((await w.ipam.listNamespaces({})).namespaces.some((n) => n.name === w.projectA), "the project's namespace went with its last child");
});

test("permissions: editors cannot create base networks nor touch another project's network", async ({ w }) => {
  assert.is((await failure(w.editorA.networks.createNetwork({ name: "super", type: NetworkType.SUPER, partition: "fra1", prefixes: ["10.9.0.0/16"], defaultChildPrefixLength: { ipv4: 24 } }))).code, Code.PermissionDenied);
  assert.is((await failure(w.editorA.networks.allocateNetwork({ project: w.projectB, partition: "fra1", name: "sneaky" }))).code, Code.PermissionDenied);
  assert.is((await failure(w.editorA.networks.updateNetwork({ id: "fra1-super", project: w.projectA, name: "mine" }))).code, Code.PermissionDenied);
  assert.is((await failure(w.editorA.networks.deleteNetwork({ id: "internet", project: w.projectA }))).code, Code.PermissionDenied);
  const viewer = w.network.client(NetworkService, await w.network.projectToken(w.projectA, "viewer"));
  assert.is((await failure(viewer.allocateNetwork({ project: w.projectA, partition: "fra1", name: "viewers cannot" }))).code, Code.PermissionDenied);
});

test("freeing is refused while IPs use the network, then releases prefixes and VRF and records the events", async ({ w }) => {
  const net = (await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "short-lived" })).network!;
  const ip = (await w.editorA.ips.allocateIP({ project: w.projectA, network: net.id })).ip!;
  const busy = await failure(w.editorA.networks.deleteNetwork({ id: net.id, project: w.projectA }));
  assert.is(busy.code, Code.FailedPrecondition);
  assert.match(busy.message, "1 IPs");
  assert.is((await failure(w.networks.deleteNetwork({ id: "fra1-super" }))).code, Code.FailedPrecondition, "a super with children stays");
  await w.editorA.ips.releaseIP({ project: w.projectA, uuid: ip.uuid });
  await w.editorA.networks.deleteNetwork({ id: net.id, project: w.projectA });
  assert.is((await w.ipam.listPrefixes({ requestId: `${net.id}-v4` })).prefixes.length, 0, "the child prefix went back to IPAM");
  assert.is(await count(w.network, `SELECT count(*) FROM vrfs WHERE vrf = ${net.vrf}`), 0, "the VRF went back to the pool");
  const topics = (await w.network.service.pool.query("SELECT topic FROM outbox WHERE key = $1 ORDER BY id", [`network/${net.id}`])).rows.map((r) => r.topic);
  assert.equal(topics, ["network.allocated", "network.deleted"]);
  const ipTopics = (await w.network.service.pool.query("SELECT topic FROM outbox WHERE key = $1 ORDER BY id", [`ip/${ip.uuid}`])).rows.map((r) => r.topic);
  assert.equal(ipTopics, ["ip.allocated", "ip.released"]);
});

test("updates: names and labels, destination prefixes of known families, prefixes only while unused", async ({ w }) => {
  const updated = (await w.networks.updateNetwork({ id: "internet", name: "the internet", labels: { set: { tier: "edge" }, remove: [] }, addDestinationPrefixes: ["1.0.0.0/8"] })).network!;
  assert.is(updated.name, "the internet");
  assert.equal(updated.labels, { tier: "edge" });
  assert.equal(updated.destinationPrefixes, ["0.0.0.0/0", "1.0.0.0/8"]);
  assert.is(field(await failure(w.networks.updateNetwork({ id: "internet", addDestinationPrefixes: ["::/0"] }))), "add_destination_prefixes");
  await w.networks.updateNetwork({ id: "internet", addPrefixes: ["185.1.3.0/24"] });
  const ip = (await w.ips.allocateIP({ project: w.projectA, network: "internet", ip: "185.1.3.7" })).ip!;
  assert.is((await failure(w.networks.updateNetwork({ id: "internet", removePrefixes: ["185.1.3.0/24"] }))).code, Code.FailedPrecondition);
  await w.ips.releaseIP({ uuid: ip.uuid });
  assert.equal((await w.networks.updateNetwork({ id: "internet", removePrefixes: ["185.1.3.0/24"] })).network?.prefixes, ["185.1.2.0/24"]);
  assert.is((await failure(w.ipam.getPrefix({ cidr: "185.1.3.0/24" }))).code, Code.NotFound);
});

test("every change is audited with who did it", async ({ w }) => {
  await new Promise((r) => setTimeout(r, 400));
  const log = await readAuditLog(w.network.service.pool, 500);
  assert.ok(log.some((r) => r.method.endsWith("/AllocateNetwork") && r.principal.startsWith("user:editor-of-") && r.outcome === "ok"));
  assert.ok(log.some((r) => r.method.endsWith("/CreateNetwork") && r.outcome === "permission_denied"));
});

test("state survives a restart", async ({ w }) => {
  const before = (await w.networks.listNetworks({})).networks.map((n) => [n.id, n.vrf]);
  await w.network.restart();
  const after = (await w.network.client(NetworkService, w.admin).listNetworks({})).networks.map((n) => [n.id, n.vrf]);
  assert.equal(after, before);
});

test.run();
