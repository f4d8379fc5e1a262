// The lab's reading of rendered interfaces files and its plan: what it cannot reproduce is an
// error, never skipped; VRFs become namespaces; cables become veths named after their ports.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { planLab, readConfigDb, readInterfaces, type LabInput } from "../src/index.js";

const golden = (name: string) => readFileSync(new URL(`../../render/test/golden/frr/${name}`, import.meta.url), "utf8");
const test = suite("lab planning");

test("every rendered interfaces file is understood: leaves and firewalls", () => {
  for (const name of ["single-tenant", "many-tenants", "dual-stack", "peering-chain", "fw-dmz", "fw-app", "fw-single", "fw-storage"]) {
    const layout = readInterfaces(golden(`${name}.interfaces`));
    assert.equal(layout.errors, [], name);
  }
  const leaf = readInterfaces(golden("peering-chain.interfaces"));
  assert.equal(leaf.vrfs, ["mgmt", "vrf41", "vrf42", "vrf43", "vrf104009"]);
  assert.is(leaf.ports.get("swp1")!.vrf, "vrf41");
  assert.is(leaf.svis.get(1001)!.vrf, "vrf41");
  assert.equal(leaf.vxlans.find((v) => v.vni === 104000)!.access, 4000, "the PXE VNI is in the PXE VLAN");
  const managed = readInterfaces(golden("single-tenant.interfaces"));
  assert.equal(managed.management, { vrf: "mgmt", addresses: ["192.168.101.12/24"], gateway: "192.168.101.1", routes: ["10.100.0.0/16"], dhcp: false });
  assert.ok(managed.ports.get("swp1")!.ipv6, "IPv6 is switched back on where the file says so");
});

test("every rendered CONFIG_DB document is understood, in the same layout", () => {
  for (const name of ["sonic-leaf", "external-bgp"]) assert.equal(readConfigDb(golden(`${name}.config_db.json`)).errors, [], name);
  const leaf = readConfigDb(golden("sonic-leaf.config_db.json"));
  assert.equal(leaf.vrfs, ["Vrf41", "Vrf42"]);
  assert.equal([leaf.ports.get("Ethernet0")!.vrf, leaf.ports.get("Ethernet12")!.access, leaf.ports.get("Ethernet16")!.down], ["Vrf41", 4000, true]);
  assert.equal(leaf.svis.get(1002), { name: "Vlan1002", vlan: 1002, vrf: "Vrf41", addresses: [] });
  assert.equal(leaf.vxlans.find((v) => v.vni === 41), { name: "vni41", vni: 41, access: 1002, learning: false });
  assert.equal([leaf.loopback, leaf.vtep], [["10.255.255.1/32"], "10.255.255.1"]);
  const odd = readConfigDb(JSON.stringify({ ACL_TABLE: { x: {} }, VLAN_MEMBER: { "Vlan7|Ethernet0": { tagging_mode: "tagged" } } }));
  assert.ok(odd.errors.some((e) => /table ACL_TABLE is not understood/.test(e)) && odd.errors.some((e) => /only untagged/.test(e)) && odd.errors.some((e) => /VLAN Vlan7 is not defined/.test(e)), odd.errors.join("\n"));
});

test("what the lab does not understand is an error naming the line", () => {
  const layout = readInterfaces("auto swp1\niface swp1\n    vrf vrf1\n    post-up ip route add 0.0.0.0/0 dev swp1\n");
  assert.ok(layout.errors.some((e) => /line 4: "post-up ip route add 0.0.0.0\/0 dev swp1" in iface swp1 is not understood/.test(e)), layout.errors.join("\n"));
  assert.ok(layout.errors.some((e) => /port swp1 is in vrf1, which is not defined/.test(e)));
  const orphan = readInterfaces("auto lo\niface lo inet loopback\n    address 10.0.0.1/32\n    vxlan-local-tunnelip 10.0.0.1\n\nauto vni5\niface vni5\n    vxlan-id 5\n    bridge-access 7\n");
  assert.ok(orphan.errors.some((e) => /VXLAN device vni5 is no bridge port/.test(e)));
  assert.ok(readInterfaces("iface swp2\n    mtu 9000\n").errors.some((e) => /not marked auto/.test(e)));
});

const input = (): LabInput => ({
  partition: "p",
  devices: [{ id: "leaf04", kind: "leaf", files: { "frr/frr.conf": golden("peering-chain.frr.conf"), "network/interfaces": golden("peering-chain.interfaces") }, uplinks: ["swp31", "swp32"] }],
  machines: [{ id: "m1", frr: "frr defaults datacenter\n", addresses: ["10.1.0.10"] }],
  cables: [{ switch: "leaf04", port: "swp1", machine: "m1", nic: "lan0" }],
  spines: [{ id: "spine1", asn: 4200000000, routerId: "10.255.254.1" }],
  records: { networks: [], peerings: [], machines: [], policies: [] },
});

test("VRFs are namespaces, a machine's port lives in its VRF's, uplinks go to the spines round robin", () => {
  const plan = planLab(input(), "bhlt01");
  assert.equal(plan.errors, []);
  const leaf = plan.routers.find((r) => r.name === "leaf04")!;
  assert.is(leaf.ns, "bhlt01-leaf04");
  assert.equal(Object.keys(leaf.vrfs), ["mgmt", "vrf41", "vrf42", "vrf43", "vrf104009"]);
  assert.equal(leaf.ports.swp1, { ns: "bhlt01-leaf04.vrf41", vrf: "vrf41", peer: { router: "m1", port: "lan0" } });
  assert.equal(leaf.ports.swp31!.peer, { router: "spine1", port: "swp1" });
  assert.equal(leaf.ports.swp32!.peer, { router: "spine1", port: "swp2" });
  assert.ok(plan.namespaces.every((n) => n.startsWith("bhlt01-")), "every namespace carries the run's prefix");
  assert.ok(plan.commands.some((c) => c.join(" ") === "ip link add swp1 netns bhlt01-leaf04.vrf41 type veth peer name lan0 netns bhlt01-m1"));
  assert.ok(plan.commands.some((c) => c.join(" ") === "ip -n bhlt01-leaf04 link set vni41 netns bhlt01-leaf04.vrf41"), "a VXLAN device is made where the underlay is, then moved into its VRF");
  assert.ok(leaf.live.includes("swp1") && !leaf.live.includes("swp2"), "only ports with a router at the other end carry sessions that must come up");
});

test("a cable to a switch the lab does not have is an error", () => {
  const broken = input();
  broken.cables.push({ switch: "leaf99", port: "swp1", machine: "m1", nic: "lan1" });
  assert.ok(planLab(broken, "bhlt02").errors.some((e) => /cable leaf99 swp1: no such switch/.test(e)));
});

test.run();
