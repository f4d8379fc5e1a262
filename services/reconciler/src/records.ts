// A partition's records, read through the services' public RPCs: networks (and every external
// network), peerings, switches, allocated machines with their connections and addresses, and the
// policies in force on each firewall. The isolation verifier's facts and the fabric lab's oracle
// are derived from these — never from the views the renderer consumed.
import type { Client } from "@connectrpc/connect";
import { allPagesOf } from "@bulkhead/api/paging";
import { allPages, MAX_PAGE_SIZE } from "@bulkhead/service-kit";
import { Protocol, type NetworkPolicy, type NetworkPolicyService } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { MachineRole, MachineState, type Machine, type MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import type { Switch, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import type { IP, IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkType, type Network, type NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import type { Peering, PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { RecordsPart, staleOf, type RecordsChange } from "./records-changes.js";

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

const ownAndExternalNetworks = async (services: RecordServices, partition: string): Promise<Network[]> => {
  const [own, external] = await Promise.all([allNetworks(services.networks, { partition }), allNetworks(services.networks, { type: NetworkType.EXTERNAL })]);
  return [...new Map([...own, ...external].map((n) => [n.id, n])).values()];
};

const allPeerings = (services: RecordServices, partition: string): Promise<Peering[]> =>
  allPages(async (pageToken) => {
    const r = await services.peering.listPeerings({ partition, pageSize: MAX_PAGE_SIZE, pageToken });
    return { items: r.peerings, next: r.nextPageToken };
  });

/** The allocated machines of the partition among `ids`. */
async function allocatedAmong(services: RecordServices, partition: string, ids: readonly string[]): Promise<Machine[]> {
  const listed = await allPagesOf(ids, async (chunk, pageToken) => {
    const r = await services.machines.listMachines({ partition, ids: chunk, pageSize: MAX_PAGE_SIZE, pageToken });
    return { items: r.machines, next: r.nextPageToken };
  });
  const asked = new Set(ids);
  return listed.filter((m) => asked.has(m.id) && m.partition === partition && isAllocated(m));
}

const firewallsAmong = (machines: readonly Machine[]) => machines.filter((m) => m.allocation!.role === MachineRole.FIREWALL).map((m) => m.id);

const publicNetworks = (networks: readonly Network[]) => networks.filter((x) => x.type === NetworkType.EXTERNAL || x.type === NetworkType.CHILD_SHARED);

export async function readRecords(services: RecordServices, partition: string): Promise<PartitionRecords> {
  const [networks, peerings, switches, machines] = await Promise.all([
    ownAndExternalNetworks(services, partition),
    allPeerings(services, partition),
    allSwitches(services.switches, { partition }),
    allMachines(services.machines, { partition }).then((all) => all.filter(isAllocated)),
  ]);
  return withPoliciesAndAddresses(services, { partition, networks, peerings, switches, machines }, {});
}

/**
 * A partition's records brought forward from `previous` by `changes`: only the parts they name
 * are read again — of the machines, those they name — the rest is `previous`'s. Read whole
 * without a previous read or when the changes are not all known.
 */
export async function refreshRecords(services: RecordServices, partition: string, previous: PartitionRecords | undefined, changes: readonly RecordsChange[] | undefined): Promise<PartitionRecords> {
  const stale = previous && changes ? staleOf(partition, changes) : undefined;
  if (!previous || !stale || stale.parts.has(RecordsPart.All)) return readRecords(services, partition);
  const again = (part: RecordsPart) => stale.parts.has(part);
  const [networks, peerings, switches, machines] = await Promise.all([
    again(RecordsPart.Networks) ? ownAndExternalNetworks(services, partition) : previous.networks,
    again(RecordsPart.Peerings) ? allPeerings(services, partition) : previous.peerings,
    again(RecordsPart.Switches) ? allSwitches(services.switches, { partition }) : previous.switches,
    machinesAfter(services, partition, previous.machines, stale.machines),
  ]);
  const firewallsChanged = firewallsAmong(machines).join() !== firewallsAmong(previous.machines).join();
  return withPoliciesAndAddresses(
    services,
    { partition, networks, peerings, switches, machines },
    {
      policies: again(RecordsPart.Policies) || firewallsChanged ? undefined : previous.policies,
      addresses: again(RecordsPart.Addresses) || again(RecordsPart.Networks) ? undefined : previous.addresses,
    },
  );
}

/** The records with their firewalls' policies and the addresses in public networks: read, unless `kept`. */
async function withPoliciesAndAddresses(services: RecordServices, records: Omit<PartitionRecords, "policies" | "addresses">, kept: Partial<Pick<PartitionRecords, "policies" | "addresses">>): Promise<PartitionRecords> {
  const firewalls = firewallsAmong(records.machines);
  const [policies, addresses] = await Promise.all([
    // What a firewall's ruleset may hold: every policy that compiles (one whose ruleset was refused still does).
    kept.policies ?? Promise.all(firewalls.map((fw) => allPolicies(services.policies, fw))).then((lists) => new Map(firewalls.map((fw, i) => [fw, lists[i]!.filter((p) => p.status?.compiles)]))),
    kept.addresses ?? Promise.all(publicNetworks(records.networks).map((n) => allIps(services.ips, n.id))).then((lists) => lists.flat()),
  ]);
  return { ...records, policies, addresses };
}

/** `previous` with the machines `changed` names read again (gone, or no longer allocated: left out). */
async function machinesAfter(services: RecordServices, partition: string, previous: readonly Machine[], changed: ReadonlySet<string>): Promise<Machine[]> {
  if (changed.size === 0) return [...previous];
  const byId = new Map(previous.filter((m) => !changed.has(m.id)).map((m) => [m.id, m]));
  for (const m of await allocatedAmong(services, partition, [...changed])) byId.set(m.id, m);
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
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
