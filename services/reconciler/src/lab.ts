// The fabric lab's input for a partition: the desired revisions of its leaves, exit switches and
// firewalls (what the reconciler pushes), every installed machine's FRR (as its installer writes
// it), the connection map, the spines, and the records for the oracle.
import { MachineRole, type Machine } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NatType, NetworkType, type Network } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import type { PolicySpec } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { FILES, type LabDevice, type LabInput, type LabRecords, type NetworkKind } from "@bulkhead/lab";
import { renderMachineFrr, type RevisionFile } from "@bulkhead/render";
import { isInstalled, policiesOf, rules, type PartitionRecords } from "./records.js";

const kinds: Partial<Record<NetworkType, NetworkKind>> = {
  [NetworkType.CHILD]: "private",
  [NetworkType.CHILD_SHARED]: "shared",
  [NetworkType.EXTERNAL]: "external",
  [NetworkType.UNDERLAY]: "underlay",
};

export const networkKind = (n: Network) => kinds[n.type];

/** The oracle's records: networks, peerings, allocations and policies, as the services hold them. */
export function labRecordsOf(records: PartitionRecords): LabRecords {
  return {
    networks: records.networks.flatMap((n) => {
      const kind = networkKind(n);
      return kind ? [{ id: n.id, project: n.project, kind, vrf: n.vrf, prefixes: n.prefixes, destinationPrefixes: n.destinationPrefixes, nat: n.natType === NatType.IPV4_MASQUERADE }] : [];
    }),
    peerings: records.peerings.map((p) =>
      p.type === PeeringType.EXTERNAL && p.bgp
        ? { id: p.id, network1: p.network1, external: { switch: p.bgp.switch, port: p.bgp.port, localAsn: p.bgp.local!.asn, localAddress: p.bgp.local!.address, remoteAsn: p.bgp.remote!.asn, remoteAddress: p.bgp.remote!.address, remotePrefixes: p.bgp.remotePrefixes } }
        : { id: p.id, network1: p.network1, network2: p.network2 },
    ),
    machines: records.machines.map((m) => ({
      id: m.id,
      project: m.allocation!.project,
      role: m.allocation!.role === MachineRole.FIREWALL ? "firewall" : "machine",
      networks: m.allocation!.networks.map((n) => n.network),
      ips: m.allocation!.networks.flatMap((n) => n.ips.map((address) => ({ network: n.network, address }))),
    })),
    policies: policiesOf(records),
  };
}

/** A machine's FRR as its installer writes it: BGP to its leaves, announcing its own addresses. */
const machineFrr = (m: Machine) =>
  renderMachineFrr({ hostname: m.allocation!.hostname || m.id, asn: m.allocation!.asn, uplinks: m.connections.map((c) => c.nic), addresses: m.allocation!.networks.filter((n) => n.type !== NetworkType.UNDERLAY).flatMap((n) => n.ips) });

/** The lab's input from a partition's records and the desired revisions of its devices. */
export function labInputOf(records: PartitionRecords, devices: { device: string; kind: LabDevice["kind"]; files: readonly RevisionFile[] }[]): LabInput {
  // What runs: installed machines and firewalls, cabled as the connection map says.
  const installed = records.machines.filter(isInstalled);
  const machines = installed.filter((m) => m.allocation!.role !== MachineRole.FIREWALL);
  const switches = new Map(records.switches.map((s) => [s.id, s]));
  return {
    partition: records.partition,
    devices: devices.filter((d) => d.kind !== "firewall" || installed.some((m) => m.id === d.device)).map((d) => ({
      id: d.device,
      kind: d.kind,
      files: Object.fromEntries(d.files.map((f) => [f.path, f.content])),
      uplinks: switches.get(d.device)?.ports.filter((p) => p.uplink).map((p) => p.name),
    })),
    machines: machines.map((m) => ({ id: m.id, frr: machineFrr(m), addresses: m.allocation!.networks.filter((n) => n.type !== NetworkType.UNDERLAY).flatMap((n) => n.ips) })),
    cables: installed.flatMap((m) => m.connections.map((c) => ({ switch: c.switch, port: c.port, machine: m.id, nic: c.nic }))),
    spines: records.switches.filter((s) => s.role === SwitchRole.SPINE).map((s) => ({ id: s.id, asn: s.asn, routerId: s.routerId })),
    records: labRecordsOf(records),
  };
}

/**
 * The lab's input as it would be with a policy draft: each firewall the plan names gets its
 * planned ruleset, and the oracle the draft in place of the policy of the same name there.
 */
export function withPlannedPolicy(input: LabInput, spec: PolicySpec, planned: readonly { firewall: string; ruleset: string }[]): LabInput {
  const firewalls = new Set(planned.map((p) => p.firewall));
  const rulesets = new Map(planned.map((p) => [p.firewall, p.ruleset]));
  return {
    ...input,
    devices: input.devices.map((d) => (rulesets.has(d.id) ? { ...d, files: { ...d.files, [FILES.nftables]: rulesets.get(d.id)! } } : d)),
    records: {
      ...input.records,
      policies: [
        ...input.records.policies.filter((p) => !(firewalls.has(p.firewall) && p.name === spec.name)),
        ...[...firewalls].map((firewall) => ({ firewall, name: spec.name, ingress: rules(spec.ingress), egress: rules(spec.egress) })),
      ],
    },
  };
}
