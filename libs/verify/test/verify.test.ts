// The verifier passes every correct golden topology and catches every class of injected fault,
// including each isolation hole found on real FRR (external peering as a transit hub, hijackable
// external sessions, unfiltered firewall EVPN, the PXE VNI in the VRF pool, per-port filters
// admitting other networks, firewalls dropping VXLAN, two default routes) and anything it does
// not understand.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { indexFacts, verifyDifferential, verifyPartition, type DeviceConfig, type Finding } from "../src/index.js";
import { topologies, type Topology } from "./topologies.js";

const show = (findings: Finding[]) => findings.map((f) => `${f.property} ${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`).join("\n");

const clean = suite("correct configurations");
for (const [name, make] of Object.entries(topologies)) {
  clean(`${name}: no findings`, () => {
    const t = make();
    const { findings } = verifyPartition(t.devices, t.facts);
    assert.equal(findings.length, 0, show(findings));
  });
}
clean.run();

/** Edits one file of one device of a topology (or its facts). */
function mutate(name: string, device: string, path: string, edit: (text: string) => string): Topology {
  const t = topologies[name]!();
  const d = t.devices.find((x) => x.device === device)! as DeviceConfig;
  const file = d.files.find((f) => f.path === path)!;
  const changed = edit(file.content);
  if (changed === file.content) throw new Error(`the mutation of ${device} ${path} changed nothing`);
  file.content = changed;
  return t;
}
const replace = (from: string | RegExp, to: string) => (text: string) => text.replace(from, to);
/** The topology's configs unchanged, its DMZ now another project's: the firewall may no longer be its exit. */
function foreignDmz(name: string): Topology {
  const t = topologies[name]!();
  t.facts.networks = t.facts.networks.map((n) => (n.id === "dmz" ? { ...n, project: "px" } : n));
  return t;
}
const frr = "frr/frr.conf";
const ifaces = "network/interfaces";
const nft = "nftables/bulkhead.nft";
const configDb = "sonic/config_db.json";
/** Edits one table entry of a CONFIG_DB document (undefined fields: removes the entry). */
const entry = (table: string, key: string, fields: Record<string, string> | undefined) => (text: string) => {
  const db = JSON.parse(text) as Record<string, Record<string, Record<string, string>>>;
  db[table] ??= {};
  if (fields) db[table]![key] = fields;
  else delete db[table]![key];
  return `${JSON.stringify(db, null, 2)}\n`;
};

const caught = suite("injected faults");
const faults: { name: string; property: string; object?: string; make: () => Topology }[] = [
  // Ingress filtering.
  { name: "a widened machine prefix list", property: "ingress-filtering", object: "10.0.0.0/8 le 32", make: () => mutate("peering-chain", "leaf04", frr, replace("ip prefix-list swp1-in seq 10 permit 10.1.0.0/24 le 32", "ip prefix-list swp1-in seq 10 permit 10.0.0.0/8 le 32")) },
  { name: "a machine filter admitting another private network of its project", property: "ingress-filtering", object: "10.2.0.0/24 le 32", make: () => mutate("peering-chain", "leaf04", frr, replace("ip prefix-list swp1-in seq 10 permit 10.1.0.0/24 le 32", "ip prefix-list swp1-in seq 10 permit 10.1.0.0/24 le 32\nip prefix-list swp1-in seq 13 permit 10.2.0.0/24 le 32")) },
  { name: "a dropped inbound route map", property: "ingress-filtering", make: () => mutate("peering-chain", "leaf04", frr, replace("  neighbor swp1 route-map swp1-in in\n", "")) },
  { name: "a dropped maximum-prefix", property: "ingress-filtering", make: () => mutate("many-tenants", "leaf02", frr, replace("  neighbor swp10 maximum-prefix 2047\n", "")) },
  { name: "a permit-all entry in an inbound route map", property: "ingress-filtering", make: () => mutate("peering-chain", "leaf04", frr, replace("route-map swp2-in deny 20", "route-map swp2-in permit 20")) },
  { name: "a firewall port sent a VNI it does not serve", property: "ingress-filtering", object: "route-map fw-swp4-vni permit 20", make: () => mutate("many-tenants", "leaf02", frr, replace(" match evpn vni 30\nexit\nroute-map fw-swp4-vni permit 30", " match evpn vni 31\nexit\nroute-map fw-swp4-vni permit 30")) },
  { name: "a firewall's EVPN routes taken unfiltered (no inbound route map)", property: "ingress-filtering", object: "neighbor swp4 (l2vpn evpn)", make: () => mutate("many-tenants", "leaf02", frr, replace("  neighbor swp4 route-map fw-swp4-evpn-in in\n", "")) },
  { name: "a firewall's EVPN routes taken with any route-target", property: "ingress-filtering", make: () => mutate("many-tenants", "leaf02", frr, replace(/ match extcommunity fw-swp4-rt\n/g, "")) },
  { name: "a firewall's route-target list widened to a VNI it does not serve", property: "ingress-filtering", object: "bgp extcommunity-list fw-swp4-rt", make: () => mutate("many-tenants", "leaf02", frr, replace(/\(12\|30\|104009\)/g, "(12|30|31|104009)")) },
  { name: "an external session accepting Bulkhead's own prefixes (a hijack)", property: "ingress-filtering", object: "0.0.0.0/0 le 32", make: () => mutate("external-bgp", "exit01", frr, (t) => t.replace(/ip prefix-list ext-Ethernet0-in seq 1[0-3] [^\n]*\n/g, "").replace("ipv6 prefix-list ext-Ethernet4-in", "ip prefix-list ext-Ethernet0-in seq 10 permit 0.0.0.0/0 le 32\nipv6 prefix-list ext-Ethernet4-in")) },
  { name: "an external session accepting more than its peering allows", property: "ingress-filtering", object: "10.99.0.0/16 le 32", make: () => mutate("external-bgp", "exit01", frr, replace("ip prefix-list ext-Ethernet0-in seq 13 permit 192.168.0.0/16 le 32", "ip prefix-list ext-Ethernet0-in seq 13 permit 192.168.0.0/16 le 32\nip prefix-list ext-Ethernet0-in seq 14 permit 10.99.0.0/16 le 32")) },
  { name: "an IPv6 session active in IPv4 without a filter", property: "ingress-filtering", object: "neighbor 2001:db8:ffff::1 (ipv4 unicast)", make: () => mutate("external-bgp", "exit01", frr, replace("  neighbor 172.16.0.2 activate\n", "  neighbor 172.16.0.2 activate\n  neighbor 2001:db8:ffff::1 activate\n")) },
  { name: "an external session without maximum-prefix", property: "ingress-filtering", make: () => mutate("external-bgp", "exit01", frr, replace("  neighbor 172.16.0.2 maximum-prefix 100\n", "")) },
  { name: "a machine's port in another tenant's VRF", property: "ingress-filtering", object: "interface swp3", make: () => mutate("many-tenants", "leaf02", frr, replace("interface swp3 vrf vrf31", "interface swp3 vrf vrf12")) },
  { name: "a BGP session on a port where no machine is installed", property: "ingress-filtering", object: "neighbor swp7", make: () => mutate("peering-chain", "leaf04", frr, replace(" neighbor swp3 interface peer-group MACHINE\n", " neighbor swp3 interface peer-group MACHINE\n neighbor swp7 interface peer-group MACHINE\n")) },
  // Imports.
  { name: "an added import vrf", property: "import-closure", object: "import vrf vrf43", make: () => mutate("peering-chain", "leaf04", frr, replace("  import vrf vrf42\n  import vrf vrf104009\n", "  import vrf vrf42\n  import vrf vrf43\n  import vrf vrf104009\n")) },
  { name: "a dropped import route map", property: "import-closure", make: () => mutate("peering-chain", "leaf04", frr, replace("  import vrf route-map vrf41-import\n", "")) },
  { name: "A–B, B–C peered and A–C leaked through B's list", property: "import-closure", object: "10.3.0.0/24 le 32", make: () => mutate("peering-chain", "leaf04", frr, replace("ip prefix-list vrf41-import-from-vrf42 seq 10 permit 10.2.0.0/24 le 32\n", "ip prefix-list vrf41-import-from-vrf42 seq 10 permit 10.2.0.0/24 le 32\nip prefix-list vrf41-import-from-vrf42 seq 20 permit 10.3.0.0/24 le 32\n")) },
  { name: "the internet VRF taking a peered network's own prefixes (the transit hub)", property: "import-closure", object: "10.1.0.0/24 le 32", make: () => mutate("peering-chain", "leaf04", frr, replace("ip prefix-list vrf104009-import-from-vrf41 seq 10 permit 185.1.2.7/32", "ip prefix-list vrf104009-import-from-vrf41 seq 10 permit 10.1.0.0/24 le 32")) },
  { name: "a widened default route (0.0.0.0/0 le 32 from the internet)", property: "import-closure", object: "0.0.0.0/0 le 32", make: () => mutate("peering-chain", "leaf04", frr, replace("ip prefix-list vrf41-import-from-vrf104009 seq 10 permit 0.0.0.0/0", "ip prefix-list vrf41-import-from-vrf104009 seq 10 permit 0.0.0.0/0 le 32")) },
  { name: "an import entry without a source VRF", property: "import-closure", make: () => mutate("peering-chain", "leaf04", frr, replace(" match source-vrf vrf104009\n", "")) },
  { name: "a firewall VRF importing a network not attached to it", property: "import-closure", make: () => mutate("fw-app", "fw-app", frr, replace(/  import vrf vrf20\n/, "  import vrf vrf20\n  import vrf vrf12\n")) },
  { name: "a firewall leaking its primary into the internet without no-export", property: "import-closure", object: "10.0.0.0/22 le 32", make: () => mutate("fw-dmz", "fw-dmz", frr, replace(" match ip address prefix-list vrf104009-import-from-vrf12-no-export\n set community no-export additive\n", " match ip address prefix-list vrf104009-import-from-vrf12-no-export\n")) },
  { name: "a firewall publishing the whole internet range from its primary", property: "import-closure", object: "185.1.2.0/24 le 32", make: () => mutate("fw-dmz", "fw-dmz", frr, replace("ip prefix-list vrf104009-import-from-vrf12 seq 100 permit 185.1.2.7/32", "ip prefix-list vrf104009-import-from-vrf12 seq 100 permit 185.1.2.0/24 le 32")) },
  { name: "two default routes into the primary", property: "import-closure", object: "import vrf route-map vrf12-import-map", make: () => mutate("fw-dmz", "fw-dmz", frr, replace("ip prefix-list vrf12-import-from-vrf20 seq 100 permit 10.0.4.0/22 le 32", "ip prefix-list vrf12-import-from-vrf20 seq 100 permit 10.0.4.0/22 le 32\nip prefix-list vrf12-import-from-vrf20 seq 101 permit 0.0.0.0/0")) },
  // Identifiers.
  { name: "a duplicated VNI", property: "identifier-hygiene", object: "vni 12", make: () => mutate("many-tenants", "leaf02", frr, replace("vrf vrf30\n vni 30", "vrf vrf30\n vni 12")) },
  { name: "an SVI in the wrong VRF", property: "identifier-hygiene", object: "iface vlan1001", make: () => mutate("many-tenants", "leaf02", ifaces, replace("    vlan-id 1001\n    vlan-raw-device bridge\n    vrf vrf31", "    vlan-id 1001\n    vlan-raw-device bridge\n    vrf vrf30")) },
  {
    name: "a network drawn VNI 104000, the PXE segment's",
    property: "identifier-hygiene",
    object: "vni 104000",
    make: () => {
      const t = mutate("many-tenants", "leaf02", frr, replace("vrf vrf31\n vni 31", "vrf vrf104000\n vni 104000"));
      t.facts.networks = t.facts.networks.map((n) => (n.id === "n31" ? { ...n, vrf: 104000 } : n));
      return t;
    },
  },
  // Infrastructure.
  { name: "the underlay redistributing every connected network", property: "infrastructure-separation", make: () => mutate("peering-chain", "leaf04", frr, replace("  redistribute connected route-map LOOPBACKS\n", "  redistribute connected\n")) },
  { name: "a tenant VRF importing the default VRF", property: "infrastructure-separation", make: () => mutate("peering-chain", "leaf04", frr, replace("  import vrf vrf42\n  import vrf vrf104009\n", "  import vrf vrf42\n  import vrf default\n  import vrf vrf104009\n")) },
  { name: "a tenant VRF redistributing static routes", property: "infrastructure-separation", make: () => mutate("peering-chain", "leaf04", frr, replace("  redistribute connected\n  import vrf vrf42\n  import vrf vrf104009", "  redistribute connected\n  redistribute static\n  import vrf vrf42\n  import vrf vrf104009")) },
  { name: "a firewall announcing everything it knows to the fabric", property: "infrastructure-separation", make: () => mutate("fw-dmz", "fw-dmz", frr, replace(/  neighbor FABRIC route-map only-self-out out\n/g, "")) },
  // What the verifier does not understand is a finding.
  { name: "a static route across VRFs", property: "closed-world", make: () => mutate("peering-chain", "leaf04", frr, replace("line vty", "ip route 10.3.0.0/24 swp3 nexthop-vrf vrf43\nline vty")) },
  { name: "a route-target import in a tenant VRF", property: "closed-world", make: () => mutate("peering-chain", "leaf04", frr, replace(/( address-family l2vpn evpn\n  advertise ipv4 unicast\n)/, "$1  route-target import 1:43\n")) },
  { name: "a community-based route map entry", property: "closed-world", make: () => mutate("peering-chain", "leaf04", frr, replace(" match source-vrf vrf42\n", " match source-vrf vrf42\n match community TENANTS\n")) },
  { name: "an unknown interfaces option", property: "closed-world", make: () => mutate("peering-chain", "leaf04", ifaces, replace("    vrf vrf41\n", "    vrf vrf41\n    post-up ip route add 10.3.0.0/24 dev swp3\n")) },
  { name: "an nftables statement outside the rendered set", property: "closed-world", make: () => mutate("fw-tenant", "fw-tenant", nft, replace("\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", "\t\tct state invalid drop\n\t\tmeta mark 0x1 accept\n\t\tiifname { \"vlan12\"")) },
  // nftables.
  { name: "an accept-all nftables rule", property: "nftables-policy", object: "accept", make: () => mutate("fw-tenant", "fw-tenant", nft, replace("\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", "\t\tct state invalid drop\n\t\taccept\n\t\tiifname { \"vlan12\"")) },
  { name: "a forward chain that accepts by default", property: "nftables-policy", object: "chain forward", make: () => mutate("fw-tenant", "fw-tenant", nft, replace("type filter hook forward priority filter; policy drop;", "type filter hook forward priority filter; policy accept;")) },
  { name: "an accept toward another project's network", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, replace("ip daddr 10.0.4.0/22 tcp dport 9000", "ip daddr 10.9.1.0/24 tcp dport 9000")) },
  { name: "NAT into a private network", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, replace('oifname { "vlan20", "vrf20" } ip saddr 10.0.0.0/22 masquerade', 'oifname { "vlan12", "vrf12" } ip saddr 10.0.4.0/22 masquerade')) },
  { name: "new connections accepted by conntrack state", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, replace("\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", "\t\tct state invalid drop\n\t\tct state new accept\n\t\tiifname { \"vlan12\"")) },
  { name: "transit between two attached networks (shared → internet)", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, replace("\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", '\t\tct state invalid drop\n\t\tiifname { "vlan104009", "vrf104009" } oifname { "vlan20", "vrf20" } tcp dport 22 accept\n\t\tiifname { "vlan12"')) },
  { name: "an accept wider than the policy it comes from (another port)", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, replace('ip saddr 185.1.2.0/24 tcp dport 80 counter accept comment "service-in: ingress 0"', 'ip saddr 185.1.2.0/24 tcp dport { 22, 80 } counter accept comment "service-in: ingress 0"')) },
  { name: "an accept that drops a policy's exception", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, replace(" ip daddr != 185.1.2.100/32 tcp dport 8080", " tcp dport 8080")) },
  { name: "the DMZ let into the primary", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, replace("\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", '\t\tct state invalid drop\n\t\tiifname { "vlan20", "vrf20" } oifname { "vlan12", "vrf12" } meta l4proto { tcp, udp } accept\n\t\tiifname { "vlan12"')) },
  { name: "a jump into a chain that accepts everything", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, (t) => t.replace("\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", "\t\tct state invalid drop\n\t\tjump open\n\t\tiifname { \"vlan12\"").replace("\tchain postrouting {", "\tchain open {\n\t\taccept\n\t}\n\tchain postrouting {")) },
  { name: "a rate limit after the accept of established connections", property: "nftables-policy", make: () => mutate("fw-tenant", "fw-tenant", nft, (t) => t.replace("\t\tct state established,related accept\n\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", '\t\tct state established,related accept\n\t\tct state invalid drop\n\t\tiifname { "vlan104009", "vrf104009" } limit rate over 1000 bytes/second counter drop\n\t\tiifname { "vlan12"')) },
  { name: "a firewall dropping VXLAN from a leaf (its VTEP outside the accepted range)", property: "end-to-end", object: "VXLAN from 10.255.0.201", make: () => mutate("fw-tenant", "fw-tenant", nft, replace("ip saddr 10.255.0.0/24 udp dport 4789", "ip saddr 10.255.0.0/25 udp dport 4789")) },
  { name: "a leaf still importing the internet into a network whose firewall now governs its way out", property: "import-closure", make: () => {
    const t = topologies["peering-chain"]!();
    t.facts.machines.push({ id: "fw", project: "p", role: "firewall", installed: false, networks: ["a", "internet", "underlay"], ips: [{ network: "a", address: "10.1.0.1" }, { network: "internet", address: "185.1.2.9" }], connections: [] });
    return t;
  } },
  { name: "a firewall giving another project's DMZ the internet's default route", property: "import-closure", make: () => foreignDmz("fw-dmz") },
  { name: "a firewall letting another project's DMZ out to the internet", property: "nftables-policy", make: () => foreignDmz("fw-tenant") },
  // SONiC: CONFIG_DB and its FRR dialect.
  { name: "a SONiC machine port bound to another tenant's VRF in CONFIG_DB", property: "ingress-filtering", object: "iface Ethernet0", make: () => mutate("sonic-leaf", "leaf05", configDb, entry("INTERFACE", "Ethernet0", { ipv6_use_link_local_only: "enable", vrf_name: "Vrf42" })) },
  { name: "a SONiC machine port left in the PXE VLAN", property: "ingress-filtering", object: "iface Ethernet4", make: () => mutate("sonic-leaf", "leaf05", configDb, entry("VLAN_MEMBER", "Vlan4000|Ethernet4", { tagging_mode: "untagged" })) },
  { name: "a SONiC free port in a tenant's VLAN", property: "ingress-filtering", object: "iface Ethernet12", make: () => mutate("sonic-leaf", "leaf05", configDb, (t) => entry("VLAN_MEMBER", "Vlan1001|Ethernet12", { tagging_mode: "untagged" })(entry("VLAN_MEMBER", "Vlan4000|Ethernet12", undefined)(t))) },
  { name: "a SONiC tenant VLAN mapped to another tenant's VNI", property: "identifier-hygiene", make: () => mutate("sonic-leaf", "leaf05", configDb, (t) => entry("VXLAN_TUNNEL_MAP", "vtep|map_41_Vlan1001", { vlan: "Vlan1001", vni: "41" })(entry("VXLAN_TUNNEL_MAP", "vtep|map_42_Vlan1001", undefined)(t))) },
  { name: "a SONiC VRF with another VNI in CONFIG_DB than in frr.conf", property: "identifier-hygiene", object: "vrf vrf41", make: () => mutate("sonic-leaf", "leaf05", configDb, entry("VRF", "Vrf41", { vni: "42" })) },
  { name: "a CONFIG_DB table Bulkhead does not render (an ACL)", property: "closed-world", object: "table ACL_TABLE", make: () => mutate("sonic-leaf", "leaf05", configDb, entry("ACL_TABLE", "OPEN", { type: "L3", ports: "Ethernet0" })) },
  { name: "a CONFIG_DB field Bulkhead does not render", property: "closed-world", make: () => mutate("sonic-leaf", "leaf05", configDb, entry("VLAN_MEMBER", "Vlan4000|Ethernet12", { tagging_mode: "tagged" })) },
  { name: "a Cumulus-style VRF name on SONiC (no VRF there)", property: "closed-world", make: () => mutate("sonic-leaf", "leaf05", frr, replace("interface Ethernet0 vrf Vrf41", "interface Ethernet0 vrf vrf41")) },
  { name: "SONiC redistributing every connected network but management", property: "infrastructure-separation", object: "route-map DENY_MGMT permit 20", make: () => mutate("sonic-leaf", "leaf05", frr, replace("route-map DENY_MGMT permit 20\n match interface Loopback0\n", "route-map DENY_MGMT permit 20\n")) },
  { name: "an interfaces file on a SONiC switch", property: "closed-world", object: "network/interfaces", make: () => {
    const t = topologies["sonic-leaf"]!();
    t.devices[0]!.files.push({ path: "network/interfaces", content: "auto lo\niface lo inet loopback\n" });
    return t;
  } },
  { name: "a switch whose OS Bulkhead does not configure", property: "closed-world", object: "switch leaf01", make: () => {
    const t = topologies["single-tenant"]!();
    t.facts.switches = t.facts.switches.map((s) => ({ ...s, flavour: undefined }));
    return t;
  } },
  // Management on Cumulus.
  { name: "eth0 taken out of the management VRF", property: "infrastructure-separation", object: "iface eth0", make: () => mutate("single-tenant", "leaf01", ifaces, replace("    vrf mgmt\n", "")) },
  { name: "a port put into the management VRF", property: "infrastructure-separation", object: "iface swp3", make: () => mutate("single-tenant", "leaf01", ifaces, replace("    bridge-access 4000\n", "    vrf mgmt\n")) },
  { name: "a management route through another gateway", property: "closed-world", make: () => mutate("single-tenant", "leaf01", ifaces, replace("via 192.168.101.1 vrf mgmt", "via 192.168.101.9 vrf mgmt")) },
  { name: "a management route into a tenant VRF", property: "closed-world", make: () => mutate("single-tenant", "leaf01", ifaces, replace("via 192.168.101.1 vrf mgmt", "via 192.168.101.1 vrf vrf12")) },
  // End to end.
  { name: "a black hole: a peering whose import is gone", property: "end-to-end", object: "b → a", make: () => mutate("peering-chain", "leaf04", frr, replace("  import vrf vrf42\n  import vrf vrf104009\n", "  import vrf vrf104009\n")) },
];
for (const fault of faults) {
  caught(`catches ${fault.name}`, () => {
    const t = fault.make();
    const { findings } = verifyPartition(t.devices, t.facts);
    const indexed = indexFacts(t.facts);
    for (let i = 0; i < 2; i++) assert.equal(verifyPartition(t.devices, indexed).findings, findings, "facts indexed once, for one verification after another: the same findings");
    const hit = findings.filter((f) => f.property === fault.property && (!fault.object || f.object === fault.object));
    assert.ok(hit.length > 0, `expected a ${fault.property} finding${fault.object ? ` on ${fault.object}` : ""}; got:\n${show(findings) || "(none)"}`);
    assert.ok(hit.every((f) => f.device !== "" && (f.line > 0 || f.property === "end-to-end")), `findings name device and line:\n${show(hit)}`);
  });
}
caught.run();

const diff = suite("differential");
diff("only the leaks the change asked for may differ", () => {
  const before = topologies["peering-chain"]!();
  const applied = verifyPartition(before.devices, before.facts);
  const after = mutate("peering-chain", "leaf04", frr, replace("  import vrf vrf42\n  import vrf vrf104009\n", "  import vrf vrf104009\n"));
  const proposed = verifyPartition(after.devices, after.facts);
  assert.equal(verifyDifferential(applied, proposed, ["a<b"]), []);
  const unasked = verifyDifferential(applied, proposed);
  assert.equal(unasked.map((f) => f.object), ["a<b"]);
  assert.match(unasked[0]!.message, /closes a ← b/);
});
diff.run();
