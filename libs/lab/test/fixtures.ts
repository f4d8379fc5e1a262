// A small fabric for the lab's own tests: two leaves of one tenant network — one Cumulus, one
// SONiC — a machine on each, a spine; rendered by libs/render (the lab runs whatever it is given).
import { renderMachineFrr, renderSwitch, type SwitchModel } from "@bulkhead/render";
import type { LabInput } from "../src/index.js";

/** Port names of each flavour: the uplink, the machine's port. */
const PORTS = { cumulus: ["swp31", "swp1"], sonic: ["Ethernet120", "Ethernet0"] } as const;

const leaf = (hostname: string, n: number, flavour: "cumulus" | "sonic"): SwitchModel => ({
  hostname,
  flavour,
  asn: 4200000010 + n,
  routerId: `10.255.255.${n}`,
  ports: [
    { name: PORTS[flavour][0], role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] },
    { name: PORTS[flavour][1], role: "machine", adminUp: true, vrf: 41, allowedPrefixes: ["10.1.0.0/24"], firewallVnis: [] },
  ],
  vrfs: [{ vrf: 41, prefixes: ["10.1.0.0/24"], imports: [] }],
  externalSessions: [],
  vlans: {},
});

const files = (model: SwitchModel) => renderSwitch(model).files;

export function twoLeaves(): LabInput {
  return {
    partition: "lab-test",
    devices: [
      { id: "leaf01", kind: "leaf", files: files(leaf("leaf01", 1, "cumulus")), uplinks: [PORTS.cumulus[0]] },
      { id: "leaf02", kind: "leaf", files: files(leaf("leaf02", 2, "sonic")), uplinks: [PORTS.sonic[0]] },
    ],
    machines: [
      { id: "m1", frr: renderMachineFrr({ hostname: "m1", asn: 4210000001, uplinks: ["lan0"], addresses: ["10.1.0.10"] }), addresses: ["10.1.0.10"] },
      { id: "m2", frr: renderMachineFrr({ hostname: "m2", asn: 4210000002, uplinks: ["lan0"], addresses: ["10.1.0.11"] }), addresses: ["10.1.0.11"] },
    ],
    cables: [
      { switch: "leaf01", port: "swp1", machine: "m1", nic: "lan0" },
      { switch: "leaf02", port: PORTS.sonic[1], machine: "m2", nic: "lan0" },
    ],
    spines: [{ id: "spine1", asn: 4200000000, routerId: "10.255.254.1" }],
    records: {
      networks: [
        { id: "n41", project: "a", kind: "private", vrf: 41, prefixes: ["10.1.0.0/24"], destinationPrefixes: [], nat: false },
        { id: "underlay", project: "", kind: "underlay", vrf: 0, prefixes: ["10.255.0.0/16"], destinationPrefixes: [], nat: false },
      ],
      peerings: [],
      machines: [
        { id: "m1", project: "a", role: "machine", networks: ["n41"], ips: [{ network: "n41", address: "10.1.0.10" }] },
        { id: "m2", project: "a", role: "machine", networks: ["n41"], ips: [{ network: "n41", address: "10.1.0.11" }] },
      ],
      policies: [],
    },
  };
}
