import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { ImageService, MachineService, RegistrationProblemKind as Kind } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { PortRole, PortState, SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { encodePageToken } from "@bulkhead/service-kit";
import { walkPages } from "@bulkhead/testkit";
import { failure, isUplink, leafPorts, startFabric, type Fabric } from "./harness.js";

const test = suite<{ f: Fabric }>("switches and the connection map", {} as never);
test.before(async (ctx) => {
  ctx.f = await startFabric();
});
test.after(async (ctx) => ctx.f?.stop());

const kinds = (m: { problems: { kind: Kind }[] } | undefined) => m!.problems.map((p) => p.kind).sort();

test("a machine cabled to two leaves of a rack gets its connections, partition and rack from LLDP", async ({ f }) => {
  const { machine } = await f.register("m1", [["leaf01", "Eth1/1"], ["leaf02", "Eth1/1"], ["", ""]]);
  assert.equal(machine?.connections.map((c) => `${c.nic}>${c.switch}/${c.port}`), ["lan0>leaf01/swp1", "lan1>leaf02/swp1"]);
  assert.equal([machine?.partition, machine?.rack, machine?.problems.length], ["fra1", "r1", 0]);
  const map = (await f.switches.listConnectedMachines({ switch: "leaf01" })).connections;
  assert.equal(map.map((c) => [c.machine, c.port]), [["m1", "swp1"]]);
  assert.is((await f.machines.getMachine({ id: "m1" })).machine?.state, 1);
});

test("every cabling problem is reported by name, not silently accepted", async ({ f }) => {
  assert.equal(kinds((await f.register("m-unknown", [["leaf09", "Eth1/2"], ["leaf02", "Eth1/2"]])).machine), [Kind.UNKNOWN_SWITCH, Kind.NOT_DUAL_HOMED]);
  assert.equal(kinds((await f.register("m-badport", [["leaf01", "Eth9/9"], ["leaf02", "Eth1/3"]])).machine), [Kind.UNKNOWN_PORT, Kind.NOT_DUAL_HOMED]);
  assert.equal(kinds((await f.register("m-single", [["leaf01", "Eth1/3"]])).machine), [Kind.NOT_DUAL_HOMED]);
  const taken = (await f.register("m-taken", [["leaf01", "Eth1/1"], ["leaf02", "Eth1/4"]])).machine!;
  assert.equal(kinds(taken), [Kind.PORT_TAKEN, Kind.NOT_DUAL_HOMED]);
  assert.match(taken.problems[0]!.message, "machine m1");
  assert.equal(kinds((await f.register("m-racks", [["leaf01", "Eth1/4"], ["leaf03", "Eth1/1"]])).machine), [Kind.RACK_MISMATCH]);
  assert.equal(kinds((await f.register("m-spine", [["spine01", "Eth1/1"], ["leaf03", "Eth1/2"]])).machine), [Kind.NOT_DUAL_HOMED, Kind.NOT_A_LEAF]);
  assert.equal(kinds((await f.register("m-dark", [["", ""], ["", ""]])).machine), [Kind.NO_NEIGHBOR, Kind.NOT_DUAL_HOMED]);
  // Ports named by their name instead of their identifier match as well.
  assert.is((await f.register("m-byname", [["leaf03", "swp3"], ["leaf03", "swp4"]])).machine?.problems.map((p) => p.kind).join(), String(Kind.NOT_DUAL_HOMED), "two NICs on one leaf are not dual homing");
  // Deleting the machines gives their ports back.
  for (const id of ["m-unknown", "m-badport", "m-single", "m-taken", "m-racks", "m-spine", "m-dark", "m-byname"]) await f.machines.deleteMachine({ id });
  const cabled = await f.switches.listConnectedMachines({});
  assert.equal(cabled.connections.map((c) => c.machine), ["m1", "m1"]);
});

test("re-cabling replaces the map and emits an event naming old and new switches", async ({ f }) => {
  await f.register("m2", [["leaf01", "Eth1/2"], ["leaf02", "Eth1/2"]]);
  const { machine } = await f.register("m2", [["leaf01", "Eth1/4"], ["leaf02", "Eth1/3"]]);
  assert.equal(machine?.connections.map((c) => `${c.switch}/${c.port}`), ["leaf01/swp4", "leaf02/swp3"]);
  assert.not.ok((await f.switches.listConnectedMachines({ machine: "m2" })).connections.some((c) => c.port === "swp2"));
  const events = (await f.inventory.service.pool.query("SELECT topic, payload FROM outbox WHERE key = 'machine/m2' ORDER BY id")).rows;
  assert.equal(events.map((e) => e.topic), ["machine.registered", "machine.recabled"]);
  assert.equal(events[1].payload.switches, ["leaf01", "leaf02"]);
  const again = (await f.register("m2", [["leaf01", "Eth1/4"], ["leaf02", "Eth1/3"]])).machine;
  assert.is(again?.connections.length, 2);
  assert.is((await f.inventory.service.pool.query("SELECT count(*)::int AS n FROM outbox WHERE key = 'machine/m2'")).rows[0].n, 2, "an unchanged registration emits nothing");
});

test("switch registration is idempotent, keeps port state, and refuses to drop a cabled port", async ({ f }) => {
  const agent = f.inventory.client(SwitchService, await f.inventory.agentToken("leaf01"));
  const base = { device: "leaf01", partition: "fra1", rack: "r1", role: SwitchRole.LEAF, asn: 4200000011, routerId: "10.255.255.1", os: { vendor: "Cumulus", version: "5.9.1" }, agentVersion: "1.0.1" };
  await f.switches.setPortAdminState({ id: "leaf01", port: "swp3", adminState: PortState.DOWN });
  const again = (await agent.registerSwitch({ ...base, ports: leafPorts.map((name, i) => ({ name, identifier: `Eth1/${i + 1}`, uplink: isUplink(name) })) })).switch!;
  assert.is(again.ports.find((p) => p.name === "swp3")?.adminState, PortState.DOWN, "the operator's port state survives re-registration");
  const dropped = await failure(agent.registerSwitch({ ...base, ports: [{ name: "swp31", identifier: "Eth1/5", uplink: true }] }));
  assert.is(dropped.code, Code.FailedPrecondition);
  assert.is((await failure(f.switches.deleteSwitch({ id: "leaf01" }))).code, Code.FailedPrecondition, "machines are cabled to it");
  await f.switches.setPortAdminState({ id: "leaf01", port: "swp3", adminState: PortState.UP });
});

test("heartbeats record port, BGP and LLDP state; agents act only for their own device", async ({ f }) => {
  const agent = f.inventory.client(SwitchService, await f.inventory.agentToken("leaf02"));
  await agent.switchHeartbeat({
    device: "leaf02",
    agentVersion: "1.0.0",
    runningConfigHash: "b".repeat(64),
    ports: [{ name: "swp1", operState: PortState.UP, bgp: { neighbor: "swp1", peerGroup: "MACHINE", vrf: "vrf1", state: 6, acceptedPrefixes: 3n } }],
    lldpNeighbors: [{ port: "swp1", systemName: "m1", portId: "lan1", chassisId: "aa:bb:cc:00:02:0b" }],
  });
  const sw = (await f.switches.getSwitch({ id: "leaf02" })).switch!;
  assert.is(sw.runningConfigHash, "b".repeat(64));
  assert.is(sw.ports.find((p) => p.name === "swp1")?.bgp?.acceptedPrefixes, 3n);
  assert.is(sw.lldpNeighbors[0]?.systemName, "m1");
  assert.ok(sw.lastHeartbeatAt);
  const unregistered = f.inventory.client(SwitchService, await f.inventory.agentToken("leaf99"));
  assert.is((await failure(unregistered.switchHeartbeat({ device: "leaf99", agentVersion: "1.0.0" }))).code, Code.NotFound, "an unregistered switch registers first");
  assert.is((await failure(agent.switchHeartbeat({ device: "leaf01", agentVersion: "1.0.0" }))).code, Code.PermissionDenied);
  assert.is((await failure(agent.getSwitchView({ device: "leaf01" }))).code, Code.PermissionDenied);
  assert.ok((await agent.getSwitchView({ device: "leaf02" })).switch);
  const machineAgent = f.inventory.client(MachineService, await f.inventory.agentToken("m1"));
  assert.is((await failure(machineAgent.registerMachine({ device: "m2", nics: [{ name: "lan0", mac: "aa:bb:cc:dd:ee:ff" }] }))).code, Code.PermissionDenied);
  assert.is((await failure(machineAgent.reportInstallation({ device: "m2", succeeded: true }))).code, Code.PermissionDenied);
});

test("ports of a registered machine are unprovisioned (PXE), uplinks are fabric", async ({ f }) => {
  const view = await f.switches.getSwitchView({ device: "leaf01" });
  const role = (name: string) => view.ports.find((p) => p.name === name)?.role;
  assert.equal([role("swp1"), role("swp31"), role("swp3")], [PortRole.UNPROVISIONED, PortRole.FABRIC, PortRole.UNSPECIFIED]);
  assert.is(view.ports.find((p) => p.name === "swp1")?.machine, "m1");
});

test("the registered OS chooses the flavour: an unknown OS, a foreign port name or a management gateway off its network is invalid_argument naming the field, nothing written", async ({ f }) => {
  const agent = f.inventory.client(SwitchService, await f.inventory.agentToken("leaf07"));
  const base = { device: "leaf07", partition: "fra1", rack: "r7", role: SwitchRole.LEAF, asn: 4200000077, routerId: "10.255.0.77", agentVersion: "1.0.0" };
  const sonic = { ...base, os: { vendor: "SONiC", version: "202411" }, ports: [{ name: "Ethernet0", identifier: "Eth1/1" }, { name: "Ethernet4", identifier: "Eth1/2" }] };
  const cases: [string, Parameters<typeof agent.registerSwitch>[0], string, RegExp][] = [
    ["an unknown vendor", { ...sonic, os: { vendor: "EOS", version: "4.30" } }, "os.vendor", /SONiC|Cumulus/],
    ["no OS", { ...sonic, os: undefined }, "os", /required/],
    ["a SONiC release too old", { ...sonic, os: { vendor: "SONiC", version: "202012" } }, "os.version", /SONiC 202012 is not supported \(supported: SONiC 202111 or later, Cumulus Linux 4.x or 5.x\)/],
    ["Cumulus 3", { ...sonic, os: { vendor: "Cumulus", version: "3.7.16" } }, "os.version", /Cumulus Linux 3\.7\.16 is not supported/],
    ["a Cumulus port name on SONiC", { ...sonic, ports: [{ name: "Ethernet0", identifier: "Eth1/1" }, { name: "swp2", identifier: "Eth1/2" }] }, "ports.1.name", /swp2 is not a port name of SONiC/],
    ["a SONiC port name on Cumulus", { ...sonic, os: { vendor: "Cumulus", version: "5.9.1" } }, "ports.0.name", /Ethernet0 is not a port name of Cumulus/],
    ["a gateway off eth0's network", { ...sonic, management: { address: "192.168.101.12/24", gateway: "192.168.102.1", routes: [] } }, "management.gateway", /not on eth0's network 192\.168\.101\.0\/24/],
    ["management_ip other than eth0's", { ...sonic, managementIp: "192.168.101.13", management: { address: "192.168.101.12/24", gateway: "192.168.101.1", routes: [] } }, "management_ip", /not the management interface's address/],
    ["a management route that is no prefix", { ...sonic, management: { address: "192.168.101.12/24", gateway: "192.168.101.1", routes: ["10.100.0.0"] } }, "management.routes[0]", /prefix/],
    ["a PXE address without its length", { ...sonic, pxeAddress: "10.255.254.7" }, "pxe_address", /prefix/],
  ];
  for (const [what, req, field, message] of cases) {
    const e = await failure(agent.registerSwitch(req));
    assert.is(e.code, Code.InvalidArgument, what);
    assert.ok(e.rawMessage.includes(field), `${what}: ${e.rawMessage}`);
    assert.match(e.rawMessage, message, what);
  }
  assert.not.ok((await f.switches.listSwitches({ partition: "fra1" })).switches.some((s) => s.id === "leaf07"), "nothing was registered");
  const management = { address: "192.168.101.12/24", gateway: "192.168.101.1", routes: ["10.100.0.0/16"] };
  const registered = (await agent.registerSwitch({ ...sonic, management, pxeAddress: "10.255.254.7/24" })).switch!;
  assert.equal([registered.os?.vendor, registered.management?.address, registered.management?.gateway, registered.management?.routes, registered.managementIp, registered.pxeAddress], ["SONiC", "192.168.101.12/24", "192.168.101.1", ["10.100.0.0/16"], "192.168.101.12", "10.255.254.7/24"]);
  const events = async () => (await f.inventory.service.pool.query("SELECT count(*)::int AS n FROM outbox WHERE key = 'switch/leaf07'")).rows[0].n as number;
  const before = await events();
  await agent.registerSwitch({ ...sonic, management, pxeAddress: "10.255.254.7/24" });
  assert.is(await events(), before, "the same registration again changes nothing");
  await agent.registerSwitch({ ...sonic, management: { ...management, routes: [] }, pxeAddress: "10.255.254.7/24" });
  assert.is(await events(), before + 1, "a changed management interface re-renders the switch");
  await f.switches.deleteSwitch({ id: "leaf07" });
});

test("a leaf's router id is its VTEP: inside the partition's underlay, and nobody else's there", async ({ f }) => {
  const register = async (device: string, routerId: string) =>
    f.inventory.client(SwitchService, await f.inventory.agentToken(device)).registerSwitch({ device, partition: "fra1", rack: "r9", role: SwitchRole.LEAF, asn: 4200000099, routerId, os: { vendor: "Cumulus", version: "5.9.1" }, agentVersion: "1.0.0", ports: [{ name: "swp1", identifier: "Eth1/1" }] });
  const outside = await failure(register("leaf09", "10.254.255.9"));
  assert.equal([outside.code, outside.rawMessage.includes("router_id: 10.254.255.9 is outside the underlay of partition fra1")], [Code.InvalidArgument, true], outside.rawMessage);
  const twice = await failure(register("leaf09", "10.255.255.1"));
  assert.equal([twice.code, /already the router id of switch leaf01/.test(twice.rawMessage)], [Code.AlreadyExists, true], twice.rawMessage);
  assert.not.ok((await f.switches.listSwitches({ partition: "fra1" })).switches.some((s) => s.id === "leaf09"), "nothing was registered");
  assert.ok(await register("leaf09", "10.255.0.1"), "an unused underlay address is fine");
});

test("switches, the connection map and images are listed in pages in their order; foreign tokens are invalid_argument", async ({ f }) => {
  const all = (await f.switches.listSwitches({ partition: "fra1", pageSize: 1000 })).switches.map((s) => s.id);
  assert.ok(all.length >= 3, `${all}`);
  const switchIds = await walkPages(2, async (page) => {
    const r = await f.switches.listSwitches({ partition: "fra1", ...page });
    return { items: r.switches, next: r.nextPageToken };
  }, (s) => s.id);
  assert.equal(switchIds, all);
  const cabled = (await f.switches.listConnectedMachines({ pageSize: 1000 })).connections.map((c) => `${c.switch}/${c.port}`);
  assert.ok(cabled.length >= 3, `${cabled}`);
  const connections = await walkPages(2, async (page) => {
    const r = await f.switches.listConnectedMachines(page);
    return { items: r.connections, next: r.nextPageToken };
  }, (c) => `${c.switch}/${c.port}`);
  assert.equal(connections, cabled, "by switch, then port");
  const images = f.inventory.client(ImageService, await f.inventory.adminToken());
  for (const name of ["page-c", "page-a", "page-b"]) await images.createImage({ name, url: `https://images.example.org/${name}.img`, checksum: { algorithm: "sha256", digest: "b".repeat(64) } });
  const imageNames = await walkPages(2, async (page) => {
    const r = await images.listImages(page);
    return { items: r.images, next: r.nextPageToken };
  }, (i) => i.name);
  assert.equal(imageNames.filter((n) => n.startsWith("page-")), ["page-a", "page-b", "page-c"]);
  for (const name of ["page-a", "page-b", "page-c"]) await images.deleteImage({ name });
  for (const bad of [await failure(f.switches.listSwitches({ pageToken: "x" })), await failure(f.switches.listConnectedMachines({ pageToken: encodePageToken("leaf01") })), await failure(images.listImages({ pageToken: encodePageToken(["a", "b"]) }))]) {
    assert.equal([bad.code, bad.rawMessage.startsWith("page_token")], [Code.InvalidArgument, true], bad.rawMessage);
  }
});

test.run();
