// Device models from the services' view RPCs: the inventory's switch and machine views, the
// peering service's leak plan. Pure mappers, so the reconciler's render jobs stay thin.
import { NetworkRole, type MachineNetwork, type GetMachineViewResponse } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { PortRole, PortState, type GetSwitchViewResponse } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NatType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import type { GetRouteLeakPlanResponse } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { switchFlavourOf } from "@bulkhead/api/switch-os";
import type { FirewallFrrModel } from "./firewall-frr.js";
import type { FirewallNetwork, NetworkRole as Role } from "./firewall-model.js";
import type { SwitchModel, SwitchPortRole } from "./switch.js";

const networkRoles: Record<number, Role> = {
  [NetworkRole.PRIVATE_PRIMARY]: "primary",
  [NetworkRole.PRIVATE_SECONDARY_SHARED]: "shared",
  [NetworkRole.EXTERNAL]: "external",
  [NetworkRole.UNDERLAY]: "underlay",
};

/** A firewall's networks as the inventory classifies them; `project` is the firewall's. */
export const firewallNetworksOf = (networks: readonly MachineNetwork[], project: string): FirewallNetwork[] =>
  networks.map((n) => ({
    id: n.network,
    role: networkRoles[n.role] ?? "external",
    vrf: n.vrf,
    prefixes: n.prefixes,
    destinationPrefixes: n.destinationPrefixes,
    nat: n.natType === NatType.IPV4_MASQUERADE,
    dmz: n.role === NetworkRole.PRIVATE_SECONDARY_SHARED && n.natType === NatType.IPV4_MASQUERADE && n.destinationPrefixes.length > 0 && n.project === project,
    ips: n.ips,
    projectIps: n.projectIps,
  }));

export class UnsupportedSwitch extends Error {
  constructor(
    readonly device: string,
    problem: string,
  ) {
    super(`switch ${device} is not configured: ${problem}`);
  }
}

const portRoles: Record<number, SwitchPortRole> = {
  [PortRole.FABRIC]: "fabric",
  [PortRole.MACHINE]: "machine",
  [PortRole.FIREWALL]: "firewall",
};

/**
 * A switch's model: its ports and tenant VRFs from the switch view, each VRF's imports and the
 * switch's external sessions from the partition's leak plan. A VRF the switch carries only to
 * import from it (a peer of a local VRF) takes, in turn, what it imports from the VRFs carried
 * here — so a peered network's routes enter it where the network is. `vlans` is the previous
 * assignment.
 */
export function switchModelOf(view: GetSwitchViewResponse, plan: GetRouteLeakPlanResponse, vlans: Readonly<Record<string, number>>): SwitchModel {
  const sw = view.switch!;
  const os = switchFlavourOf(sw.os);
  // The inventory refuses such a registration; a record from before that rule is not guessed at.
  if ("problem" in os) throw new UnsupportedSwitch(sw.id, os.problem);
  const plans = new Map(plan.vrfs.map((v) => [v.vrf, v]));
  const sessions = plan.externalSessions.filter((s) => s.switch === sw.id);
  // VRFs with machines here import from their peers; any other VRF carried here (a peer's, an
  // external session's) imports only from the VRFs with machines here.
  const withMachines = new Set(view.vrfs.map((v) => v.vrf));
  const carried = new Set([...withMachines, ...sessions.map((s) => s.vrf)]);
  for (const vrf of withMachines) for (const i of plans.get(vrf)?.imports ?? []) carried.add(i.fromVrf);
  const importsOf = (vrf: number) => (plans.get(vrf)?.imports ?? []).filter((i) => withMachines.has(vrf) || withMachines.has(i.fromVrf)).map((i) => ({ fromVrf: i.fromVrf, prefixes: i.prefixes, peering: i.peering }));
  const prefixesOf = (vrf: number) => view.vrfs.find((v) => v.vrf === vrf)?.prefixes ?? plans.get(vrf)?.prefixes ?? [];
  return {
    hostname: sw.id,
    flavour: os.flavour,
    management: sw.management ? { address: sw.management.address, gateway: sw.management.gateway, routes: sw.management.routes } : undefined,
    pxeAddress: sw.pxeAddress || undefined,
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
      machine: p.machine || undefined,
    })),
    vrfs: [...carried].sort((a, b) => a - b).map((vrf) => ({ vrf, prefixes: prefixesOf(vrf), imports: importsOf(vrf) })),
    externalSessions: sessions.map((s) => ({
      peering: s.peering,
      port: s.port,
      vrf: s.vrf,
      localAsn: s.localAsn,
      localAddress: s.localAddress,
      remoteAsn: s.remoteAsn,
      remoteAddress: s.remoteAddress,
      announcePrefixes: s.announcePrefixes,
      remotePrefixes: s.remotePrefixes,
      deniedPrefixes: s.deniedPrefixes,
      maximumPrefixes: s.maximumPrefixes,
    })),
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
    networks: firewallNetworksOf(allocation.networks, allocation.project),
  };
}

/** The projects whose machines a switch's ports carry (their IPs shape the allow-lists). */
export const projectsOf = (view: GetSwitchViewResponse) => [...new Set(view.ports.map((p) => p.project).filter(Boolean))].sort();
