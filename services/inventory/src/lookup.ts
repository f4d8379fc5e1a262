// Network-service reads for one request, each fetched once: views and lists touch the same few
// networks and projects many times.
import { NetworkType, type Network, type NetworkIp, type NetworkPort } from "./network.js";

export class Lookup {
  private readonly networks = new Map<string, Promise<Network | undefined>>();
  private readonly projectIps = new Map<string, Promise<NetworkIp[]>>();

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

  async machineIps(project: string, machine: string): Promise<NetworkIp[]> {
    return (await this.ips(project)).filter((ip) => ip.machine === machine);
  }

  async isUnderlay(id: string): Promise<boolean> {
    return (await this.network(id))?.type === NetworkType.UNDERLAY;
  }
}
