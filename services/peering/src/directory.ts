// What the peering service reads from the network and inventory services, as the service
// principal `peering`. Networks are read live: their prefixes and VRFs are the network service's.
import type { Client } from "@connectrpc/connect";
import { MachineRole, NetworkRole, type Machine, type MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchRole, type SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NetworkType, type NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import type { ProjectService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import type { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { MAX_PAGE_SIZE, allPagesOf } from "@bulkhead/api/paging";
import { allPages, isNotFound } from "@bulkhead/service-kit";

export { NetworkType };

export interface NetworkFacts {
  id: string;
  type: NetworkType;
  /** Owner; empty for base networks and unrestricted external networks. */
  project: string;
  /** Empty for external networks. */
  partition: string;
  prefixes: string[];
  destinationPrefixes: string[];
  vrf: number;
}

export interface ExitPort {
  switch: string;
  partition: string;
  isExit: boolean;
  port?: { name: string; uplink: boolean };
}

const facts = (n: { id: string; type: NetworkType; project: string; partition: string; prefixes: string[]; destinationPrefixes: string[]; vrf: number }): NetworkFacts => ({
  id: n.id,
  type: n.type,
  project: n.project,
  partition: n.partition,
  prefixes: n.prefixes,
  destinationPrefixes: n.destinationPrefixes,
  vrf: n.vrf,
});

export class Directory {
  constructor(
    private readonly networks: Client<typeof NetworkService>,
    private readonly projects: Client<typeof ProjectService>,
    private readonly switches: Client<typeof SwitchService>,
    private readonly ips: Client<typeof IPService>,
    private readonly machines: Client<typeof MachineService>,
  ) {}

  /** A ready network, or undefined if there is none with that id. */
  async network(id: string): Promise<NetworkFacts | undefined> {
    try {
      return facts((await this.networks.getNetwork({ id })).network!);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every ready network matching the filter (all pages). */
  async listNetworks(filter: { partition?: string; project?: string } = {}): Promise<NetworkFacts[]> {
    return allPages(async (pageToken) => {
      const page = await this.networks.listNetworks({ partition: filter.partition ?? "", project: filter.project ?? "", pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.networks.map(facts), next: page.nextPageToken };
    });
  }

  /** Which of `ids` are networks (ready ones), read in lists of at most 1,000 ids. */
  async existing(ids: readonly string[]): Promise<string[]> {
    const networks = await allPagesOf(ids, async (chunk, pageToken) => {
      const page = await this.networks.listNetworks({ ids: chunk, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.networks, next: page.nextPageToken };
    });
    return networks.map((n) => n.id);
  }

  /**
   * The addresses a project holds in a network that no firewall of it is bound to: what its
   * machines may announce there (its published addresses, for an external network). A firewall's
   * own address lives on the firewall, never behind a tenant VRF.
   */
  async addressesOf(project: string, network: string): Promise<string[]> {
    const firewalls = new Set((await this.firewallsOf(project)).map((m) => m.id));
    const ips = await allPages(async (pageToken) => {
      const page = await this.ips.listIPs({ project, network, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.ips, next: page.nextPageToken };
    });
    return ips.filter((ip) => !firewalls.has(ip.machine)).map((ip) => ip.ip).sort();
  }

  /**
   * `primary|external` for each of the project's firewalls and each external network it is
   * attached to: the firewall governs its primary network's way to that external network.
   */
  async firewallExits(project: string): Promise<Set<string>> {
    const exits = new Set<string>();
    for (const fw of await this.firewallsOf(project)) {
      const networks = fw.allocation?.networks ?? [];
      const primary = networks.find((n) => n.role === NetworkRole.PRIVATE_PRIMARY);
      if (primary) for (const e of networks.filter((n) => n.role === NetworkRole.EXTERNAL)) exits.add(`${primary.network}|${e.network}`);
    }
    return exits;
  }

  /** The project's allocated firewalls (all pages). */
  private firewallsOf(project: string): Promise<Machine[]> {
    return allPages(async (pageToken) => {
      const page = await this.machines.listMachines({ project, role: MachineRole.FIREWALL, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.machines, next: page.nextPageToken };
    });
  }

  /** The project's labels, or undefined if the project does not exist. */
  async projectLabels(id: string): Promise<Record<string, string> | undefined> {
    try {
      return (await this.projects.getProject({ project: id })).project!.labels;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async projectsLabelled(labels: Record<string, string>): Promise<string[]> {
    const projects = await allPages(async (pageToken) => {
      const r = await this.projects.listProjects({ labels, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: r.projects, next: r.nextPageToken };
    });
    return projects.map((p) => p.id);
  }

  /** An exit switch port as the inventory knows it; undefined if there is no such switch. */
  async exitPort(switchId: string, portName: string): Promise<ExitPort | undefined> {
    let sw;
    try {
      sw = (await this.switches.getSwitch({ id: switchId })).switch!;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const port = sw.ports.find((p) => p.name === portName);
    return { switch: sw.id, partition: sw.partition, isExit: sw.role === SwitchRole.EXIT, port: port && { name: port.name, uplink: port.uplink } };
  }
}
