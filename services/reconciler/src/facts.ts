// The isolation verifier's facts, from a partition's records (records.ts): networks with their
// VRFs and prefixes, peerings, switches with their uplinks and router ids, allocated machines and
// firewalls with their connections and addresses, and the addresses projects hold in shared and
// external networks. Nothing here comes from the views the renderer consumed.
import { switchFlavourOf } from "@bulkhead/api/switch-os";
import { MachineRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NatType, NetworkType, type Network } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { PXE_VNI } from "@bulkhead/render";
import type { Facts, NetworkKind } from "@bulkhead/verify";
import { isInstalled, policiesOf, type PartitionRecords } from "./records.js";

const kinds: Partial<Record<NetworkType, NetworkKind>> = {
  [NetworkType.CHILD]: "private",
  [NetworkType.CHILD_SHARED]: "shared",
  [NetworkType.EXTERNAL]: "external",
  [NetworkType.UNDERLAY]: "underlay",
  [NetworkType.SUPER]: "super",
  [NetworkType.SUPER_NAMESPACED]: "super",
};

const roles: Partial<Record<SwitchRole, "leaf" | "exit" | "spine">> = { [SwitchRole.LEAF]: "leaf", [SwitchRole.EXIT]: "exit", [SwitchRole.SPINE]: "spine" };

export function factsOf(records: PartitionRecords, reservedVnis: readonly number[] = [PXE_VNI]): Facts {
  return {
    networks: records.networks.flatMap((n: Network) => {
      const kind = kinds[n.type];
      return kind ? [{ id: n.id, project: n.project, kind, vrf: n.vrf, prefixes: n.prefixes, destinationPrefixes: n.destinationPrefixes, nat: n.natType === NatType.IPV4_MASQUERADE, parent: n.parentNetwork || undefined, announceable: n.additionalAnnounceableCidrs }] : [];
    }),
    peerings: records.peerings.map((p) =>
      p.type === PeeringType.EXTERNAL && p.bgp
        ? { id: p.id, network1: p.network1, external: { switch: p.bgp.switch, port: p.bgp.port, localAddress: p.bgp.local!.address, remoteAddress: p.bgp.remote!.address, remotePrefixes: p.bgp.remotePrefixes, maximumPrefixes: p.bgp.maximumPrefixes || 1000 } }
        : { id: p.id, network1: p.network1, network2: p.network2 },
    ),
    switches: records.switches.flatMap((s) => {
      const role = roles[s.role];
      const os = switchFlavourOf(s.os);
      return role ? [{ id: s.id, role, flavour: "flavour" in os ? os.flavour : undefined, routerId: s.routerId, uplinks: s.ports.filter((p) => p.uplink).map((p) => p.name) }] : [];
    }),
    machines: records.machines.map((m) => ({
      id: m.id,
      project: m.allocation!.project,
      role: m.allocation!.role === MachineRole.FIREWALL ? "firewall" : "machine",
      installed: isInstalled(m),
      networks: m.allocation!.networks.map((n) => n.network),
      ips: m.allocation!.networks.flatMap((n) => n.ips.map((address) => ({ network: n.network, address }))),
      connections: m.connections.map((c) => ({ switch: c.switch, port: c.port, nic: c.nic })),
    })),
    addresses: records.addresses.map((ip) => ({ address: ip.ip, network: ip.network, project: ip.project, machine: ip.machine })),
    policies: policiesOf(records),
    reservedVnis: [...reservedVnis],
  };
}
