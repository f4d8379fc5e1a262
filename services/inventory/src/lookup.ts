// Network-service reads for one request, each fetched once: views and lists touch the same few
// networks and projects many times. What many machines need is read in one list.
import { groupBy } from "@bulkhead/service-kit";
import { NetworkType, type Network, type NetworkIp, type NetworkPort } from "./network.js";

/** `promise`, marked handled: a failed read is reported by whoever awaits it, not as an unhandled rejection. */
function handled<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

/** Values by key, each read once: a key asked for alone is read alone, keys read together in one call. */
class Reads<T> {
  private readonly found = new Map<string, Promise<T>>();

  constructor(
    private readonly readOne: (key: string) => Promise<T>,
    private readonly readMany: (keys: string[]) => Promise<Map<string, T>>,
    private readonly absent: T,
  ) {}

  has(key: string): boolean {
    return this.found.has(key);
  }

  get(key: string): Promise<T> {
    let found = this.found.get(key);
    if (!found) this.found.set(key, (found = this.readOne(key)));
    return found;
  }

  /** `value` is what a read of `key` would answer now (nothing is read for it). */
  know(key: string, value: T): void {
    if (!this.found.has(key)) this.found.set(key, Promise.resolve(value));
  }

  /** Reads the keys not read yet, in one call. */
  async read(keys: Iterable<string>): Promise<void> {
    const missing = [...new Set(keys)].filter((key) => !this.found.has(key));
    if (missing.length === 0) return;
    const read = this.readMany(missing);
    for (const key of missing) this.found.set(key, handled(read.then((values) => values.get(key) ?? this.absent)));
    await read;
  }
}

/** A project's public addresses: those in external and shared networks. */
const PUBLIC_NETWORKS = [NetworkType.EXTERNAL, NetworkType.CHILD_SHARED];

export class Lookup {
  private readonly networks: Reads<Network | undefined>;
  private readonly projectIps: Reads<NetworkIp[]>;
  private readonly boundIps: Reads<NetworkIp[]>;
  private readonly publicIps: Reads<NetworkIp[]>;

  constructor(readonly port: NetworkPort) {
    this.networks = new Reads((id) => port.network(id), (ids) => port.networksById(ids), undefined);
    this.projectIps = new Reads((project) => port.listIps({ project }), async (projects) => groupBy(await port.listIpsOf("projects", projects), (ip) => ip.project), []);
    this.boundIps = new Reads((machine) => port.listIps({ machine }), async (machines) => groupBy(await port.listIpsOf("machines", machines), (ip) => ip.machine), []);
    const ofProjects = async (projects: string[]) => groupBy(await port.listIpsOf("projects", projects, PUBLIC_NETWORKS), (ip) => ip.project);
    this.publicIps = new Reads(async (project) => (await ofProjects([project])).get(project) ?? [], ofProjects, []);
  }

  network(id: string): Promise<Network | undefined> {
    return this.networks.get(id);
  }

  /** Every address owned by the project (machine-bound or not). */
  ips(project: string): Promise<NetworkIp[]> {
    return this.projectIps.get(project);
  }

  /** The project's addresses in external and shared networks (machine-bound or not). */
  projectPublicIps(project: string): Promise<NetworkIp[]> {
    return this.publicIps.get(project);
  }

  /** The addresses bound to `machine`: from its project's list when that was read, else its own. */
  async machineIps(project: string, machine: string): Promise<NetworkIp[]> {
    if (this.projectIps.has(project)) return (await this.projectIps.get(project)).filter((ip) => ip.machine === machine);
    return (await this.boundIps.get(machine)).filter((ip) => ip.project === project);
  }

  /** Every address bound to `machine` is `ips` (those its allocation just acquired): its answer reads none. */
  knowMachineIps(machine: string, ips: NetworkIp[]): void {
    this.boundIps.know(machine, ips);
  }

  /** Reads the networks of `ids` in one list. */
  readNetworks(ids: Iterable<string>): Promise<void> {
    return this.networks.read(ids);
  }

  /** Reads the addresses bound to each of `machines` in one list. */
  readMachineIps(machines: Iterable<string>): Promise<void> {
    return this.boundIps.read(machines);
  }

  /** Reads the public addresses of each of `projects` in one list. */
  readPublicIps(projects: Iterable<string>): Promise<void> {
    return this.publicIps.read(projects);
  }

  async isUnderlay(id: string): Promise<boolean> {
    return (await this.network(id))?.type === NetworkType.UNDERLAY;
  }
}
