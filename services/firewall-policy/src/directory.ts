// What the firewall-policy service reads from the inventory and network services, as the service
// principal `firewall-policy`: firewalls with their networks, networks, and the project's IPs.
import type { Client } from "@connectrpc/connect";
import { MachineRole, type Machine, type MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import type { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkType, type NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { firewallNetworksOf, type FirewallNetwork } from "@bulkhead/render";
import { allPages, isNotFound, MAX_PAGE_SIZE } from "@bulkhead/service-kit";

export { NetworkType };

export interface Firewall {
  id: string;
  project: string;
  networks: FirewallNetwork[];
}

/** An allocated firewall as the compiler sees it; undefined for anything else. */
function firewallOf(m: Machine): Firewall | undefined {
  const a = m.allocation;
  if (!a || a.role !== MachineRole.FIREWALL) return undefined;
  return {
    id: m.id,
    project: a.project,
    networks: firewallNetworksOf(a.networks, a.project),
  };
}

export class Directory {
  constructor(
    private readonly machines: Client<typeof MachineService>,
    private readonly networks: Client<typeof NetworkService>,
    private readonly ips: Client<typeof IPService>,
  ) {}

  async firewall(id: string): Promise<Firewall | undefined> {
    try {
      return firewallOf((await this.machines.getMachine({ id })).machine!);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The project's allocated firewalls (all pages). */
  async firewallsOf(project: string): Promise<Firewall[]> {
    return allPages(async (pageToken) => {
      const page = await this.machines.listMachines({ project, role: MachineRole.FIREWALL, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.machines.map(firewallOf).filter((f): f is Firewall => f !== undefined), next: page.nextPageToken };
    });
  }

  async network(id: string): Promise<{ id: string; type: NetworkType; project: string } | undefined> {
    try {
      const n = (await this.networks.getNetwork({ id })).network!;
      return { id: n.id, type: n.type, project: n.project };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** The addresses the project holds in a network. */
  async projectIps(project: string, network: string): Promise<string[]> {
    return allPages(async (pageToken) => {
      const page = await this.ips.listIPs({ project, network, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.ips.map((ip) => ip.ip), next: page.nextPageToken };
    });
  }
}
