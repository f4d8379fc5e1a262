// The render library's golden configurations with the facts they were made from, as the
// verifier's known-good inputs.
import { readFileSync } from "node:fs";
import type { DeviceConfig, Facts, NetworkFact } from "../src/index.js";

const golden = (name: string) => readFileSync(new URL(`../../render/test/golden/${name}`, import.meta.url), "utf8");

const net = (id: string, vrf: number, prefixes: string[], kind: NetworkFact["kind"] = "private", destinationPrefixes: string[] = []): NetworkFact => ({ id, project: `p-${id}`, vrf, prefixes, destinationPrefixes, kind });
const internet = net("internet", 104009, ["185.1.2.0/24"], "external", ["0.0.0.0/0"]);
const underlay = net("underlay", 0, ["10.255.0.0/24"], "underlay");
const infrastructure = ["10.255.0.0/16"];

export interface Topology {
  devices: DeviceConfig[];
  facts: Facts;
}

export const topologies: Record<string, () => Topology> = {
  // Leaf04: A–B–C chain (vrf 41, 42, 43) and A to the internet.
  "peering-chain": () => ({
    devices: [{ device: "leaf04", kind: "switch", files: [{ path: "frr/frr.conf", content: golden("frr/peering-chain.frr.conf") }, { path: "network/interfaces", content: golden("frr/peering-chain.interfaces") }] }],
    facts: {
      networks: [net("a", 41, ["10.1.0.0/24"]), net("b", 42, ["10.2.0.0/24"]), net("c", 43, ["10.3.0.0/24"]), internet],
      peerings: [["a", "b"], ["b", "c"], ["a", "internet"]],
      machinePorts: [
        { switch: "leaf04", port: "swp1", machine: "m1", network: "a", allowed: ["10.1.0.0/24"] },
        { switch: "leaf04", port: "swp2", machine: "m2", network: "b", allowed: ["10.2.0.0/24"] },
        { switch: "leaf04", port: "swp3", machine: "m3", network: "c", allowed: ["10.3.0.0/24"] },
      ],
      firewallPorts: [],
      firewalls: [],
      infrastructure,
    },
  }),
  // Leaf02: three tenants and a firewall serving two of them.
  "many-tenants": () => ({
    devices: [{ device: "leaf02", kind: "switch", files: [{ path: "frr/frr.conf", content: golden("frr/many-tenants.frr.conf") }, { path: "network/interfaces", content: golden("frr/many-tenants.interfaces") }] }],
    facts: {
      networks: [net("n12", 12, ["10.0.0.0/22"]), net("n30", 30, ["10.0.8.0/22"]), net("n31", 31, ["10.0.12.0/22"]), internet, underlay],
      peerings: [],
      machinePorts: [
        { switch: "leaf02", port: "swp1", machine: "m1", network: "n12", allowed: ["10.0.0.0/22"] },
        { switch: "leaf02", port: "swp2", machine: "m2", network: "n30", allowed: ["10.0.8.0/22"] },
        { switch: "leaf02", port: "swp3", machine: "m3", network: "n31", allowed: ["10.0.12.0/22"] },
        { switch: "leaf02", port: "swp10", machine: "m4", network: "n30", allowed: ["10.0.8.0/22"] },
      ],
      firewallPorts: [{ switch: "leaf02", port: "swp4", firewall: "fw1", underlay: ["10.255.0.7"], vnis: [12, 30, 104009] }],
      firewalls: [{ id: "fw1", networks: ["n12", "n30", "internet", "underlay"] }],
      infrastructure,
    },
  }),
  // The DMZ firewall (FRR) and a tenant firewall's ruleset (nftables).
  firewalls: () => ({
    devices: [
      { device: "fw-dmz", kind: "firewall", files: [{ path: "frr/frr.conf", content: golden("frr/fw-dmz.frr.conf") }] },
      { device: "fw-app", kind: "firewall", files: [{ path: "frr/frr.conf", content: golden("frr/fw-app.frr.conf") }] },
      { device: "fw-tenant", kind: "firewall", files: [{ path: "nftables/bulkhead.nft", content: golden("tenant.nft") }] },
    ],
    facts: {
      networks: [net("dmz-cluster", 12, ["10.0.0.0/22"]), net("dmz", 20, ["10.0.4.0/22"], "shared", ["0.0.0.0/0"]), net("app", 13, ["10.0.16.0/22"]), net("other", 77, ["10.9.0.0/16"]), internet, underlay],
      peerings: [],
      machinePorts: [],
      firewallPorts: [],
      firewalls: [
        { id: "fw-dmz", networks: ["dmz-cluster", "dmz", "internet", "underlay"] },
        { id: "fw-app", networks: ["app", "dmz", "underlay"] },
        { id: "fw-tenant", networks: ["dmz-cluster", "dmz", "internet", "underlay"] },
      ],
      infrastructure,
    },
  }),
};
