// Network-service reads for one request, each fetched once: views and lists touch the same few
// networks and projects many times.
import { NetworkType, type Network, type NetworkIp, type NetworkPort } from "./network.js";

/** `promise`, marked handled: a failed read is reported by whoever awaits it, not as an unhandled rejection. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

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

  /** Reads the networks of `ids` not read yet in one list: a view of many machines needs them all. */
  async readNetworks(ids: Iterable<string>): Promise<void> {
    const missing = [...new Set(ids)].filter((id) => !this.networks.has(id));
    if (missing.length === 0) return;
    const read = this.port.networksById(missing);
    for (const id of missing) this.networks.set(id, handled(read.then((found) => found.get(id))));
    await read;
  }

  /** Reads the addresses of `projects` not read yet in one list: a list of many machines needs them all. */
  async readProjects(projects: Iterable<string>): Promise<void> {
    const missing = [...new Set(projects)].filter((project) => !this.projectIps.has(project));
    if (missing.length === 0) return;
    const read = this.port.projectsIps(missing);
    for (const project of missing) this.projectIps.set(project, handled(read.then((ips) => ips.filter((ip) => ip.project === project))));
    await read;
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
