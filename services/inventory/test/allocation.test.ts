// Allocating machines and firewalls to projects: the attachment rules, IPs and ASN, the port
// binding after installation, freeing, and the race for the last free machine.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { MachineRole, MachineService, MachineState, NetworkRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { PortRole, SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IPType } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { failure, startFabric, type Fabric } from "./harness.js";

const test = suite<{ f: Fabric }>("allocation", {} as never);
test.before(async (ctx) => {
  ctx.f = await startFabric();
  await ctx.f.register("m1", [["leaf01", "Eth1/1"], ["leaf02", "Eth1/1"]]);
  await ctx.f.register("m2", [["leaf01", "Eth1/2"], ["leaf02", "Eth1/2"]]);
  await ctx.f.register("fw1", [["leaf01", "Eth1/3"], ["leaf02", "Eth1/3"]]);
  await ctx.f.register("m-lonely", [["leaf03", "Eth1/1"]]);
});
test.after(async (ctx) => ctx.f?.stop());

/** The field a validation or domain error names. */
function fieldOf(error: Awaited<ReturnType<typeof failure>>): string | undefined {
  const violation = error.findDetails(ViolationsSchema)[0]?.violations[0];
  return violation?.field?.elements.map((e) => (e.subscript.case === "index" ? `${e.fieldName}.${e.subscript.value}` : e.fieldName)).join(".");
}

const count = async (f: Fabric, sql: string) => Number((await f.inventory.service.pool.query(sql)).rows[0].count);
const portRoles = async (f: Fabric, device: string) => {
  const view = await f.switches.getSwitchView({ device });
  return Object.fromEntries(view.ports.map((p) => [p.name, p]));
};

test("every attachment rule is enforced by name, and a refused allocation writes nothing", async ({ f }) => {
  const editor = await f.editor(f.projectA);
  const base = { project: f.projectA, partition: "fra1", hostname: "web", image: "ubuntu-24-04", networks: [{ network: f.netA.id, autoAcquire: true }] };
  const partitions = f.network.client(PartitionService, f.admin);
  await partitions.createPartition({ id: "fra2", name: "Frankfurt 2" });
  await f.networks.createNetwork({ id: "super2", name: "super2", type: NetworkType.SUPER, partition: "fra2", prefixes: ["10.8.0.0/16"], defaultChildPrefixLength: { ipv4: 24 } });
  const elsewhere = (await f.networks.allocateNetwork({ project: f.projectA, partition: "fra2", name: "far" })).network!;
  const ipOfB = (await f.ips.allocateIP({ project: f.projectB, network: "internet" })).ip!;
  const ipOfA = (await f.ips.allocateIP({ project: f.projectA, network: "internet" })).ip!;

  const cases: [string, Parameters<typeof editor.allocateMachine>[0], Code, string | undefined, string][] = [
    ["no hostname", { ...base, hostname: "" }, Code.InvalidArgument, "hostname", ""],
    ["no networks", { ...base, networks: [] }, Code.InvalidArgument, "networks", ""],
    ["unknown image", { ...base, image: "windows-95" }, Code.InvalidArgument, "image", "windows-95"],
    ["only an external network", { ...base, networks: [{ network: "internet", autoAcquire: true }] }, Code.InvalidArgument, "networks", "exactly one private network"],
    ["two private networks", { ...base, networks: [{ network: f.netA.id, autoAcquire: true }, { network: f.storageB.id, autoAcquire: true }] }, Code.InvalidArgument, "networks", "exactly one private network"],
    ["a super network", { ...base, networks: [{ network: "super", autoAcquire: true }, ...base.networks] }, Code.InvalidArgument, "networks.0.network", "super network"],
    ["the underlay", { ...base, networks: [...base.networks, { network: "underlay", autoAcquire: true }] }, Code.InvalidArgument, "networks.1.network", "underlay"],
    ["a network listed twice", { ...base, networks: [...base.networks, ...base.networks] }, Code.InvalidArgument, "networks.1.network", "listed twice"],
    ["a private network without an address", { ...base, networks: [{ network: f.netA.id, autoAcquire: false }] }, Code.InvalidArgument, "networks.0.auto_acquire", "needs an address"],
    ["a private network of another partition", { ...base, networks: [{ network: elsewhere.id, autoAcquire: true }] }, Code.InvalidArgument, "networks.0.network", "partition fra2"],
    ["another project's address", { ...base, networks: [...base.networks, { network: "internet", autoAcquire: false }], ips: [ipOfB.uuid] }, Code.InvalidArgument, "ips.0", "no IP"],
    ["an address of a network not attached", { ...base, ips: [ipOfA.uuid] }, Code.InvalidArgument, "ips.0", "does not attach"],
    ["a machine with registration problems", { ...base, machine: "m-lonely" }, Code.FailedPrecondition, undefined, "registration problems"],
    ["a machine of another partition", { ...base, partition: "fra2", networks: [{ network: elsewhere.id, autoAcquire: true }], machine: "m1" }, Code.FailedPrecondition, undefined, "partition fra1"],
    ["a machine that does not exist", { ...base, machine: "m404" }, Code.NotFound, undefined, "m404"],
    ["a partition without free machines", { ...base, partition: "fra2", networks: [{ network: elsewhere.id, autoAcquire: true }] }, Code.ResourceExhausted, undefined, "fra2"],
  ];
  for (const [name, request, code, field, message] of cases) {
    const error = await failure(editor.allocateMachine(request));
    assert.is(error.code, code, `${name}: ${error.message}`);
    if (field) assert.is(fieldOf(error), field, name);
    assert.match(error.rawMessage, message, name);
  }
  // Another project's unshared network reads as not existing, and others' projects are off limits.
  const netOfA = { ...base, project: f.projectB, networks: [{ network: f.netA.id, autoAcquire: true }] };
  const hidden = await failure((await f.editor(f.projectB)).allocateMachine(netOfA));
  assert.equal([hidden.code, fieldOf(hidden)], [Code.InvalidArgument, "networks.0.network"]);
  assert.match(hidden.rawMessage, "there is no network");
  assert.is((await failure(editor.allocateMachine({ ...base, project: f.projectB }))).code, Code.PermissionDenied);
  assert.is((await failure(f.inventory.client(MachineService, await f.inventory.projectToken(f.projectA, "viewer")).allocateMachine(base))).code, Code.PermissionDenied);

  assert.is(await count(f, "SELECT count(*) FROM allocations"), 0, "no allocation was written");
  assert.is(await count(f, "SELECT count(*) FROM machines WHERE state <> 1"), 0, "every machine is still free");
  assert.is(await count(f, "SELECT count(*) FROM outbox WHERE topic LIKE 'machine.allocat%'"), 0);
  assert.is((await f.ips.listIPs({ project: f.projectA })).ips.filter((ip) => ip.machine).length, 0, "no address was bound");
  for (const ip of [ipOfA, ipOfB]) await f.ips.releaseIP({ uuid: ip.uuid });
  await f.networks.deleteNetwork({ id: elsewhere.id });
});

test("a machine gets one IP per family of each network and an ASN; installed, its ports join its VRF", async ({ f }) => {
  const editor = await f.editor(f.projectA);
  const request = {
    project: f.projectA,
    partition: "fra1",
    machine: "m1",
    hostname: "web-1",
    image: "ubuntu-24-04",
    networks: [{ network: f.netA.id, autoAcquire: true }, { network: "internet", autoAcquire: true }],
    sshPublicKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample"],
    requestId: "web-1",
  };
  const machine = (await editor.allocateMachine(request)).machine!;
  const allocation = machine.allocation!;
  assert.is(machine.state, MachineState.ALLOCATED);
  assert.ok(allocation.asn >= 4210000001 && allocation.asn <= 4210131072, `ASN ${allocation.asn} comes from the pool`);
  const [own, internet] = allocation.networks;
  assert.equal([own?.network, own?.role, own?.vrf, own?.ips.length], [f.netA.id, NetworkRole.PRIVATE_PRIMARY, f.netA.vrf, 2], "dual stack: one IPv4 and one IPv6 address");
  assert.ok(own!.ips.some((ip) => ip.includes(":")) && own!.ips.some((ip) => ip.startsWith("10.0.")));
  assert.equal([internet?.role, internet?.ips.length], [NetworkRole.EXTERNAL, 1]);
  const addresses = (networks: typeof allocation.networks) => networks.map((n) => [n.network, [...n.ips].sort()]);
  assert.equal(addresses(allocation.networks), addresses((await f.machines.getMachine({ id: "m1" })).machine!.allocation!.networks), "the answer's addresses are those a read finds");
  assert.equal((await editor.allocateMachine(request)).machine?.allocation?.asn, allocation.asn, "a retried request returns the same allocation");
  assert.is((await f.ips.listIPs({ machine: "m1" })).ips.length, 3, "and took no more addresses");

  const event = (await f.inventory.service.pool.query("SELECT payload FROM outbox WHERE topic = 'machine.allocated'")).rows[0]?.payload;
  assert.equal([event.machine, event.project, event.switches, event.primary], ["m1", f.projectA, ["leaf01", "leaf02"], f.netA.id]);
  assert.is((await portRoles(f, "leaf01")).swp1?.role, PortRole.UNPROVISIONED, "not installed yet: still in the PXE VLAN");
  assert.is((await failure((await f.editor(f.projectB)).getMachine({ project: f.projectB, id: "m1" }))).code, Code.NotFound, "another project does not see it");

  const agent = f.inventory.client(MachineService, await f.inventory.agentToken("m1"));
  await agent.reportInstallation({ device: "m1", succeeded: false, message: "disk not found" });
  assert.is((await f.machines.getMachine({ id: "m1" })).machine?.state, MachineState.ALLOCATED, "a failed installation changes nothing");
  assert.is((await agent.reportInstallation({ device: "m1", succeeded: true })).machine?.state, MachineState.INSTALLED);
  for (const leaf of ["leaf01", "leaf02"]) {
    const port = (await portRoles(f, leaf)).swp1!;
    assert.equal([port.role, port.vrf, port.network, port.project, port.machine], [PortRole.MACHINE, f.netA.vrf, f.netA.id, f.projectA, "m1"], leaf);
    const expected = [...f.netA.prefixes, "10.240.0.0/12", `${internet!.ips[0]}/32`];
    assert.equal([...port.allowedPrefixes].sort(), expected.sort(), "own prefixes, the super network's announceable CIDRs and the project's other IPs");
  }
  const view = await f.switches.getSwitchView({ device: "leaf01" });
  assert.equal(view.vrfs.map((v) => [v.vrf, v.network]), [[f.netA.vrf, f.netA.id]]);
  const machineView = await agent.getMachineView({ device: "m1" });
  assert.equal(machineView.uplinks.map((u) => `${u.switch}/${u.port}`), ["leaf01/swp1", "leaf02/swp1"]);
  assert.is(machineView.underlayIps.length, 0);
  assert.is((await failure(agent.reportInstallation({ device: "m1", succeeded: true }))).code, Code.FailedPrecondition, "installed once");
});

test("a firewall gets the underlay added and its ports carry the VNIs of its networks", async ({ f }) => {
  const editor = await f.editor(f.projectA);
  const base = { project: f.projectA, partition: "fra1", machine: "fw1", hostname: "fw-1", image: "ubuntu-24-04" };
  const onlyShared = await failure(editor.allocateFirewall({ ...base, networks: [{ network: f.storageB.id, autoAcquire: true }, { network: "internet", autoAcquire: true }] }));
  assert.equal([onlyShared.code, fieldOf(onlyShared)], [Code.InvalidArgument, "networks"]);
  assert.match(onlyShared.rawMessage, "one unshared private network");

  // A leaf whose router id is the underlay's first address: the firewall's VTEP goes around it.
  await f.inventory.client(SwitchService, await f.inventory.agentToken("leaf08")).registerSwitch({ device: "leaf08", partition: "fra1", rack: "r8", role: SwitchRole.LEAF, asn: 4200000098, routerId: "10.255.0.1", os: { vendor: "Cumulus", version: "5.9.1" }, agentVersion: "1.0.0", ports: [{ name: "swp1", identifier: "Eth1/1" }] });
  // A static address the project holds is attached as it is and outlives the firewall.
  const vip = (await f.ips.allocateIP({ project: f.projectA, network: "internet", type: IPType.IP_TYPE_STATIC })).ip!;
  const networks = [{ network: f.netA.id, autoAcquire: true }, { network: f.storageB.id, autoAcquire: true }, { network: "internet", autoAcquire: false }];
  const fw = (await editor.allocateFirewall({ ...base, networks, ips: [vip.uuid] })).machine!;
  const byNetwork = Object.fromEntries(fw.allocation!.networks.map((n) => [n.network, n]));
  assert.equal(Object.keys(byNetwork).sort(), [f.netA.id, f.storageB.id, "internet", "underlay"].sort());
  assert.equal([byNetwork.underlay?.role, byNetwork.underlay?.ips.length], [NetworkRole.UNDERLAY, 1], "one IPv4 VTEP address");
  assert.equal(byNetwork.underlay!.ips, ["10.255.0.2"], "the lowest underlay address that is no switch's router id");
  const routerIds = new Set((await f.switches.listSwitches({ partition: "fra1" })).switches.map((s) => s.routerId));
  assert.not.ok(routerIds.has(byNetwork.underlay!.ips[0]!), "a firewall's VTEP is never a switch's router id");
  assert.equal(byNetwork[f.storageB.id]?.role, NetworkRole.PRIVATE_SECONDARY_SHARED);
  assert.equal(byNetwork.internet?.ips, [vip.ip]);

  const agent = f.inventory.client(MachineService, await f.inventory.agentToken("fw1"));
  await agent.reportInstallation({ device: "fw1", succeeded: true });
  const port = (await portRoles(f, "leaf01")).swp3!;
  assert.equal([port.role, port.vrf, port.allowedPrefixes], [PortRole.FIREWALL, 0, [`${byNetwork.underlay!.ips[0]}/32`]], "default VRF, only its VTEP address");
  assert.equal(port.firewallVnis, [f.netA.vrf, f.storageB.vrf, 104009].sort((a, b) => a - b));
  assert.equal((await agent.getMachineView({ device: "fw1" })).underlayIps, byNetwork.underlay!.ips);
  const machinePort = (await portRoles(f, "leaf01")).swp1!;
  assert.not.ok(machinePort.allowedPrefixes.includes(`${vip.ip}/32`), "a firewall's addresses are not announced by the machines");
});

test("GetSwitchViews answers each switch's view as GetSwitchView does, from one read; unknown switches are listed missing; only services and platform readers may call it", async ({ f }) => {
  const service = f.inventory.client(SwitchService, await f.inventory.serviceToken("reconciler"));
  const devices = ["leaf02", "nope", "leaf01", "leaf03", "spine01"];
  const together = await service.getSwitchViews({ devices });
  assert.equal(together.missing, ["nope"]);
  const alone = await Promise.all(devices.filter((d) => d !== "nope").map((device) => f.switches.getSwitchView({ device })));
  assert.equal(together.views, alone, "the same views, in the request's order");
  assert.ok(together.views[1]!.ports.some((p) => p.role === PortRole.MACHINE), "with an installed machine's port among them");
  assert.ok(together.views[0]!.ports.some((p) => p.role === PortRole.FIREWALL), "and a firewall's");

  const refused = async (client: { getSwitchViews: typeof service.getSwitchViews }) => (await failure(client.getSwitchViews({ devices: ["leaf01"] }))).code;
  assert.is(await refused(f.inventory.client(SwitchService, await f.inventory.agentToken("leaf01"))), Code.PermissionDenied, "an agent reads its own view only, one at a time");
  assert.is(await refused(f.inventory.client(SwitchService, await f.inventory.projectToken(f.projectA, "owner"))), Code.PermissionDenied, "a project owner");
  assert.is(await refused(f.inventory.client(SwitchService, await f.inventory.projectToken(f.projectA, "viewer"))), Code.PermissionDenied, "a project viewer");
  assert.is(await refused(f.inventory.client(SwitchService, "")), Code.Unauthenticated);
  for (const [devices, field] of [[[], "devices"], [["leaf01", "leaf01"], "devices"], [["Leaf 1"], "devices.0"]] as const) {
    const error = await failure(service.getSwitchViews({ devices: [...devices] }));
    assert.equal([error.code, fieldOf(error)], [Code.InvalidArgument, field], JSON.stringify(devices));
  }
});

test("ListMachines by ids lists those of them that exist and match the other filters, in pages; a member sees only its project's; bad ids are refused naming the field", async ({ f }) => {
  const service = f.inventory.client(MachineService, await f.inventory.serviceToken("reconciler"));
  type Request = Parameters<typeof service.listMachines>[0];
  const ids = async (client: { listMachines: typeof service.listMachines }, request: Request) => (await client.listMachines(request)).machines.map((m) => m.id);
  assert.equal(await ids(service, { ids: ["m2", "nope", "m1"] }), ["m1", "m2"]);
  assert.equal(await ids(service, { ids: ["m1", "fw1", "m2"], role: MachineRole.FIREWALL }), ["fw1"]);
  const first = await service.listMachines({ ids: ["m1", "m2", "fw1"], pageSize: 2 });
  assert.equal([first.machines.map((m) => m.id), await ids(service, { ids: ["m1", "m2", "fw1"], pageSize: 2, pageToken: first.nextPageToken })], [["fw1", "m1"], ["m2"]]);
  const viewer = f.inventory.client(MachineService, await f.inventory.projectToken(f.projectA, "viewer"));
  assert.equal(await ids(viewer, { project: f.projectA, ids: ["m1", "m2"] }), ["m1"], "a free machine is no project's");
  const other = f.inventory.client(MachineService, await f.inventory.projectToken(f.projectB, "owner"));
  assert.equal(await ids(other, { project: f.projectB, ids: ["m1", "fw1"] }), [], "another project's machines are not listed");
  for (const [list, field] of [[["m1", "m1"], "ids"], [["M 1"], "ids.0"], [Array.from({ length: 1001 }, (_, i) => `m${i}`), "ids"]] as const) {
    const error = await failure(service.listMachines({ ids: [...list] }));
    assert.equal([error.code, fieldOf(error)], [Code.InvalidArgument, field], list.slice(0, 2).join());
  }
});

test("of many concurrent allocations for the last free machine exactly one wins", async ({ f }) => {
  const editor = await f.editor(f.projectA);
  const boundBefore = (await f.ips.listIPs({ project: f.projectA })).ips.length;
  const attempts = await Promise.allSettled(
    Array.from({ length: 8 }, (_, i) => editor.allocateMachine({ project: f.projectA, partition: "fra1", hostname: `race-${i}`, image: "ubuntu-24-04", networks: [{ network: f.netA.id, autoAcquire: true }] })),
  );
  const won = attempts.filter((a) => a.status === "fulfilled");
  assert.is(won.length, 1);
  assert.is((won[0] as PromiseFulfilledResult<{ machine?: { id: string } }>).value.machine?.id, "m2");
  for (const lost of attempts.filter((a) => a.status === "rejected")) assert.is((lost as PromiseRejectedResult).reason.code, Code.ResourceExhausted);
  assert.is((await f.ips.listIPs({ project: f.projectA })).ips.length, boundBefore + 2, "only the winner took addresses");
  assert.is(await count(f, "SELECT count(DISTINCT asn) FROM allocations"), 3, "three allocations, three ASNs");
});

test("freeing releases ephemeral IPs and the ASN, keeps static IPs, and returns the ports to PXE", async ({ f }) => {
  const editor = await f.editor(f.projectA);
  const fwIps = (await f.ips.listIPs({ machine: "fw1" })).ips;
  const vip = fwIps.find((ip) => ip.type === IPType.IP_TYPE_STATIC)!;
  const asn = (await f.machines.getMachine({ id: "fw1" })).machine!.allocation!.asn;
  const freed = (await editor.freeMachine({ project: f.projectA, id: "fw1" })).machine!;
  assert.equal([freed.state, freed.allocation], [MachineState.REGISTERED, undefined]);
  assert.is((await f.ips.listIPs({ machine: "fw1" })).ips.length, 0);
  const kept = (await f.ips.getIP({ uuid: vip.uuid })).ip!;
  assert.equal([kept.ip, kept.machine], [vip.ip, ""], "the static address stays the project's, unbound");
  for (const ip of fwIps.filter((x) => x.uuid !== vip.uuid)) assert.is((await failure(f.ips.getIP({ uuid: ip.uuid }))).code, Code.NotFound, `${ip.ip} was released`);
  assert.is(await count(f, `SELECT count(*) FROM allocations WHERE asn = ${asn}`), 0, "the ASN is free");
  assert.equal([(await portRoles(f, "leaf01")).swp3?.role, (await portRoles(f, "leaf02")).swp3?.role], [PortRole.UNPROVISIONED, PortRole.UNPROVISIONED]);
  const event = (await f.inventory.service.pool.query("SELECT payload FROM outbox WHERE topic = 'machine.freed'")).rows[0]?.payload;
  assert.equal([event.machine, event.switches], ["fw1", ["leaf01", "leaf02"]]);

  assert.is((await failure(editor.freeMachine({ project: f.projectA, id: "fw1" }))).code, Code.NotFound, "not allocated any more");
  assert.is((await failure((await f.editor(f.projectB)).freeMachine({ project: f.projectB, id: "m1" }))).code, Code.NotFound, "another project cannot free it");
  assert.is((await failure(f.machines.deleteMachine({ id: "m1" }))).code, Code.FailedPrecondition, "an allocated machine is not deleted");
  await editor.freeMachine({ project: f.projectA, id: "m1" });
  assert.is((await editor.allocateMachine({ project: f.projectA, partition: "fra1", hostname: "again", image: "ubuntu-24-04", networks: [{ network: f.netA.id, autoAcquire: true }] })).machine?.id, "fw1", "freed machines are allocatable again");
  await f.ips.releaseIP({ uuid: vip.uuid });
});

test.run();
