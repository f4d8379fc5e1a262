// A partition's records, read through the services' public RPCs: networks (and every external
// network), peerings, switches, allocated machines with their connections and addresses, and the
// policies in force on each firewall. The isolation verifier's facts and the fabric lab's oracle
// are derived from these — never from the views the renderer consumed.
import type { Client } from "@connectrpc/connect";
import { allPages, MAX_PAGE_SIZE } from "@bulkhead/service-kit";
import { Protocol, type NetworkPolicy, type NetworkPolicyService } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { MachineRole, MachineState, type Machine, type MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import type { Switch, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import type { IP, IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkType, type Network, type NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import type { Peering, PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";

export interface RecordServices {
  networks: Client<typeof NetworkService>;
  ips: Client<typeof IPService>;
  peering: Client<typeof PeeringService>;
  switches: Client<typeof SwitchService>;
  machines: Client<typeof MachineService>;
  policies: Client<typeof NetworkPolicyService>;
}

export interface PartitionRecords {
  partition: string;
  /** The partition's networks and every external network. */
  networks: Network[];
  peerings: Peering[];
  switches: Switch[];
  /** Allocated machines and firewalls of the partition (installed or being installed). */
  machines: Machine[];
  /** Policies in force (not rejected), by firewall. */
  policies: Map<string, NetworkPolicy[]>;
  /** Addresses projects hold in the shared and external networks (published, load-balancer and firewall addresses). */
  addresses: IP[];
}

export async function allNetworks(networks: Client<typeof NetworkService>, filter: { partition?: string; type?: NetworkType }): Promise<Network[]> {
  return allPages(async (pageToken) => {
    const r = await networks.listNetworks({ ...filter, pageSize: MAX_PAGE_SIZE, pageToken });
    return { items: r.networks, next: r.nextPageToken };
  });
}

export async function allMachines(machines: Client<typeof MachineService>, filter: { partition?: string; role?: MachineRole; project?: string }): Promise<Machine[]> {
  return allPages(async (pageToken) => {
    const r = await machines.listMachines({ ...filter, pageSize: MAX_PAGE_SIZE, pageToken });
    return { items: r.machines, next: r.nextPageToken };
  });
}

export async function allSwitches(switches: Client<typeof SwitchService>, filter: { partition?: string }): Promise<Switch[]> {
  return allPages(async (pageToken) => {
    const r = await switches.listSwitches({ ...filter, pageSize: MAX_PAGE_SIZE, pageToken });
    return { items: r.switches, next: r.nextPageToken };
  });
}

async function allPolicies(policies: Client<typeof NetworkPolicyService>, firewall: string): Promise<NetworkPolicy[]> {
  return allPages(async (pageToken) => {
    const r = await policies.listPolicies({ firewall, pageSize: MAX_PAGE_SIZE, pageToken });
    return { items: r.policies, next: r.nextPageToken };
  });
}

async function allIps(ips: Client<typeof IPService>, network: string): Promise<IP[]> {
  return allPages(async (pageToken) => {
    const r = await ips.listIPs({ network, pageSize: MAX_PAGE_SIZE, pageToken });
    return { items: r.ips, next: r.nextPageToken };
  });
}

/** Machines and firewalls with an allocation (being installed, or installed: their ports are bound). */
export const isAllocated = (m: Machine) => m.allocation !== undefined && (m.state === MachineState.ALLOCATED || m.state === MachineState.INSTALLED);

export const isInstalled = (m: Machine) => m.state === MachineState.INSTALLED;

export async function readRecords(services: RecordServices, partition: string): Promise<PartitionRecords> {
  const [own, external, peerings, switches, machines] = await Promise.all([
    allNetworks(services.networks, { partition }),
    allNetworks(services.networks, { type: NetworkType.EXTERNAL }),
    allPages(async (pageToken) => {
      const r = await services.peering.listPeerings({ partition, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: r.peerings, next: r.nextPageToken };
    }),
    allSwitches(services.switches, { partition }),
    allMachines(services.machines, { partition }),
  ]);
  const networks = [...new Map([...own, ...external].map((n) => [n.id, n])).values()];
  const allocated = machines.filter(isAllocated);
  const firewalls = allocated.filter((m) => m.allocation!.role === MachineRole.FIREWALL);
  const [policyLists, addressLists] = await Promise.all([
    Promise.all(firewalls.map((fw) => allPolicies(services.policies, fw.id))),
    Promise.all(networks.filter((x) => x.type === NetworkType.EXTERNAL || x.type === NetworkType.CHILD_SHARED).map((n) => allIps(services.ips, n.id))),
  ]);
  // What a firewall's ruleset may hold: every policy that compiles (one whose ruleset was refused still does).
  const policies = new Map(firewalls.map((fw, i) => [fw.id, policyLists[i]!.filter((p) => p.status?.compiles)]));
  return { partition, networks, peerings, switches, machines: allocated, policies, addresses: addressLists.flat() };
}

/** A policy rule as plain data: peers with exceptions, and port ranges (`to` = `from` for one port). */
export interface PolicyRule {
  peers: { cidr: string; except: string[] }[];
  ports: { protocol: "tcp" | "udp"; from: number; to: number }[];
}

const protocols: Record<number, "tcp" | "udp"> = { [Protocol.TCP]: "tcp", [Protocol.UDP]: "udp" };

export function rules(list: readonly { from?: { cidr: string; except: string[] }[]; to?: { cidr: string; except: string[] }[]; ports: { protocol: Protocol; port: number; endPort: number }[] }[]): PolicyRule[] {
  return list.map((r) => ({
    peers: (r.from ?? r.to ?? []).map((p) => ({ cidr: p.cidr, except: p.except })),
    ports: r.ports.map((p) => ({ protocol: protocols[p.protocol] ?? "tcp", from: p.port, to: p.endPort || p.port })),
  }));
}

/** The policies in force on each firewall, as the verifier's and the lab's facts hold them. */
export const policiesOf = (records: PartitionRecords) =>
  [...records.policies].flatMap(([firewall, list]) => list.map((p) => ({ firewall, name: p.name, ingress: rules(p.ingress), egress: rules(p.egress) })));
