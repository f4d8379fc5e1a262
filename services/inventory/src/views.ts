// What a switch's or machine's renderer needs, computed from the inventory and live network data.
import { PortRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { firewallPortPrefixes, machinePortPrefixes } from "./filters.js";
import type { Lookup } from "./lookup.js";
import { NetworkType, type Network, type NetworkIp } from "./network.js";
import { Role } from "./machines.js";
import { NetworkRole, primaryOf, roleOf } from "./roles.js";
import { MachineState, type MachineRow, type MachineStore } from "./store/machines.js";
import type { SwitchRow } from "./store/switches.js";

export { PortRole };

export interface PortView {
  name: string;
  role: PortRole;
  adminState: 1 | 2;
  mtu: number;
  machine: string;
  project: string;
  network: string;
  vrf: number;
  allowedPrefixes: string[];
  firewallVnis: number[];
}

export interface VrfView {
  vrf: number;
  network: string;
  project: string;
  prefixes: string[];
}

export interface MachineNetworkView {
  network: Network;
  role: NetworkRole;
  ips: string[];
  /** For a firewall's view: the project's addresses in the network not bound to a firewall. */
  projectIps?: string[];
}

/** The networks of an allocated machine with their role and the machine's addresses in each. */
export async function machineNetworks(machine: MachineRow, lookup: Lookup): Promise<MachineNetworkView[]> {
  const allocation = machine.allocation;
  if (!allocation) return [];
  const networks = (await Promise.all(allocation.networks.map((n) => lookup.network(n.network)))).filter((n): n is Network => n !== undefined);
  const primary = primaryOf(networks, allocation.project);
  const ips = await lookup.machineIps(allocation.project, machine.id);
  return networks.map((network) => ({ network, role: roleOf(network, allocation.project, primary?.id), ips: ips.filter((ip) => ip.network === network.id).map((ip) => ip.ip) }));
}

/** The ids of the project's firewalls (their addresses are never a machine's to announce or a firewall's to publish). */
async function firewallIdsOf(machines: MachineStore, project: string): Promise<Set<string>> {
  return new Set((await machines.list({ project, role: Role.Firewall }, undefined, 10_000)).map((m) => m.id));
}

/** A firewall's networks with what its project publishes in each (addresses not bound to a firewall). */
export async function firewallNetworks(machine: MachineRow, lookup: Lookup, machines: MachineStore): Promise<MachineNetworkView[]> {
  const networks = await machineNetworks(machine, lookup);
  const project = machine.allocation?.project;
  if (!project) return networks;
  const firewalls = await firewallIdsOf(machines, project);
  const ips = (await lookup.ips(project)).filter((ip) => !firewalls.has(ip.machine));
  return networks.map((n) => ({ ...n, projectIps: ips.filter((ip) => ip.network === n.network.id).map((ip) => ip.ip).sort() }));
}

/**
 * Addresses a machine may announce besides its own network: the project's addresses in external
 * and shared networks (load-balancer and public addresses), not firewalls' — never addresses of
 * the project's other private networks, which live in other VRFs.
 */
async function announceableAddresses(project: string, lookup: Lookup, firewalls: ReadonlySet<string>): Promise<string[]> {
  return (await lookup.projectPublicIps(project)).filter((ip) => !firewalls.has(ip.machine)).map((ip) => ip.ip);
}

/** Reads what the machines' entries of a list need in one round of lists: their networks and their addresses. */
export async function readMachines(machines: readonly MachineRow[], lookup: Lookup): Promise<void> {
  const allocated = machines.filter((m) => m.allocation);
  await Promise.all([lookup.readNetworks(allocated.flatMap((m) => m.allocation!.networks.map((n) => n.network))), lookup.readMachineIps(allocated.map((m) => m.id))]);
}

/**
 * Reads what the ports of installed `machines` need in two rounds of lists, not a call per
 * machine: their networks, their addresses and their projects' public addresses, then the
 * parents of those networks (their additional announceable CIDRs).
 */
async function readPorts(machines: readonly MachineRow[], lookup: Lookup): Promise<void> {
  const projects = machines.flatMap((m) => (m.allocation?.role === Role.Machine ? [m.allocation.project] : []));
  await Promise.all([readMachines(machines, lookup), lookup.readPublicIps(projects)]);
  const networks = await Promise.all(machines.flatMap((m) => m.allocation?.networks.map((n) => lookup.network(n.network)) ?? []));
  await lookup.readNetworks(networks.flatMap((n) => (n?.parentNetwork ? [n.parentNetwork] : [])));
}

/** A switch with its connection map (port → machine). */
export interface CabledSwitch {
  sw: SwitchRow;
  connections: Map<string, string>;
}

/**
 * The switch as its renderer sees it. A port cabled to an installed machine is bound to the
 * machine's primary private network (its VRF) with the allow-list of that machine; a port of an
 * installed firewall is in the default VRF, filtered to the firewall's underlay addresses and the
 * VNIs of its networks; ports of machines that are not installed stay in the PXE VLAN.
 */
export async function switchView(cabled: CabledSwitch, machines: MachineStore, lookup: Lookup): Promise<SwitchView> {
  return (await switchViews([cabled], machines, lookup))[0]!;
}

export interface SwitchView {
  ports: PortView[];
  vrfs: VrfView[];
}

/** The views of several switches, from one read of their machines and those machines' networks. */
export async function switchViews(switches: readonly CabledSwitch[], machines: MachineStore, lookup: Lookup): Promise<SwitchView[]> {
  const machineRows = new Map((await machines.getMany([...new Set(switches.flatMap((s) => [...s.connections.values()]))])).map((r) => [r.id, r]));
  // A machine port announces its project's addresses: one list per project serves its machines' own too.
  await readPorts([...machineRows.values()].filter((m) => m.state === MachineState.Installed), lookup);
  const firewalls = new Map<string, Promise<Set<string>>>();
  const firewallsOf = (project: string) => {
    let found = firewalls.get(project);
    if (!found) firewalls.set(project, (found = firewallIdsOf(machines, project)));
    return found;
  };
  const portView = async (connections: Map<string, string>, vrfs: Map<number, VrfView>, port: SwitchRow["ports"][number]): Promise<PortView> => {
    const base: PortView = { name: port.name, role: PortRole.UNSPECIFIED, adminState: port.admin_state, mtu: port.mtu, machine: "", project: "", network: "", vrf: 0, allowedPrefixes: [], firewallVnis: [] };
    const machine = machineRows.get(connections.get(port.name) ?? "");
    if (port.uplink) return { ...base, role: PortRole.FABRIC };
    if (!machine) return base;
    if (machine.state !== MachineState.Installed || !machine.allocation) return { ...base, role: PortRole.UNPROVISIONED, machine: machine.id };
    const allocation = machine.allocation;
    const networks = await machineNetworks(machine, lookup);
    if (allocation.role === Role.Firewall) {
      const underlayIps = networks.filter((n) => n.network.type === NetworkType.UNDERLAY).flatMap((n) => n.ips);
      const vnis = networks.filter((n) => n.network.type !== NetworkType.UNDERLAY && n.network.vrf > 0).map((n) => n.network.vrf);
      return { ...base, role: PortRole.FIREWALL, machine: machine.id, project: allocation.project, allowedPrefixes: firewallPortPrefixes(underlayIps), firewallVnis: [...new Set(vnis)].sort((a, b) => a - b) };
    }
    const primary = networks.find((n) => n.role === NetworkRole.PRIVATE_PRIMARY)?.network;
    if (!primary) return { ...base, role: PortRole.UNPROVISIONED, machine: machine.id };
    const [parent, extra] = await Promise.all([primary.parentNetwork ? lookup.network(primary.parentNetwork) : undefined, firewallsOf(allocation.project).then((fws) => announceableAddresses(allocation.project, lookup, fws))]);
    vrfs.set(primary.vrf, { vrf: primary.vrf, network: primary.id, project: primary.project, prefixes: primary.prefixes });
    return {
      ...base,
      role: PortRole.MACHINE,
      machine: machine.id,
      project: allocation.project,
      network: primary.id,
      vrf: primary.vrf,
      allowedPrefixes: machinePortPrefixes(primary.prefixes, parent?.additionalAnnounceableCidrs ?? [], extra),
    };
  };
  return Promise.all(
    switches.map(async ({ sw, connections }) => {
      const vrfs = new Map<number, VrfView>();
      const ports = await Promise.all(sw.ports.map((port) => portView(connections, vrfs, port)));
      return { ports, vrfs: [...vrfs.values()].sort((a, b) => a.vrf - b.vrf) };
    }),
  );
}

export type { NetworkIp };
