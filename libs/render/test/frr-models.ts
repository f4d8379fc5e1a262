// Representative topologies for the FRR golden tests: switches, firewalls and machines.
import type { FirewallFrrModel, FirewallNetwork, MachineFrrModel, SwitchModel, SwitchPortModel } from "../src/index.js";

const fabric = (name: string): SwitchPortModel => ({ name, role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] });
const machine = (name: string, vrf: number, allowedPrefixes: string[]): SwitchPortModel => ({ name, role: "machine", adminUp: true, vrf, allowedPrefixes, firewallVnis: [] });
const pxe = (name: string, adminUp = true): SwitchPortModel => ({ name, role: "unprovisioned", adminUp, vrf: 0, allowedPrefixes: [], firewallVnis: [] });
const firewall = (name: string, underlay: string, vnis: number[]): SwitchPortModel => ({ name, role: "firewall", adminUp: true, vrf: 0, allowedPrefixes: [`${underlay}/32`], firewallVnis: vnis });
const leaf = (hostname: string, ports: SwitchPortModel[], vrfs: SwitchModel["vrfs"], extra: Partial<SwitchModel> = {}): SwitchModel => ({
  hostname,
  flavour: "cumulus",
  asn: 4200000011,
  routerId: "10.255.255.1",
  ports: [fabric("swp31"), fabric("swp32"), ...ports],
  vrfs,
  externalSessions: [],
  vlans: {},
  ...extra,
});

export const switches: Record<string, SwitchModel> = {
  // One tenant: two machines in vrf12, a free port in PXE, a port switched off.
  // Management registered with an extra route, and an address on the PXE segment.
  "single-tenant": leaf("leaf01", [machine("swp1", 12, ["10.0.0.0/22", "10.240.0.0/12", "185.1.2.7/32"]), machine("swp2", 12, ["10.0.0.0/22", "10.240.0.0/12"]), pxe("swp3"), pxe("swp4", false)], [{ vrf: 12, prefixes: ["10.0.0.0/22"], imports: [] }], {
    management: { address: "192.168.101.12/24", gateway: "192.168.101.1", routes: ["10.100.0.0/16"] },
    pxeAddress: "10.255.254.1/24",
  }),
  // Three tenants and a firewall that serves two of them.
  "many-tenants": leaf(
    "leaf02",
    [machine("swp1", 12, ["10.0.0.0/22"]), machine("swp2", 30, ["10.0.8.0/22"]), machine("swp3", 31, ["10.0.12.0/22"]), machine("swp10", 30, ["10.0.8.0/22"]), firewall("swp4", "10.255.0.7", [104009, 12, 30])],
    [{ vrf: 30, prefixes: ["10.0.8.0/22"], imports: [] }, { vrf: 12, prefixes: ["10.0.0.0/22"], imports: [] }, { vrf: 31, prefixes: ["10.0.12.0/22"], imports: [] }],
    { vlans: { "12": 1005, "31": 1001 } },
  ),
  // A dual-stack tenant.
  "dual-stack": leaf("leaf03", [machine("swp1", 12, ["10.0.0.0/22", "2001:db8:0:1::/64", "2001:db8:ff::5/128"])], [{ vrf: 12, prefixes: ["10.0.0.0/22", "2001:db8:0:1::/64"], imports: [] }]),
  // Peering chain A–B–C (vrf 41–42–43) plus A to the internet: A and C never see each other, and
  // the internet takes from A only the public address A's machine holds there.
  "peering-chain": leaf(
    "leaf04",
    [machine("swp1", 41, ["10.1.0.0/24", "185.1.2.7/32"]), machine("swp2", 42, ["10.2.0.0/24"]), machine("swp3", 43, ["10.3.0.0/24"])],
    [
      { vrf: 41, prefixes: ["10.1.0.0/24"], imports: [{ fromVrf: 42, prefixes: ["10.2.0.0/24"] }, { fromVrf: 104009, prefixes: ["0.0.0.0/0"] }] },
      { vrf: 42, prefixes: ["10.2.0.0/24"], imports: [{ fromVrf: 41, prefixes: ["10.1.0.0/24"] }, { fromVrf: 43, prefixes: ["10.3.0.0/24"] }] },
      { vrf: 43, prefixes: ["10.3.0.0/24"], imports: [{ fromVrf: 42, prefixes: ["10.2.0.0/24"] }] },
      { vrf: 104009, prefixes: ["185.1.2.0/24"], imports: [{ fromVrf: 41, prefixes: ["185.1.2.7/32"] }] },
    ],
  ),
  // A SONiC exit switch with an IPv4 and an IPv6 external session.
  "external-bgp": {
    ...leaf("exit01", [fabric("Ethernet120"), fabric("Ethernet124"), pxe("Ethernet0"), pxe("Ethernet4"), pxe("Ethernet8")], [{ vrf: 12, prefixes: ["10.0.0.0/22", "2001:db8:0:1::/64"], imports: [] }], { flavour: "sonic" }),
    externalSessions: [
      { port: "Ethernet0", vrf: 12, localAsn: 4200000100, localAddress: "172.16.0.1/30", remoteAsn: 65001, remoteAddress: "172.16.0.2/30", announcePrefixes: ["10.0.0.0/22", "2001:db8:0:1::/64"], remotePrefixes: ["192.168.0.0/16"], deniedPrefixes: ["10.0.0.0/16", "10.255.0.0/16", "185.1.2.0/24", "2001:db8::/48"], maximumPrefixes: 100 },
      { port: "Ethernet4", vrf: 12, localAsn: 4200000011, localAddress: "2001:db8:ffff::/127", remoteAsn: 65001, remoteAddress: "2001:db8:ffff::1/127", announcePrefixes: ["10.0.0.0/22", "2001:db8:0:1::/64"], remotePrefixes: ["::/0"], deniedPrefixes: ["10.0.0.0/16", "10.255.0.0/16", "185.1.2.0/24", "2001:db8::/48"], maximumPrefixes: 1000 },
    ],
  },
  // SONiC: tenants with a peering, a firewall, a free port, a port switched off, dual stack.
  "sonic-leaf": leaf(
    "leaf05",
    [
      fabric("Ethernet120"),
      fabric("Ethernet124"),
      machine("Ethernet0", 41, ["10.1.0.0/24", "2001:db8:1::/64"]),
      machine("Ethernet4", 42, ["10.2.0.0/24"]),
      firewall("Ethernet8", "10.255.0.7", [41, 104009]),
      pxe("Ethernet12"),
      pxe("Ethernet16", false),
    ],
    [
      { vrf: 41, prefixes: ["10.1.0.0/24", "2001:db8:1::/64"], imports: [{ fromVrf: 42, prefixes: ["10.2.0.0/24"] }] },
      { vrf: 42, prefixes: ["10.2.0.0/24"], imports: [{ fromVrf: 41, prefixes: ["10.1.0.0/24", "2001:db8:1::/64"] }] },
    ],
    { flavour: "sonic", pxeAddress: "10.255.254.2/24", vlans: { "42": 1001 } },
  ),
};
/** SONiC leaves are cabled to the spines on Ethernet120 and Ethernet124, not swp31/swp32. */
for (const model of Object.values(switches)) if (model.flavour === "sonic") model.ports = model.ports.filter((p) => !p.name.startsWith("swp"));

/** A shared NAT network with destinations is a DMZ of the firewall's own project here. */
const net = (id: string, role: FirewallNetwork["role"], vrf: number, prefixes: string[], destinationPrefixes: string[], nat: boolean, ips: string[], projectIps: string[] = []): FirewallNetwork => ({ id, role, vrf, prefixes, destinationPrefixes, nat, dmz: role === "shared" && nat && destinationPrefixes.length > 0, ips, projectIps });
const underlay = net("underlay", "underlay", 0, ["10.255.0.0/24"], [], false, ["10.255.0.7"]);
const internet = net("internet", "external", 104009, ["185.1.2.0/24"], ["0.0.0.0/0"], true, ["185.1.2.10"], ["185.1.2.7", "185.1.2.8", "185.1.2.10"]);
const fw = (hostname: string, networks: FirewallNetwork[]): FirewallFrrModel => ({ hostname, asn: 4210000042, routerId: "10.255.0.7", uplinks: ["lan1", "lan0"], networks: [underlay, ...networks] });

export const firewalls: Record<string, FirewallFrrModel> = {
  "fw-single": fw("fw-single", [net("a", "primary", 12, ["10.0.0.0/22"], [], false, ["10.0.0.1"]), internet]),
  // Dual-stack primary, shared storage of another project, the internet.
  "fw-storage": fw("fw-storage", [
    net("a", "primary", 12, ["10.0.0.0/22", "2001:db8:0:1::/64"], [], false, ["10.0.0.1", "2001:db8:0:1::1"]),
    net("storage", "shared", 20, ["10.0.4.0/22"], [], false, ["10.0.4.3"]),
    { ...internet, prefixes: ["185.1.2.0/24", "2001:db8:ffff::/48"], destinationPrefixes: ["0.0.0.0/0", "::/0"], ips: ["185.1.2.10", "2001:db8:ffff::10"] },
  ]),
  // The DMZ firewall of seed private-networks-dmz-release: its cluster, the DMZ and the internet.
  "fw-dmz": fw("fw-dmz", [net("dmz-cluster", "primary", 12, ["10.0.0.0/22"], [], false, ["10.0.0.1"]), net("dmz", "shared", 20, ["10.0.4.0/22"], ["0.0.0.0/0"], true, ["10.0.4.1"]), internet]),
  // An application firewall behind it: its cluster and the DMZ only.
  "fw-app": fw("fw-app", [net("app", "primary", 13, ["10.0.16.0/22"], [], false, ["10.0.16.1"]), net("dmz", "shared", 20, ["10.0.4.0/22"], ["0.0.0.0/0"], true, ["10.0.4.2"])]),
};

export const machines: Record<string, MachineFrrModel> = {
  "machine-dual": { hostname: "web-1", asn: 4210000101, uplinks: ["lan1", "lan0"], addresses: ["2001:db8:0:1::10", "10.0.0.10", "185.1.2.7"] },
  "machine-v6": { hostname: "v6-only", asn: 4210000102, uplinks: ["lan0", "lan1"], addresses: ["2001:db8:0:1::11"] },
};
