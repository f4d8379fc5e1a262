// The isolation verifier's facts, read from the services' records at verification time: the
// partition's networks (network service), its local peerings (peering service), and from the
// inventory which machine or firewall is on which switch port and what it may announce, and which
// networks each firewall is attached to.
import type { Client } from "@connectrpc/connect";
import type { GetMachineViewResponse } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { PortRole, type GetSwitchViewResponse } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NetworkType, type Network, type NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PeeringType, type PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import type { Facts, NetworkFact } from "@bulkhead/verify";

const kinds: Partial<Record<NetworkType, NetworkFact["kind"]>> = {
  [NetworkType.CHILD]: "private",
  [NetworkType.CHILD_SHARED]: "shared",
  [NetworkType.EXTERNAL]: "external",
  [NetworkType.UNDERLAY]: "underlay",
};

async function allNetworks(networks: Client<typeof NetworkService>, filter: { partition?: string; type?: NetworkType }): Promise<Network[]> {
  const out: Network[] = [];
  let pageToken = "";
  do {
    const page = await networks.listNetworks({ ...filter, pageSize: 1000, pageToken });
    out.push(...page.networks);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

/** A partition's networks (and the external ones, which may have no partition) and peerings. */
export async function partitionFacts(services: { networks: Client<typeof NetworkService>; peering: Client<typeof PeeringService> }, partition: string): Promise<Facts> {
  const [own, external, { peerings }] = await Promise.all([allNetworks(services.networks, { partition }), allNetworks(services.networks, { type: NetworkType.EXTERNAL }), services.peering.listPeerings({ partition })]);
  const byId = new Map([...own, ...external].map((n) => [n.id, n]));
  const networks: NetworkFact[] = [];
  for (const n of byId.values()) {
    const kind = kinds[n.type];
    if (kind) networks.push({ id: n.id, project: n.project, vrf: n.vrf, prefixes: n.prefixes, destinationPrefixes: n.destinationPrefixes, kind });
  }
  return {
    networks,
    peerings: peerings.filter((p) => p.type === PeeringType.LOCAL).map((p) => [p.network1, p.network2] as [string, string]),
    machinePorts: [],
    firewallPorts: [],
    firewalls: [],
    infrastructure: networks.filter((n) => n.kind === "underlay").flatMap((n) => n.prefixes),
  };
}

/** Adds what the inventory records for a switch's ports: who is cabled there and may announce what. */
export function addSwitch(facts: Facts, view: GetSwitchViewResponse): void {
  const sw = view.switch!;
  if (sw.routerId) facts.infrastructure.push(`${sw.routerId}/32`);
  for (const p of view.ports) {
    if (p.role === PortRole.MACHINE) facts.machinePorts.push({ switch: sw.id, port: p.name, machine: p.machine, network: p.network, allowed: p.allowedPrefixes });
    if (p.role === PortRole.FIREWALL) facts.firewallPorts.push({ switch: sw.id, port: p.name, firewall: p.machine, underlay: p.allowedPrefixes, vnis: p.firewallVnis });
  }
}

/** Adds a firewall and the networks attached to it. */
export function addFirewall(facts: Facts, view: GetMachineViewResponse): void {
  const allocation = view.machine?.allocation;
  if (allocation) facts.firewalls.push({ id: view.machine!.id, networks: allocation.networks.map((n) => n.network) });
}
