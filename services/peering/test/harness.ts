// IPAM, network, inventory and peering against real Postgres and Valkey, sharing a JWT secret. The
// network service knows the peering service's address (chosen up front) unless told otherwise.
//   fra1: super 10.0.0.0/16 + 2001:db8::/48, underlay; exit01 (exit switch, Ethernet0-2, uplink
//         Ethernet3) and leaf01
//   fra2: namespaced super 10.8.0.0/16 (children of different projects may overlap)
//   internet: external, VRF 104009, destination 0.0.0.0/0
//   projects A and B of tenant acme
import { randomBytes } from "node:crypto";
import type { Client } from "@connectrpc/connect";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NatType, NetworkService, NetworkType, type Network } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { inventoryService } from "@bulkhead/inventory";
import { ipamService } from "@bulkhead/ipam";
import { networkService } from "@bulkhead/network";
import { freePort, randomSecret, startTestService, type TestService } from "@bulkhead/testkit";
import { peeringService } from "../src/service.js";

export { failure } from "@bulkhead/testkit";

export interface World {
  ipam: TestService;
  network: TestService;
  inventory: TestService;
  peering: TestService;
  /** Admin clients. */
  peerings: Client<typeof PeeringService>;
  networks: Client<typeof NetworkService>;
  projects: Client<typeof ProjectService>;
  projectA: string;
  projectB: string;
  editor(project: string): Promise<{ peerings: Client<typeof PeeringService>; networks: Client<typeof NetworkService>; ips: Client<typeof IPService> }>;
  /** Allocates a private network of the project (IPv4 unless dual). */
  allocate(project: string, name: string, options?: { partition?: string; shared?: boolean; dual?: boolean }): Promise<Network>;
  count(sql: string): Promise<number>;
  stop(): Promise<void>;
}

export async function startWorld(options: { notifyPeering?: boolean; peeringEnv?: Record<string, string> } = {}): Promise<World> {
  const secret = randomSecret();
  const peeringPort = await freePort();
  // What started is stopped again if a later step fails: a suite whose setup failed must end (and
  // fail), not hang on the services it left running.
  const started: TestService[] = [];
  const start = async (...args: Parameters<typeof startTestService>) => {
    const service = await startTestService(...args);
    started.push(service);
    return service;
  };
  let ipam: TestService, network: TestService, inventory: TestService, peering: TestService;
  try {
    ipam = await start(ipamService, { secret });
    network = await start(networkService, {
      secret,
      env: { BULKHEAD_IPAM_URL: ipam.url, ...(options.notifyPeering === false ? {} : { BULKHEAD_PEERING_URL: `http://127.0.0.1:${peeringPort}` }) },
    });
    inventory = await start(inventoryService, { secret, env: { BULKHEAD_NETWORK_URL: network.url, BULKHEAD_SECRETS_KEY: randomBytes(32).toString("base64") } });
    peering = await start(peeringService, {
      secret,
      env: { PORT: String(peeringPort), BULKHEAD_NETWORK_URL: network.url, BULKHEAD_INVENTORY_URL: inventory.url, BULKHEAD_PEERING_SWEEP_MS: "3600000", ...options.peeringEnv },
    });
  } catch (error) {
    for (const service of started.reverse()) await service.stop().catch(() => {});
    throw error;
  }

  const admin = await network.adminToken();
  const networks = network.client(NetworkService, admin);
  const projects = network.client(ProjectService, admin);
  const partitions = network.client(PartitionService, admin);
  await partitions.createPartition({ id: "fra1", name: "Frankfurt 1" });
  await partitions.createPartition({ id: "fra2", name: "Frankfurt 2" });
  await network.client(TenantService, admin).createTenant({ id: "acme", name: "ACME" });
  const projectA = (await projects.createProject({ tenant: "acme", name: "a" })).project!.id;
  const projectB = (await projects.createProject({ tenant: "acme", name: "b" })).project!.id;
  await networks.createNetwork({ id: "super", name: "super", type: NetworkType.SUPER, partition: "fra1", prefixes: ["10.0.0.0/16", "2001:db8::/48"], defaultChildPrefixLength: { ipv4: 24, ipv6: 64 } });
  await networks.createNetwork({ id: "super-ns", name: "namespaced", type: NetworkType.SUPER_NAMESPACED, partition: "fra2", prefixes: ["10.8.0.0/16"], defaultChildPrefixLength: { ipv4: 24 } });
  await networks.createNetwork({ id: "underlay", name: "underlay", type: NetworkType.UNDERLAY, partition: "fra1", prefixes: ["10.255.0.0/16"] });
  await networks.createNetwork({ id: "internet", name: "internet", type: NetworkType.EXTERNAL, prefixes: ["185.1.2.0/24"], destinationPrefixes: ["0.0.0.0/0"], vrf: 104009, natType: NatType.IPV4_MASQUERADE });

  for (const [device, role, routerId] of [["exit01", SwitchRole.EXIT, "10.255.255.9"], ["leaf01", SwitchRole.LEAF, "10.255.255.10"]] as const) {
    await inventory.client(SwitchService, await inventory.agentToken(device)).registerSwitch({
      device,
      partition: "fra1",
      rack: "r1",
      role,
      asn: 4200000100,
      routerId,
      os: { vendor: "SONiC", version: "202411" },
      agentVersion: "1.0.0",
      ports: ["Ethernet0", "Ethernet1", "Ethernet2", "Ethernet3"].map((name, i) => ({ name, identifier: `Eth1/${i + 1}`, uplink: name === "Ethernet3" })),
    });
  }

  return {
    ipam,
    network,
    inventory,
    peering,
    peerings: peering.client(PeeringService, admin),
    networks,
    projects,
    projectA,
    projectB,
    async editor(project) {
      const token = await network.projectToken(project, "editor");
      return { peerings: peering.client(PeeringService, token), networks: network.client(NetworkService, token), ips: network.client(IPService, token) };
    },
    async allocate(project, name, o = {}) {
      const request = { project, partition: o.partition ?? "fra1", name, shared: o.shared ?? false, addressFamily: o.dual ? AddressFamily.UNSPECIFIED : AddressFamily.IPV4 };
      return (await networks.allocateNetwork(request)).network!;
    },
    count: async (sql) => Number((await peering.service.pool.query(sql)).rows[0].count),
    async stop() {
      await peering.stop();
      await inventory.stop();
      await network.stop();
      await ipam.stop();
    },
  };
}
