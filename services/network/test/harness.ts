// Starts IPAM and the network service against real Postgres and Valkey, sharing a JWT secret, and
// seeds a partition with a super network, an underlay and an internet network, a tenant and two
// projects.
import type { Client, Interceptor } from "@connectrpc/connect";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService, NetworkType, NatType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { ipamService } from "@bulkhead/ipam";
import { randomSecret, startTestService, type TestService } from "@bulkhead/testkit";
import { createNetworkService } from "../src/service.js";

export interface World {
  ipamService: TestService;
  network: TestService;
  admin: string;
  /** Admin clients. */
  networks: Client<typeof NetworkService>;
  ips: Client<typeof IPService>;
  ipam: Client<typeof IpamService>;
  projectA: string;
  projectB: string;
  /** Clients acting as an editor of project A, B. */
  editorA: { networks: Client<typeof NetworkService>; ips: Client<typeof IPService> };
  editorB: { networks: Client<typeof NetworkService>; ips: Client<typeof IPService> };
  stop(): Promise<void>;
}

export async function startWorld(options: { env?: Record<string, string>; ipamInterceptors?: Interceptor[] } = {}): Promise<World> {
  const secret = randomSecret();
  const ipamService_ = await startTestService(ipamService, { secret });
  const network = await startTestService(createNetworkService({ ipamInterceptors: options.ipamInterceptors }), {
    secret,
    env: { BULKHEAD_IPAM_URL: ipamService_.url, ...options.env },
  });
  const admin = await network.adminToken();
  const networks = network.client(NetworkService, admin);
  await network.client(PartitionService, admin).createPartition({ id: "fra1", name: "Frankfurt 1", dnsServers: ["1.1.1.1"] });
  await network.client(TenantService, admin).createTenant({ id: "acme", name: "ACME" });
  const projects = network.client(ProjectService, admin);
  const projectA = (await projects.createProject({ tenant: "acme", name: "a" })).project!.id;
  const projectB = (await projects.createProject({ tenant: "acme", name: "b" })).project!.id;
  await networks.createNetwork({
    id: "fra1-super",
    name: "tenant super",
    type: NetworkType.SUPER,
    partition: "fra1",
    prefixes: ["10.0.0.0/16", "2001:db8::/48"],
    defaultChildPrefixLength: { ipv4: 22, ipv6: 64 },
    minChildPrefixLength: { ipv4: 20, ipv6: 56 },
    additionalAnnounceableCidrs: ["10.240.0.0/12"],
  });
  await networks.createNetwork({ id: "fra1-underlay", name: "underlay", type: NetworkType.UNDERLAY, partition: "fra1", prefixes: ["10.255.0.0/16"] });
  await networks.createNetwork({
    id: "internet",
    name: "internet",
    type: NetworkType.EXTERNAL,
    prefixes: ["185.1.2.0/24"],
    destinationPrefixes: ["0.0.0.0/0"],
    vrf: 104009,
    natType: NatType.IPV4_MASQUERADE,
  });
  const editor = async (project: string) => {
    const token = await network.projectToken(project, "editor");
    return { networks: network.client(NetworkService, token), ips: network.client(IPService, token) };
  };
  return {
    ipamService: ipamService_,
    network,
    admin,
    networks,
    ips: network.client(IPService, admin),
    ipam: ipamService_.client(IpamService, await ipamService_.adminToken()),
    projectA,
    projectB,
    editorA: await editor(projectA),
    editorB: await editor(projectB),
    async stop() {
      await network.stop();
      await ipamService_.stop();
    },
  };
}

export { failure } from "@bulkhead/testkit";

export async function count(svc: TestService, sql: string): Promise<number> {
  return Number((await svc.service.pool.query(sql)).rows[0].count);
}
