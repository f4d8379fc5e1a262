// The render library's golden configurations with the records they stand for, as the verifier's
// known-good inputs. The facts are written as the services hold them — networks, peerings,
// switches, allocated machines with their cabling and addresses — never as the renderer's model.
import { readFileSync } from "node:fs";
import type { AddressFact, DeviceConfig, Facts, MachineFact, NetworkFact } from "../src/index.js";

const golden = (name: string) => readFileSync(new URL(`../../render/test/golden/${name}`, import.meta.url), "utf8");
/** A golden `*.config_db.json` is SONiC's CONFIG_DB document; any other second file the `interfaces` file. */
const files = (frr?: string, interfaces?: string, nft?: string) => [
  ...(frr ? [{ path: "frr/frr.conf", content: golden(frr) }] : []),
  ...(interfaces ? [{ path: interfaces.endsWith(".config_db.json") ? "sonic/config_db.json" : "network/interfaces", content: golden(interfaces) }] : []),
  ...(nft ? [{ path: "nftables/bulkhead.nft", content: golden(nft) }] : []),
];

const net = (id: string, project: string, vrf: number, prefixes: string[], extra: Partial<NetworkFact> = {}): NetworkFact => ({ id, project, kind: "private", vrf, prefixes, destinationPrefixes: [], nat: false, parent: "super", ...extra });
const superNet: NetworkFact = { id: "super", project: "", kind: "super", vrf: 0, prefixes: ["10.0.0.0/16", "2001:db8::/48"], destinationPrefixes: [], nat: false, announceable: ["10.240.0.0/12"] };
const internet: NetworkFact = { id: "internet", project: "", kind: "external", vrf: 104009, prefixes: ["185.1.2.0/24"], destinationPrefixes: ["0.0.0.0/0"], nat: true };
const underlay: NetworkFact = { id: "underlay", project: "", kind: "underlay", vrf: 0, prefixes: ["10.255.0.0/16"], destinationPrefixes: [], nat: false };
const base = [superNet, internet, underlay];

const machine = (id: string, project: string, networks: string[], ips: [string, string][], connections: [string, string][], role: MachineFact["role"] = "machine"): MachineFact => ({
  id,
  project,
  role,
  installed: true,
  networks,
  ips: ips.map(([network, address]) => ({ network, address })),
  connections: connections.map(([sw, port], i) => ({ switch: sw, port, nic: `lan${i}` })),
});
const leaf = (id: string, routerId = "10.255.255.1") => ({ id, role: "leaf" as const, flavour: "cumulus" as const, routerId, uplinks: ["swp31", "swp32"] });
const sonicLeaf = (id: string, role: "leaf" | "exit" = "leaf") => ({ id, role, flavour: "sonic" as const, routerId: "10.255.255.1", uplinks: ["Ethernet120", "Ethernet124"] });
const address = (a: string, network: string, project: string, m = ""): AddressFact => ({ address: a, network, project, machine: m });

export interface Topology {
  devices: DeviceConfig[];
  facts: Facts;
}

const facts = (f: Partial<Facts>): Facts => ({ networks: base, peerings: [], switches: [], machines: [], addresses: [], policies: [], reservedVnis: [104000], ...f });
const tcp = (from: number, to = from) => ({ protocol: "tcp" as const, from, to });
const peer = (cidr: string, except: string[] = []) => ({ cidr, except });

export const topologies: Record<string, () => Topology> = {
  // Leaf04: A–B–C chain of one project (vrf 41, 42, 43) and A peered with the internet, where
  // A's machine holds a public address.
  "peering-chain": () => ({
    devices: [{ device: "leaf04", kind: "switch", files: files("frr/peering-chain.frr.conf", "frr/peering-chain.interfaces") }],
    facts: facts({
      networks: [...base, net("a", "p", 41, ["10.1.0.0/24"]), net("b", "p", 42, ["10.2.0.0/24"]), net("c", "p", 43, ["10.3.0.0/24"])],
      peerings: [
        { id: "ab", network1: "a", network2: "b" },
        { id: "bc", network1: "b", network2: "c" },
        { id: "a-internet", network1: "a", network2: "internet" },
      ],
      switches: [leaf("leaf04")],
      machines: [machine("m1", "p", ["a", "internet"], [["a", "10.1.0.10"], ["internet", "185.1.2.7"]], [["leaf04", "swp1"]]), machine("m2", "p", ["b"], [["b", "10.2.0.10"]], [["leaf04", "swp2"]]), machine("m3", "p", ["c"], [["c", "10.3.0.10"]], [["leaf04", "swp3"]])],
      addresses: [address("185.1.2.7", "internet", "p", "m1")],
    }),
  }),
  // Leaf02: three tenants, and a firewall of n12's project serving n12, the shared n30 and the internet.
  "many-tenants": () => ({
    devices: [{ device: "leaf02", kind: "switch", files: files("frr/many-tenants.frr.conf", "frr/many-tenants.interfaces") }],
    facts: facts({
      networks: [...base, net("n12", "p12", 12, ["10.0.0.0/22"]), net("n30", "p30", 30, ["10.0.8.0/22"], { kind: "shared" }), net("n31", "p31", 31, ["10.0.12.0/22"])],
      switches: [leaf("leaf02")],
      machines: [
        machine("m1", "p12", ["n12"], [["n12", "10.0.0.10"]], [["leaf02", "swp1"]]),
        machine("m2", "p30", ["n30"], [["n30", "10.0.8.10"]], [["leaf02", "swp2"]]),
        machine("m3", "p31", ["n31"], [["n31", "10.0.12.10"]], [["leaf02", "swp3"]]),
        machine("m4", "p30", ["n30"], [["n30", "10.0.8.11"]], [["leaf02", "swp10"]]),
        machine("fw1", "p12", ["n12", "n30", "internet", "underlay"], [["n12", "10.0.0.1"], ["n30", "10.0.8.1"], ["internet", "185.1.2.10"], ["underlay", "10.255.0.7"]], [["leaf02", "swp4"]], "firewall"),
      ],
    }),
  }),
  // Leaf01: one tenant, two machines (one announces a public address, both the super's extra block), a PXE port, a port down.
  "single-tenant": () => ({
    devices: [{ device: "leaf01", kind: "switch", files: files("frr/single-tenant.frr.conf", "frr/single-tenant.interfaces") }],
    facts: facts({
      networks: [...base, net("n12", "p", 12, ["10.0.0.0/22"])],
      switches: [leaf("leaf01")],
      machines: [machine("m1", "p", ["n12", "internet"], [["n12", "10.0.0.10"], ["internet", "185.1.2.7"]], [["leaf01", "swp1"]]), machine("m2", "p", ["n12"], [["n12", "10.0.0.11"]], [["leaf01", "swp2"]])],
      addresses: [address("185.1.2.7", "internet", "p", "m1")],
    }),
  }),
  // Leaf03: a dual-stack tenant whose project holds an IPv6 load-balancer address in a shared network.
  "dual-stack": () => ({
    devices: [{ device: "leaf03", kind: "switch", files: files("frr/dual-stack.frr.conf", "frr/dual-stack.interfaces") }],
    facts: facts({
      networks: [...base, net("n12", "p", 12, ["10.0.0.0/22", "2001:db8:0:1::/64"]), net("lb", "q", 77, ["2001:db8:ff::/64"], { kind: "shared" })],
      switches: [leaf("leaf03")],
      machines: [machine("m1", "p", ["n12"], [["n12", "10.0.0.10"], ["n12", "2001:db8:0:1::10"]], [["leaf03", "swp1"]])],
      addresses: [address("2001:db8:ff::5", "lb", "p")],
    }),
  }),
  // Exit01: a tenant network with an IPv4 and an IPv6 external session.
  "external-bgp": () => ({
    devices: [{ device: "exit01", kind: "switch", files: files("frr/external-bgp.frr.conf", "frr/external-bgp.config_db.json") }],
    facts: facts({
      networks: [...base, net("n12", "p", 12, ["10.0.0.0/22", "2001:db8:0:1::/64"])],
      switches: [sonicLeaf("exit01", "exit")],
      peerings: [
        { id: "up4", network1: "n12", external: { switch: "exit01", port: "Ethernet0", localAddress: "172.16.0.1/30", remoteAddress: "172.16.0.2/30", remotePrefixes: ["192.168.0.0/16"], maximumPrefixes: 100 } },
        { id: "up6", network1: "n12", external: { switch: "exit01", port: "Ethernet4", localAddress: "2001:db8:ffff::/127", remoteAddress: "2001:db8:ffff::1/127", remotePrefixes: ["::/0"], maximumPrefixes: 1000 } },
      ],
    }),
  }),
  // Leaf05 on SONiC: a (dual-stack) and b peered, a firewall of their project serving a and the internet, a free port, a port down.
  "sonic-leaf": () => ({
    devices: [{ device: "leaf05", kind: "switch", files: files("frr/sonic-leaf.frr.conf", "frr/sonic-leaf.config_db.json") }],
    facts: facts({
      networks: [...base, net("a", "p", 41, ["10.1.0.0/24", "2001:db8:1::/64"]), net("b", "p", 42, ["10.2.0.0/24"])],
      peerings: [{ id: "ab", network1: "a", network2: "b" }],
      switches: [sonicLeaf("leaf05")],
      machines: [
        machine("m1", "p", ["a"], [["a", "10.1.0.10"], ["a", "2001:db8:1::10"]], [["leaf05", "Ethernet0"]]),
        machine("m2", "p", ["b"], [["b", "10.2.0.10"]], [["leaf05", "Ethernet4"]]),
        machine("fw1", "p", ["a", "internet", "underlay"], [["a", "10.1.0.1"], ["internet", "185.1.2.10"], ["underlay", "10.255.0.7"]], [["leaf05", "Ethernet8"]], "firewall"),
      ],
    }),
  }),
  // The DMZ firewall of seed private-networks-dmz-release: its cluster, the DMZ and the internet.
  "fw-dmz": () => ({
    devices: [{ device: "fw-dmz", kind: "firewall", files: files("frr/fw-dmz.frr.conf", "frr/fw-dmz.interfaces") }],
    facts: facts({
      networks: [...base, net("dmz-cluster", "pd", 12, ["10.0.0.0/22"]), net("dmz", "pd", 20, ["10.0.4.0/22"], { kind: "shared", destinationPrefixes: ["0.0.0.0/0"], nat: true })],
      machines: [machine("fw-dmz", "pd", ["underlay", "dmz-cluster", "dmz", "internet"], [["underlay", "10.255.0.7"], ["dmz-cluster", "10.0.0.1"], ["dmz", "10.0.4.1"], ["internet", "185.1.2.10"]], [["leaf01", "swp5"], ["leaf02", "swp5"]], "firewall")],
      addresses: [address("185.1.2.7", "internet", "pd", "m1"), address("185.1.2.8", "internet", "pd"), address("185.1.2.10", "internet", "pd", "fw-dmz")],
    }),
  }),
  // An application firewall behind it: its cluster and the DMZ only.
  "fw-app": () => ({
    devices: [{ device: "fw-app", kind: "firewall", files: files("frr/fw-app.frr.conf", "frr/fw-app.interfaces") }],
    facts: facts({
      networks: [...base, net("app", "pa", 13, ["10.0.16.0/22"]), net("dmz", "pd", 20, ["10.0.4.0/22"], { kind: "shared", destinationPrefixes: ["0.0.0.0/0"], nat: true })],
      machines: [machine("fw-app", "pa", ["underlay", "app", "dmz"], [["underlay", "10.255.0.7"], ["app", "10.0.16.1"], ["dmz", "10.0.4.2"]], [["leaf01", "swp6"], ["leaf02", "swp6"]], "firewall")],
    }),
  }),
  // A tenant firewall's ruleset, with a leaf of the partition whose VTEP lies in the underlay.
  "fw-tenant": () => ({
    devices: [{ device: "fw-tenant", kind: "firewall", files: files(undefined, undefined, "tenant.nft") }],
    facts: facts({
      networks: [superNet, { ...internet, prefixes: ["185.1.2.0/24", "2001:db8:ffff::/64"], destinationPrefixes: ["0.0.0.0/0", "::/0"] }, { ...underlay, prefixes: ["10.255.0.0/24"] }, net("tenant", "pt", 12, ["10.0.0.0/22", "2001:db8:0:1::/64"]), net("dmz", "pt", 20, ["10.0.4.0/22"], { kind: "shared", destinationPrefixes: ["0.0.0.0/0"], nat: true }), net("other", "po", 77, ["10.9.0.0/16"])],
      switches: [leaf("leaf01", "10.255.0.201")],
      machines: [machine("fw-tenant", "pt", ["underlay", "tenant", "dmz", "internet"], [["underlay", "10.255.0.7"], ["tenant", "10.0.0.1"], ["dmz", "10.0.4.1"], ["internet", "185.1.2.1"]], [["leaf01", "swp5"]], "firewall")],
      // The policies the golden ruleset was compiled from (libs/render/test/models.ts).
      policies: [
        { firewall: "fw-tenant", name: "web-out", ingress: [], egress: [{ peers: [], ports: [tcp(443)] }] },
        { firewall: "fw-tenant", name: "udp-range", ingress: [], egress: [{ peers: [peer("185.1.2.0/24")], ports: [{ protocol: "udp", from: 5000, to: 5010 }] }] },
        { firewall: "fw-tenant", name: "except", ingress: [], egress: [{ peers: [peer("185.1.2.0/24", ["185.1.2.100/32"])], ports: [tcp(8080)] }] },
        { firewall: "fw-tenant", name: "service-in", ingress: [{ peers: [peer("185.1.2.0/24")], ports: [tcp(80)] }], egress: [] },
        { firewall: "fw-tenant", name: "v6-out", ingress: [], egress: [{ peers: [peer("2001:db8:ffff::/64")], ports: [tcp(8443)] }] },
        { firewall: "fw-tenant", name: "to-dmz", ingress: [], egress: [{ peers: [peer("10.0.4.0/22")], ports: [tcp(9000)] }] },
      ],
    }),
  }),
};
