// The calls the inventory makes to the network service, as a service principal. Compensating
// calls are idempotent: releasing what is already gone succeeds.
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import type { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkType, type Network, type NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { MAX_PAGE_SIZE, allPagesOf } from "@bulkhead/api/paging";
import { allPages } from "@bulkhead/service-kit";

export { NetworkType, type Network };

export interface NetworkIp {
  uuid: string;
  ip: string;
  network: string;
  project: string;
  machine: string;
  type: number;
}

export class NetworkPort {
  constructor(
    private readonly networks: Client<typeof NetworkService>,
    private readonly ips: Client<typeof IPService>,
  ) {}

  /** The network, or undefined if there is none with that id. */
  async network(id: string): Promise<Network | undefined> {
    try {
      return (await this.networks.getNetwork({ id })).network;
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
      throw error;
    }
  }

  /** The networks of `ids` that exist, by id, read in lists (at most 1,000 ids a call, as the contract allows). */
  async networksById(ids: readonly string[]): Promise<Map<string, Network>> {
    const networks = await allPagesOf(ids, async (chunk, pageToken) => {
      const page = await this.networks.listNetworks({ ids: chunk, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.networks, next: page.nextPageToken };
    });
    return new Map(networks.map((n) => [n.id, n]));
  }

  async underlayOf(partition: string): Promise<Network | undefined> {
    return (await this.networks.listNetworks({ partition, type: NetworkType.UNDERLAY, pageSize: 1 })).networks[0];
  }

  /** Binds an address of `network` to `machine` (the given one, or the next free), one per call; idempotent by `requestId`. */
  async allocateIp(project: string, network: string, family: 4 | 6, machine: string, requestId: string, address = ""): Promise<NetworkIp> {
    const { ip } = await this.ips.allocateIP({ project, network, machine, requestId, ip: address, addressFamily: family === 4 ? AddressFamily.IPV4 : AddressFamily.IPV6 });
    return toIp(ip!);
  }

  async ip(uuid: string): Promise<NetworkIp | undefined> {
    try {
      return toIp((await this.ips.getIP({ uuid })).ip!);
    } catch (error) {
      if (error instanceof ConnectError && error.code === Code.NotFound) return undefined;
      throw error;
    }
  }

  /** Every address matching the filter (all pages). */
  async listIps(filter: { machine?: string; project?: string; network?: string }): Promise<NetworkIp[]> {
    return allPages(async (pageToken) => {
      const page = await this.ips.listIPs({ machine: filter.machine ?? "", project: filter.project ?? "", network: filter.network ?? "", pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.ips.map(toIp), next: page.nextPageToken };
    });
  }

  /** Every address of one of `ids` (projects or machines), in networks of `networkTypes` if given: all pages, at most 1,000 ids a call. */
  async listIpsOf(by: "projects" | "machines", ids: readonly string[], networkTypes: NetworkType[] = []): Promise<NetworkIp[]> {
    return allPagesOf(ids, async (chunk, pageToken) => {
      const page = await this.ips.listIPs({ [by]: chunk, networkTypes, pageSize: MAX_PAGE_SIZE, pageToken });
      return { items: page.ips.map(toIp), next: page.nextPageToken };
    });
  }

  /** Binds an address the project holds to `machine`; binding it again is a no-op. */
  async bindIp(uuid: string, machine: string): Promise<void> {
    await this.ips.updateIP({ uuid, machine });
  }

  /** Unbinds an address from its machine; the address stays the project's. Gone is fine. */
  async unbindIp(uuid: string): Promise<void> {
    try {
      await this.ips.updateIP({ uuid, machine: "" });
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.NotFound)) throw error;
    }
  }

  async releaseIp(uuid: string): Promise<void> {
    try {
      await this.ips.releaseIP({ uuid });
    } catch (error) {
      if (!(error instanceof ConnectError && error.code === Code.NotFound)) throw error;
    }
  }
}

const toIp = (ip: { uuid: string; ip: string; network: string; project: string; machine: string; type: number }): NetworkIp => ({
  uuid: ip.uuid,
  ip: ip.ip,
  network: ip.network,
  project: ip.project,
  machine: ip.machine,
  type: ip.type,
});
