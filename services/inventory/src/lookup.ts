// Network-service reads for one request, each fetched once: views and lists touch the same few
// networks and projects many times.
import { NetworkType, type Network, type NetworkIp, type NetworkPort } from "./network.js";

export class Lookup {
  private readonly networks = new Map<string, Promise<Network | undefined>>();
  private readonly projectIps = new Map<string, Promise<NetworkIp[]>>();
  private readonly boundIps = new Map<string, Promise<NetworkIp[]>>();

  constructor(readonly port: NetworkPort) {}

  network(id: string): Promise<Network | undefined> {
    let found = this.networks.get(id);
    if (!found) this.networks.set(id, (found = this.port.network(id)));
    return found;
  }

  /** Every address owned by the project (machine-bound or not). */
  ips(project: string): Promise<NetworkIp[]> {
    let found = this.projectIps.get(project);
    if (!found) this.projectIps.set(project, (found = this.port.listIps({ project })));
    return found;
  }

  /** Reads the addresses of each of `projects` at once: a list of many machines needs them all. */
  async readProjects(projects: Iterable<string>): Promise<void> {
    await Promise.all([...new Set(projects)].map((project) => this.ips(project)));
  }

  /** The addresses bound to `machine`: from its project's list when that was read, else its own. */
  async machineIps(project: string, machine: string): Promise<NetworkIp[]> {
    const projectIps = this.projectIps.get(project);
    if (projectIps) return (await projectIps).filter((ip) => ip.machine === machine);
    let found = this.boundIps.get(machine);
    if (!found) this.boundIps.set(machine, (found = this.port.listIps({ machine })));
    return (await found).filter((ip) => ip.project === project);
  }

  async isUnderlay(id: string): Promise<boolean> {
    return (await this.network(id))?.type === NetworkType.UNDERLAY;
  }
}
