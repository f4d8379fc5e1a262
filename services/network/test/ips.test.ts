import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { IPService, IPType } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { count, failure, startWorld, type World } from "./harness.js";

const test = suite<{ w: World; net: string }>("ips", {} as never);
test.before(async (ctx) => {
  ctx.w = await startWorld();
  ctx.net = (await ctx.w.editorA.networks.allocateNetwork({ project: ctx.w.projectA, partition: "fra1", name: "nodes", length: { ipv4: 29 } })).network!.id;
});
test.after(async (ctx) => ctx.w?.stop());

const field = (e: Awaited<ReturnType<typeof failure>>) => e.findDetails(ViolationsSchema)[0]?.violations[0]?.field?.elements.map((x) => x.fieldName).join(".");

test("next free per family (IPv4 by default), specific addresses, taken ones are already_exists", async ({ w, net }) => {
  const a = w.editorA.ips;
  const first = (await a.allocateIP({ project: w.projectA, network: net, name: "node-1" })).ip!;
  assert.is(first.ip, "10.0.0.1");
  assert.is(first.type, IPType.IP_TYPE_EPHEMERAL);
  assert.is((await a.allocateIP({ project: w.projectA, network: net, addressFamily: AddressFamily.IPV6 })).ip?.ip, "2001:db8::1");
  assert.is((await a.allocateIP({ project: w.projectA, network: net, ip: "10.0.0.5", type: IPType.IP_TYPE_STATIC })).ip?.type, IPType.IP_TYPE_STATIC);
  assert.is((await failure(a.allocateIP({ project: w.projectA, network: net, ip: "10.0.0.5" }))).code, Code.AlreadyExists);
  assert.is(field(await failure(a.allocateIP({ project: w.projectA, network: net, ip: "10.0.9.9" }))), "ip");
  assert.is(field(await failure(a.allocateIP({ project: w.projectA, network: net, ip: "10.0.0.6", addressFamily: AddressFamily.IPV6 }))), "address_family");
  assert.equal((await a.listIPs({ project: w.projectA, network: net })).ips.map((i) => i.ip).sort(), ["10.0.0.1", "10.0.0.5", "2001:db8::1"]);
});

test("a full network is resource_exhausted and leaves no half allocation behind", async ({ w, net }) => {
  const a = w.editorA.ips;
  for (;;) {
    const result = await a.allocateIP({ project: w.projectA, network: net }).catch((e) => e);
    if (!("ip" in result)) {
      assert.is(result.code, Code.ResourceExhausted);
      break;
    }
  }
  assert.is(await count(w.network, "SELECT count(*) FROM ips WHERE state <> 'ready'"), 0);
  assert.is(await count(w.network, `SELECT count(*) FROM ips WHERE network = '${net}' AND family = 4`), 6, "a /29 holds 6 addresses");
});

test("a network with several prefixes moves on when one is full", async ({ w }) => {
  await w.networks.createNetwork({ id: "pub", name: "public", type: NetworkType.EXTERNAL, prefixes: ["198.51.100.0/30", "198.51.100.8/30"], vrf: 104050 });
  const got = [];
  for (let i = 0; i < 4; i++) got.push((await w.editorB.ips.allocateIP({ project: w.projectB, network: "pub" })).ip?.ip);
  assert.equal(got, ["198.51.100.1", "198.51.100.2", "198.51.100.9", "198.51.100.10"]);
  assert.is((await failure(w.editorB.ips.allocateIP({ project: w.projectB, network: "pub" }))).code, Code.ResourceExhausted);
});

test("IPs are private to their project; external networks serve every project; supers and underlays serve none", async ({ w, net }) => {
  const ip = (await w.editorB.ips.allocateIP({ project: w.projectB, network: "internet" })).ip!;
  assert.is((await failure(w.editorA.ips.getIP({ project: w.projectA, uuid: ip.uuid }))).code, Code.NotFound);
  assert.is((await failure(w.editorA.ips.releaseIP({ project: w.projectA, uuid: ip.uuid }))).code, Code.NotFound);
  assert.not.ok((await w.editorA.ips.listIPs({ project: w.projectA })).ips.some((i) => i.uuid === ip.uuid));
  const inventory = w.network.client(IPService, await w.network.serviceToken("inventory"));
  const ofBoth = (await inventory.listIPs({ projects: [w.projectA, w.projectB], pageSize: 1000 })).ips;
  assert.ok(ofBoth.some((i) => i.uuid === ip.uuid) && ofBoth.some((i) => i.project === w.projectA), "a service reads several projects' addresses in one list");
  assert.ok(ofBoth.every((i) => i.project === w.projectA || i.project === w.projectB));
  assert.equal((await w.editorA.ips.listIPs({ project: w.projectA, projects: [w.projectB] })).ips, [], "a member naming another project sees none of its addresses");
  assert.ok((await w.editorA.ips.listIPs({ project: w.projectA, projects: [w.projectA, w.projectB] })).ips.every((i) => i.project === w.projectA));
  assert.is((await failure(w.editorB.ips.allocateIP({ project: w.projectB, network: net }))).code, Code.NotFound, "A's unshared network");
  assert.is((await failure(w.editorB.ips.allocateIP({ project: w.projectB, network: "fra1-super" }))).code, Code.FailedPrecondition);
  assert.is((await failure(w.editorB.ips.allocateIP({ project: w.projectB, network: "fra1-underlay" }))).code, Code.NotFound);
  const underlay = (await w.network.client((await import("@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js")).IPService, await w.network.serviceToken("inventory")).allocateIP({ project: w.projectA, network: "fra1-underlay", machine: "fw-1" })).ip!;
  assert.is(underlay.ip, "10.255.0.1", "Bulkhead's inventory takes underlay addresses for firewalls");
});

test("machine-bound addresses are set by Bulkhead and freed with the machine", async ({ w }) => {
  assert.is((await failure(w.editorA.ips.allocateIP({ project: w.projectA, network: "internet", machine: "m1" }))).code, Code.PermissionDenied);
  const inventory = w.network.client((await import("@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js")).IPService, await w.network.serviceToken("inventory"));
  const bound = (await inventory.allocateIP({ project: w.projectA, network: "internet", machine: "m1" })).ip!;
  assert.is((await failure(w.editorA.ips.releaseIP({ project: w.projectA, uuid: bound.uuid }))).code, Code.FailedPrecondition);
  assert.equal((await w.editorA.ips.listIPs({ project: w.projectA, machine: "m1" })).ips.map((i) => i.uuid), [bound.uuid]);
  const onNet = (await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "bound" })).network!;
  const m2 = (await inventory.allocateIP({ project: w.projectA, network: onNet.id, machine: "m2" })).ip!;
  const ofMachines = (await inventory.listIPs({ machines: ["m1", "m2", "m3"] })).ips.map((i) => i.uuid);
  assert.equal(ofMachines.sort(), [bound.uuid, m2.uuid].sort(), "the addresses of several machines in one list");
  const publicOnes = (await inventory.listIPs({ machines: ["m1", "m2"], networkTypes: [NetworkType.EXTERNAL, NetworkType.CHILD_SHARED] })).ips.map((i) => i.uuid);
  assert.equal(publicOnes, [bound.uuid], "only those in external and shared networks");
  const badType = await failure(inventory.listIPs({ networkTypes: [NetworkType.UNSPECIFIED] }));
  assert.equal([badType.code, field(badType)], [Code.InvalidArgument, "network_types"]);
  await inventory.releaseIP({ project: w.projectA, uuid: bound.uuid });
  await inventory.releaseIP({ project: w.projectA, uuid: m2.uuid });
  await w.editorA.networks.deleteNetwork({ project: w.projectA, id: onNet.id });

  // An address the project already holds is bound by the inventory, never by the project itself.
  const own = (await w.editorA.ips.allocateIP({ project: w.projectA, network: "internet" })).ip!;
  assert.is((await failure(w.editorA.ips.updateIP({ project: w.projectA, uuid: own.uuid, machine: "m1" }))).code, Code.PermissionDenied);
  assert.is((await inventory.updateIP({ uuid: own.uuid, machine: "m1" })).ip?.machine, "m1");
  assert.is((await inventory.updateIP({ uuid: own.uuid, machine: "m1" })).ip?.machine, "m1", "binding again is a no-op");
  assert.is((await failure(inventory.updateIP({ uuid: own.uuid, machine: "m2" }))).code, Code.FailedPrecondition, "bound to another machine");
  assert.is((await inventory.updateIP({ uuid: own.uuid, machine: "" })).ip?.machine, "", "unbound");
  const bad = await failure(inventory.updateIP({ uuid: own.uuid, machine: "Not_An_Id" }));
  assert.equal([bad.code, field(bad)], [Code.InvalidArgument, "machine"]);
  await w.editorA.ips.releaseIP({ project: w.projectA, uuid: own.uuid });
});

test("ephemeral addresses can become static, never back; names and labels change", async ({ w }) => {
  const ip = (await w.editorA.ips.allocateIP({ project: w.projectA, network: "internet" })).ip!;
  const updated = (await w.editorA.ips.updateIP({ project: w.projectA, uuid: ip.uuid, type: IPType.IP_TYPE_STATIC, name: "ingress", labels: { set: { role: "lb" }, remove: [] } })).ip!;
  assert.equal([updated.type, updated.name, updated.labels], [IPType.IP_TYPE_STATIC, "ingress", { role: "lb" }]);
  assert.is((await failure(w.editorA.ips.updateIP({ project: w.projectA, uuid: ip.uuid, type: IPType.IP_TYPE_EPHEMERAL }))).code, Code.InvalidArgument);
});

test("a repeated request_id returns the same address", async ({ w }) => {
  const a = (await w.editorA.ips.allocateIP({ project: w.projectA, network: "internet", requestId: "vip-1" })).ip!;
  const b = (await w.editorA.ips.allocateIP({ project: w.projectA, network: "internet", requestId: "vip-1" })).ip!;
  assert.equal([b.uuid, b.ip], [a.uuid, a.ip]);
});

test.run();
