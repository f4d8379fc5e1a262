// The FRR renderers: golden files for representative topologies, the real `vtysh -C` on every
// rendered frr.conf, byte-identical output, stable VLANs, and the properties the configs must have.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { sh } from "@bulkhead/testkit";
import { VlansExhausted, assignVlans, firewallLeaks, onlyRouteTargets, renderFirewallFrr, renderFirewallInterfaces, compileFirewall, renderMachineFrr, renderSwitch, SWITCH_FILES, type SwitchModel } from "../src/index.js";
import { firewalls, machines, switches } from "./frr-models.js";
import { tenant } from "./models.js";

const test = suite("FRR renderers");
const FRR = SWITCH_FILES.frr;
const IFACES = SWITCH_FILES.interfaces;

/** Every file every model renders, by golden file name. */
function rendered(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, model] of Object.entries(switches)) {
    for (const [path, text] of Object.entries(renderSwitch(model).files)) files.set(`${name}.${path.split("/")[1]}`, text);
  }
  for (const [name, model] of Object.entries(firewalls)) {
    files.set(`${name}.frr.conf`, renderFirewallFrr(model));
    files.set(`${name}.interfaces`, renderFirewallInterfaces(model));
  }
  for (const [name, model] of Object.entries(machines)) files.set(`${name}.frr.conf`, renderMachineFrr(model));
  return files;
}

test("each topology renders to its golden files (BULKHEAD_UPDATE_GOLDEN=1 rewrites them)", () => {
  const dir = new URL("./golden/frr/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of rendered()) {
    if (process.env.BULKHEAD_UPDATE_GOLDEN === "1") writeFileSync(new URL(name, dir), text);
    assert.fixture(text, readFileSync(new URL(name, dir), "utf8"), name);
  }
});

test("every rendered frr.conf passes FRR's own `vtysh -C -f`", async () => {
  for (const [name, text] of rendered()) {
    if (!name.endsWith(".frr.conf")) continue;
    const file = join(tmpdir(), `bulkhead-${process.pid}-${name}`);
    writeFileSync(file, text);
    await sh("vtysh", "-C", "-f", file).catch((error: Error) => assert.unreachable(`${name}: ${error.message}`));
  }
  const broken = join(tmpdir(), `bulkhead-${process.pid}-broken.conf`);
  writeFileSync(broken, "router bgp 1\n neighbor swp1 interfacee peer-group X\n");
  assert.ok(await sh("vtysh", "-C", "-f", broken).then(() => false, () => true), "and vtysh does reject a broken one");
});

/** ifupdown2 as scripts/ifupdown2.sh unpacks it (bash .ci/run does). */
const IFUPDOWN2 = process.env.BULKHEAD_IFUPDOWN2 ?? fileURLToPath(new URL("../../../.tools/ifupdown2", import.meta.url));

/**
 * ifupdown2's own syntax check (`ifup -a -s -i file`): its parser and every addon's check of the
 * values it knows. In a mount namespace of its own with a private /run, where it takes its lock.
 */
async function ifupSyntaxCheck(file: string): Promise<void> {
  const main = join(IFUPDOWN2, "usr/share/ifupdown2/__main__.py");
  if (!existsSync(main)) assert.unreachable(`ifupdown2 is not unpacked at ${IFUPDOWN2}: run scripts/ifupdown2.sh`);
  const dir = mkdtempSync(join(tmpdir(), "bulkhead-ifup-"));
  try {
    symlinkSync(main, join(dir, "ifup")); // ifupdown2 acts by the name it is called by
    await sh("unshare", "--mount", "sh", "-c", `mount -t tmpfs none /run && mkdir -p /run/network && PYTHONPATH='${IFUPDOWN2}/usr/share' python3 '${dir}/ifup' -a -s -i '${file}'`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("every rendered interfaces file passes ifupdown2's own syntax check (`ifup -a -s`), and it does reject a broken one", async () => {
  let checked = 0;
  for (const [name, text] of rendered()) {
    if (!name.endsWith(".interfaces")) continue;
    const file = join(tmpdir(), `bulkhead-${process.pid}-${name}`);
    writeFileSync(file, text);
    await ifupSyntaxCheck(file).catch((error: Error) => assert.unreachable(`${name}: ${error.message}`));
    rmSync(file);
    checked++;
  }
  assert.ok(checked >= 8, `${checked} interfaces files`);
  const broken = join(tmpdir(), `bulkhead-${process.pid}-broken.interfaces`);
  writeFileSync(broken, "auto swp1\niface swp1\n    mtu 9000x\n    vrf\n");
  const error = await ifupSyntaxCheck(broken).then(() => undefined, (e: Error) => e);
  rmSync(broken);
  assert.match(error?.message ?? "", "invalid syntax 'vrf'");
});

test("the same device in any order renders byte-identically", () => {
  for (const model of Object.values(switches)) {
    const shuffled: SwitchModel = { ...model, ports: [...model.ports].reverse(), vrfs: [...model.vrfs].reverse().map((v) => ({ ...v, imports: [...v.imports].reverse(), prefixes: [...v.prefixes].reverse() })), externalSessions: [...model.externalSessions].reverse() };
    assert.equal(renderSwitch(shuffled), renderSwitch(model));
  }
  for (const model of Object.values(firewalls)) assert.is(renderFirewallFrr({ ...model, networks: [...model.networks].reverse(), uplinks: [...model.uplinks].reverse() }), renderFirewallFrr(model));
});

test("VLANs stay with their VRF across renders; new VRFs take the lowest free one", () => {
  const first = renderSwitch(switches["many-tenants"]!);
  assert.equal(first.vlans, { "12": 1005, "30": 1002, "31": 1001 }, "kept the given ones, gave 30 the lowest free");
  const grown = renderSwitch({ ...switches["many-tenants"]!, vlans: first.vlans, ports: [...switches["many-tenants"]!.ports, { name: "swp5", role: "machine", adminUp: true, vrf: 7, allowedPrefixes: ["10.0.20.0/22"], firewallVnis: [] }] });
  assert.equal(grown.vlans, { "7": 1003, "12": 1005, "30": 1002, "31": 1001 }, "a lower VRF id does not shift the others");
  assert.throws(() => assignVlans(Array.from({ length: 1001 }, (_, i) => i + 1), {}), (e: unknown) => e instanceof VlansExhausted);
  assert.is(assignVlans(Array.from({ length: 1000 }, (_, i) => i + 1), {}).get(1000), 2000, "1,000 VRFs fit");
});

test("leaf: each machine port has its own filter and a maximum-prefix its filter can reach; firewall ports get underlay-only in, their VNIs out, and in EVPN only type-5 routes of their VNIs with their route-targets; down ports are left out", () => {
  const single = renderSwitch(switches["single-tenant"]!).files;
  assert.match(single[FRR], "ip prefix-list swp1-in seq 10 permit 10.0.0.0/22 le 32");
  assert.match(single[FRR], "ip prefix-list swp1-in seq 12 permit 185.1.2.7/32");
  assert.not.match(single[FRR], "swp2-in seq 12", "swp2 may not announce swp1's extra address");
  assert.match(single[FRR], "  neighbor swp1 maximum-prefix 24000\n", "a /12 announceable lets swp1 through up to the cap");
  assert.match(single[FRR], "  neighbor swp2 maximum-prefix 24000\n");
  assert.match(single[FRR], " no bgp default ipv4-unicast\n", "no family is active by default");
  assert.not.match(single[FRR], "swp4");
  assert.match(single[IFACES], "auto swp4\niface swp4\n    link-down yes");
  assert.match(single[IFACES], "auto swp3\niface swp3\n    mtu 9000\n    bridge-access 4000");
  assert.match(single[FRR], "redistribute connected route-map LOOPBACKS", "only the loopback goes into BGP, never management");
  const many = renderSwitch(switches["many-tenants"]!).files[FRR];
  assert.match(many, "ip prefix-list fw-swp4-in seq 10 permit 10.255.0.7/32\n");
  assert.match(many, "route-map fw-swp4-vni permit 10\n match evpn vni 12\nexit\nroute-map fw-swp4-vni permit 20\n match evpn vni 30\nexit\nroute-map fw-swp4-vni permit 30\n match evpn vni 104009\nexit");
  assert.match(many, "  neighbor swp4 route-map fw-swp4-evpn-in in\n");
  assert.match(many, "route-map fw-swp4-evpn-in permit 10\n match evpn route-type prefix\n match evpn vni 12\n match extcommunity fw-swp4-rt\nexit");
  assert.match(many, "  neighbor swp2 maximum-prefix 2047\n", "a /22: 2,047 routes at most");
  const rt = new RegExp(onlyRouteTargets([12, 30]));
  assert.ok(rt.test("RT:59915:12 ET:8 Rmac:0e:7f:04:ba:64:10"), "a route of VNI 12 with its route-target");
  assert.ok(rt.test("ET:8 RT:1:30 RT:2:12"), "several route-targets, all of served VNIs");
  assert.not.ok(rt.test("RT:59915:12 RT:59915:41 ET:8"), "a second route-target of another VRF is refused");
  assert.not.ok(rt.test("RT:59915:120 ET:8"), "VNI 120 is not VNI 12");
  assert.not.ok(rt.test("ET:8 Rmac:0e:7f:04:ba:64:10"), "no route-target at all is refused");
});

test("SONiC: Vrf<N> names, only Loopback0 into the underlay (management refused first), and CONFIG_DB instead of an interfaces file", () => {
  const out = renderSwitch(switches["sonic-leaf"]!).files;
  assert.equal(Object.keys(out).sort(), [SWITCH_FILES.frr, SWITCH_FILES.configDb]);
  const conf = out[FRR]!;
  assert.match(conf, "vrf Vrf41\n vni 41\nexit-vrf");
  assert.match(conf, "interface Ethernet0 vrf Vrf41\n");
  assert.match(conf, "  import vrf Vrf42\n");
  assert.not.match(conf, /\bvrf\d/, "no Cumulus-style VRF name is left");
  assert.match(conf, "route-map DENY_MGMT deny 10\n match interface eth0\nexit\nroute-map DENY_MGMT permit 20\n match interface Loopback0\nexit");
  const db = JSON.parse(out[SWITCH_FILES.configDb]!) as Record<string, Record<string, Record<string, string>>>;
  assert.equal(db.VRF, { Vrf41: { vni: "41" }, Vrf42: { vni: "42" } });
  assert.equal(db.VLAN_INTERFACE!.Vlan1001, { vrf_name: "Vrf42" }, "VRF 42 keeps the VLAN it had");
  assert.equal(db.VXLAN_TUNNEL_MAP!["vtep|map_41_Vlan1002"], { vlan: "Vlan1002", vni: "41" });
  assert.equal(db.SUPPRESS_VLAN_NEIGH!.Vlan1002, { suppress: "on" });
  assert.equal(db.INTERFACE!.Ethernet0, { ipv6_use_link_local_only: "enable", vrf_name: "Vrf41" }, "a machine port is routed in its VRF, link-local for BGP unnumbered");
  assert.equal(db.INTERFACE!.Ethernet8, { ipv6_use_link_local_only: "enable" }, "a firewall port is routed in the default VRF");
  assert.equal(db.VLAN_MEMBER, { "Vlan4000|Ethernet12": { tagging_mode: "untagged" } }, "only the free port boots in the PXE VLAN; the switched-off one is nowhere");
  assert.equal(db.PORT!.Ethernet16, { admin_status: "down", mtu: "9000" });
  assert.equal(db.PORT!.Ethernet120, { admin_status: "up", mtu: "9216" });
  assert.equal(db.VLAN_INTERFACE!["Vlan4000|10.255.254.2/24"], {}, "the PXE VLAN's interface holds the switch's PXE address");
  assert.equal(db.VXLAN_TUNNEL, { vtep: { src_ip: "10.255.255.1" } });
  assert.equal(db.LOOPBACK_INTERFACE, { Loopback0: {}, "Loopback0|10.255.255.1/32": {} });
  const exit = JSON.parse(renderSwitch(switches["external-bgp"]!).files[SWITCH_FILES.configDb]!) as typeof db;
  assert.equal(exit.INTERFACE!["Ethernet4|2001:db8:ffff::/127"], {}, "an external session's port holds the link address in the VRF");
  assert.equal(exit.INTERFACE!.Ethernet4, { vrf_name: "Vrf12" });
});

test("Cumulus: management stays reachable — eth0 in the mgmt VRF, static with its routes or by DHCP — and routed ports get IPv6 back", () => {
  const single = renderSwitch(switches["single-tenant"]!).files[IFACES]!;
  assert.match(single, "auto mgmt\niface mgmt\n    address 127.0.0.1/8\n    address ::1/128\n    vrf-table auto\n");
  assert.match(single, "auto eth0\niface eth0\n    address 192.168.101.12/24\n    gateway 192.168.101.1\n    vrf mgmt\n    post-up ip route add 10.100.0.0/16 via 192.168.101.1 vrf mgmt\n");
  assert.match(single, "auto swp1\niface swp1\n    mtu 9000\n    vrf vrf12\n    post-up sysctl -w net.ipv6.conf.swp1.disable_ipv6=0\n", "a port leaving the PXE bridge for a VRF can speak BGP unnumbered");
  assert.match(single, "auto vlan4000\niface vlan4000\n    mtu 9000\n    address 10.255.254.1/24\n");
  assert.match(single, "auto swp3\niface swp3\n    mtu 9000\n    bridge-access 4000\n", "a free port stays a plain bridge port");
  const many = renderSwitch(switches["many-tenants"]!).files[IFACES]!;
  assert.match(many, "auto eth0\niface eth0 inet dhcp\n    vrf mgmt\n", "no management registered: DHCP in the mgmt VRF, Cumulus' default");
  assert.match(many, "auto swp4\niface swp4\n    mtu 9216\n    post-up sysctl -w net.ipv6.conf.swp4.disable_ipv6=0\n", "nor does a firewall's port");
});

test("peering chain: each VRF imports exactly its direct peers' prefixes, never a peer's peer", () => {
  const conf = renderSwitch(switches["peering-chain"]!).files[FRR];
  const listOf = (name: string) => conf.split("\n").filter((l) => l.startsWith(`ip prefix-list ${name} `));
  assert.equal(listOf("vrf41-import-from-vrf42"), ["ip prefix-list vrf41-import-from-vrf42 seq 10 permit 10.2.0.0/24 le 32"]);
  assert.equal(listOf("vrf43-import-from-vrf42"), ["ip prefix-list vrf43-import-from-vrf42 seq 10 permit 10.2.0.0/24 le 32"]);
  assert.equal(listOf("vrf41-import-from-vrf104009"), ["ip prefix-list vrf41-import-from-vrf104009 seq 10 permit 0.0.0.0/0"], "the default route only");
  assert.not.match(conf, "vrf41-import-from-vrf43");
  assert.not.match(conf, "vrf43-import-from-vrf41");
  const vrf41 = conf.slice(conf.indexOf("router bgp 4200000011 vrf vrf41"), conf.indexOf("exit\n!", conf.indexOf("router bgp 4200000011 vrf vrf41")));
  assert.equal(vrf41.split("\n").filter((l) => l.includes("import vrf")), ["  import vrf vrf42", "  import vrf vrf104009", "  import vrf route-map vrf41-import"]);
});

test("firewall leak rules follow metal-stack, DMZ cases included", () => {
  const leaks = (name: string) => firewallLeaks(firewalls[name]!.networks).map((l) => `${l.target.id}<-${l.source.id}${l.noExport ? " no-export" : ""}: ${l.entries.map((e) => `${e.action} ${e.prefix}`).join(", ")}`);
  assert.equal(leaks("fw-dmz"), [
    "dmz-cluster<-dmz: permit 10.0.4.0/22",
    "dmz-cluster<-internet: deny 185.1.2.10/32, permit 0.0.0.0/0, permit 185.1.2.0/24",
    "dmz<-dmz-cluster: permit 10.0.0.0/22",
    "dmz<-internet: deny 185.1.2.10/32, permit 0.0.0.0/0, permit 185.1.2.0/24",
    "internet<-dmz-cluster: permit 185.1.2.7/32, permit 185.1.2.8/32",
    "internet<-dmz-cluster no-export: permit 10.0.0.0/22",
    "internet<-dmz no-export: permit 10.0.4.0/22",
  ], "one default route for the cluster (the internet's, not the DMZ's too); into the internet only the project's published addresses, exactly");
  assert.equal(leaks("fw-app"), ["app<-dmz: permit 10.0.4.0/22, permit 0.0.0.0/0", "dmz<-app: permit 10.0.16.0/22"], "the app cluster's default route comes from the DMZ, and nothing from the internet");
  const dualStackInternet = { ...firewalls["fw-dmz"]!, networks: firewalls["fw-dmz"]!.networks.map((n) => (n.id === "internet" ? { ...n, destinationPrefixes: ["0.0.0.0/0", "::/0"] } : n)) };
  assert.ok(firewallLeaks(dualStackInternet.networks).some((l) => l.target.id === "dmz" && l.source.id === "internet" && l.entries.some((e) => e.prefix === "0.0.0.0/0")), "a dual-stack internet still gives the DMZ its IPv4 default route (destinations matched prefix by prefix)");
  const conf = renderFirewallFrr(firewalls["fw-dmz"]!);
  assert.match(conf, "route-map vrf104009-import-map permit 20\n match source-vrf vrf12\n match ip address prefix-list vrf104009-import-from-vrf12-no-export\n set community no-export additive\nexit");
  assert.match(conf, "ip prefix-list vrf12-import-from-vrf104009 seq 100 deny 185.1.2.10/32\nip prefix-list vrf12-import-from-vrf104009 seq 101 permit 0.0.0.0/0\n");
  assert.match(conf, " neighbor FABRIC route-map only-self-out out", "towards the leaves only its own routes");
});

test("another project's DMZ on a firewall with the internet is a shared network there: no default route into it, its prefixes never leave", () => {
  const foreign = firewalls["fw-dmz"]!.networks.map((n) => (n.id === "dmz" ? { ...n, dmz: false } : n));
  const leaks = firewallLeaks(foreign).map((l) => `${l.target.id}<-${l.source.id}${l.noExport ? " no-export" : ""}`);
  assert.equal(leaks, ["dmz-cluster<-dmz", "dmz-cluster<-internet", "dmz<-dmz-cluster", "internet<-dmz-cluster", "internet<-dmz-cluster no-export"]);
  const own = compileFirewall(tenant);
  assert.match(own, 'iifname { "vlan20", "vrf20" } oifname { "vlan104009", "vrf104009" }', "the test can fail: its own DMZ has egress");
  const ruleset = compileFirewall({ ...tenant, networks: tenant.networks.map((n) => (n.id === "dmz" ? { ...n, dmz: false } : n)) });
  assert.not.match(ruleset, 'iifname { "vlan20", "vrf20" } oifname', "no egress out of another project's DMZ");
  assert.match(ruleset, 'oifname { "vlan104009", "vrf104009" } ip saddr 10.0.0.0/22 masquerade', "only the primary is masqueraded");
});

test("machine: unnumbered to both leaves, only its own routes out, on-host speakers only from its own addresses", () => {
  const conf = renderMachineFrr(machines["machine-dual"]!);
  assert.match(conf, " bgp router-id 10.0.0.10\n");
  assert.match(conf, " neighbor lan0 interface peer-group TOR\n neighbor lan1 interface peer-group TOR\n");
  assert.match(conf, " bgp listen range 10.0.0.10/32 peer-group LOCAL\n bgp listen range 185.1.2.7/32 peer-group LOCAL\n bgp listen range 2001:db8:0:1::10/128 peer-group LOCAL\n");
  assert.match(renderMachineFrr(machines["machine-v6"]!), " bgp router-id 169.254.255.255\n");
});

test.run();
