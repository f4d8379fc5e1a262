// Device models from the services' view RPCs: the inventory's switch and machine views, the
// peering service's leak plan. Pure mappers, so the reconciler's render jobs stay thin.
import { NetworkRole, type MachineNetwork, type GetMachineViewResponse } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { PortRole, PortState, type GetSwitchViewResponse } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NatType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import type { GetRouteLeakPlanResponse } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import type { FirewallFrrModel } from "./firewall-frr.js";
import type { FirewallNetwork, NetworkRole as Role } from "./firewall-model.js";
import type { SwitchModel, SwitchPortRole } from "./switch.js";

const networkRoles: Record<number, Role> = {
  [NetworkRole.PRIVATE_PRIMARY]: "primary",
  [NetworkRole.PRIVATE_SECONDARY_SHARED]: "shared",
  [NetworkRole.EXTERNAL]: "external",
  [NetworkRole.UNDERLAY]: "underlay",
};

/** A firewall's networks as the inventory classifies them. */
export const firewallNetworksOf = (networks: readonly MachineNetwork[]): FirewallNetwork[] =>
  networks.map((n) => ({
    id: n.network,
    role: networkRoles[n.role] ?? "external",
    vrf: n.vrf,
    prefixes: n.prefixes,
    destinationPrefixes: n.destinationPrefixes,
    nat: n.natType === NatType.IPV4_MASQUERADE,
    ips: n.ips,
  }));

const portRoles: Record<number, SwitchPortRole> = {
  [PortRole.FABRIC]: "fabric",
  [PortRole.MACHINE]: "machine",
  [PortRole.FIREWALL]: "firewall",
};

/**
 * A switch's model: its ports and tenant VRFs from the switch view, each VRF's imports and the
 * switch's external sessions from the partition's leak plan. `vlans` is the previous assignment.
 */
export function switchModelOf(view: GetSwitchViewResponse, plan: GetRouteLeakPlanResponse, vlans: Readonly<Record<string, number>>): SwitchModel {
  const sw = view.switch!;
  const imports = new Map(plan.vrfs.map((v) => [v.vrf, v.imports.map((i) => ({ fromVrf: i.fromVrf, prefixes: i.prefixes }))]));
  return {
    hostname: sw.id,
    asn: sw.asn,
    routerId: sw.routerId,
    ports: view.ports.map((p) => ({
      name: p.name,
      // Anything not fabric, machine or firewall is an access port in the PXE VLAN, so new machines can boot.
      role: portRoles[p.role] ?? "unprovisioned",
      adminUp: p.adminState !== PortState.DOWN,
      vrf: p.vrf,
      allowedPrefixes: p.allowedPrefixes,
      firewallVnis: p.firewallVnis,
    })),
    vrfs: view.vrfs.map((v) => ({ vrf: v.vrf, prefixes: v.prefixes, imports: imports.get(v.vrf) ?? [] })),
    externalSessions: plan.externalSessions
      .filter((s) => s.switch === sw.id)
      .map((s) => ({ port: s.port, vrf: s.vrf, localAsn: s.localAsn, localAddress: s.localAddress, remoteAsn: s.remoteAsn, remoteAddress: s.remoteAddress, announcePrefixes: s.announcePrefixes })),
    vlans,
  };
}

/** A firewall's FRR model from its machine view; undefined when the machine is not an allocated firewall. */
export function firewallFrrModelOf(view: GetMachineViewResponse): FirewallFrrModel | undefined {
  const allocation = view.machine?.allocation;
  if (!allocation || allocation.role !== 2) return undefined;
  return {
    hostname: allocation.hostname || view.machine!.id,
    asn: allocation.asn,
    routerId: view.underlayIps[0] ?? "",
    uplinks: view.uplinks.map((u) => u.nic),
    networks: firewallNetworksOf(allocation.networks),
  };
}

/** The projects whose machines a switch's ports carry (their IPs shape the allow-lists). */
export const projectsOf = (view: GetSwitchViewResponse) => [...new Set(view.ports.map((p) => p.project).filter(Boolean))].sort();
