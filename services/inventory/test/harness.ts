// IPAM, network and inventory against real Postgres and Valkey, sharing a JWT secret, with a
// partition (super, underlay, internet), two projects, a private network of A, a shared storage
// network of B, an image, and a small fabric: leaf01 and leaf02 in rack r1, leaf03 in rack r2,
// spine01.
import { createHash, randomBytes } from "node:crypto";
import type { Client, Interceptor } from "@connectrpc/connect";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { create } from "@bufbuild/protobuf";
import { ImageService, MachineService, NicSchema } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NatType, NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { ipamService } from "@bulkhead/ipam";
import { networkService } from "@bulkhead/network";
import { randomSecret, startTestService, type TestService } from "@bulkhead/testkit";
import { createInventoryService } from "../src/service.js";

export { failure } from "@bulkhead/testkit";

export interface Fabric {
  ipam: TestService;
  network: TestService;
  inventory: TestService;
  admin: string;
  machines: Client<typeof MachineService>;
  switches: Client<typeof SwitchService>;
  networks: Client<typeof NetworkService>;
  ips: Client<typeof IPService>;
  projectA: string;
  projectB: string;
  /** A's private network (dual stack) and B's shared storage network (IPv4). */
  netA: { id: string; vrf: number; prefixes: string[] };
  storageB: { id: string; vrf: number; prefixes: string[] };
  editor(project: string): Promise<Client<typeof MachineService>>;
  /** Registers a machine as its PXE agent would; neighbors are [switch, port] per NIC. */
  register(id: string, neighbors: [string, string][], bmc?: { address: string; username: string; password: string }): ReturnType<Client<typeof MachineService>["registerMachine"]>;
  secretsKey: string;
  stop(): Promise<void>;
}

export const leafPorts = ["swp1", "swp2", "swp3", "swp4", "swp31", "swp32"];
/** A stable MAC per machine and NIC. */
export const macOf = (machine: string, nic: number) => `aa:bb:${createHash("sha256").update(machine).digest("hex").slice(0, 6).replace(/(..)(?!$)/g, "$1:")}:${(16 + nic).toString(16)}`;
export const isUplink = (port: string) => port === "swp31" || port === "swp32";

export async function startFabric(options: { env?: Record<string, string>; commonEnv?: Record<string, string>; networkInterceptors?: Interceptor[] } = {}): Promise<Fabric> {
  const secret = randomSecret();
  const secretsKey = randomBytes(32).toString("base64");
  const common = options.commonEnv ?? {};
  const ipam = await startTestService(ipamService, { secret, env: common });
  const network = await startTestService(networkService, { secret, env: { ...common, BULKHEAD_IPAM_URL: ipam.url } });
  const inventory = await startTestService(createInventoryService({ networkInterceptors: options.networkInterceptors }), {
    secret,
    captureLogs: true,
    env: { ...common, BULKHEAD_NETWORK_URL: network.url, BULKHEAD_SECRETS_KEY: secretsKey, BULKHEAD_SAGA_TIMEOUT_MS: "3000", ...options.env },
  });
  const admin = await network.adminToken();
  const networks = network.client(NetworkService, admin);
  await network.client(PartitionService, admin).createPartition({ id: "fra1", name: "Frankfurt 1" });
  await network.client(TenantService, admin).createTenant({ id: "acme", name: "ACME" });
  const projects = network.client(ProjectService, admin);
  const projectA = (await projects.createProject({ tenant: "acme", name: "a" })).project!.id;
  const projectB = (await projects.createProject({ tenant: "acme", name: "b" })).project!.id;
  await networks.createNetwork({ id: "super", name: "super", type: NetworkType.SUPER, partition: "fra1", prefixes: ["10.0.0.0/16", "2001:db8::/48"], defaultChildPrefixLength: { ipv4: 22, ipv6: 64 }, additionalAnnounceableCidrs: ["10.240.0.0/12"] });
  await networks.createNetwork({ id: "underlay", name: "underlay", type: NetworkType.UNDERLAY, partition: "fra1", prefixes: ["10.255.0.0/16"] });
  await networks.createNetwork({ id: "internet", name: "internet", type: NetworkType.EXTERNAL, prefixes: ["185.1.2.0/24"], destinationPrefixes: ["0.0.0.0/0"], vrf: 104009, natType: NatType.IPV4_MASQUERADE });
  const netA = (await networks.allocateNetwork({ project: projectA, partition: "fra1", name: "a-net" })).network!;
  const storageB = (await networks.allocateNetwork({ project: projectB, partition: "fra1", name: "storage", shared: true, addressFamily: AddressFamily.IPV4 })).network!;
  await inventory.client(ImageService, await inventory.adminToken()).createImage({ name: "ubuntu-24-04", url: "https://images.example.org/ubuntu-24.04.img", checksum: { algorithm: "sha256", digest: "a".repeat(64) } });

  const switches = inventory.client(SwitchService, admin);
  for (const [device, rack, role] of [["leaf01", "r1", SwitchRole.LEAF], ["leaf02", "r1", SwitchRole.LEAF], ["leaf03", "r2", SwitchRole.LEAF], ["spine01", "r1", SwitchRole.SPINE]] as const) {
    const agent = inventory.client(SwitchService, await inventory.agentToken(device));
    await agent.registerSwitch({
      device,
      partition: "fra1",
      rack,
      role,
      asn: 4200000000 + device.length + rack.length,
      routerId: `10.255.255.${device.endsWith("1") ? 1 : device.endsWith("2") ? 2 : 3}`,
      os: { vendor: "Cumulus", version: "5.9.1" },
      agentVersion: "1.0.0",
      ports: leafPorts.map((name, i) => ({ name, identifier: `Eth1/${i + 1}`, mtu: 9216, uplink: isUplink(name) })),
    });
  }
  const machines = inventory.client(MachineService, admin);
  return {
    ipam,
    network,
    inventory,
    admin,
    machines,
    switches,
    networks,
    ips: network.client(IPService, admin),
    projectA,
    projectB,
    netA: { id: netA.id, vrf: netA.vrf, prefixes: netA.prefixes },
    storageB: { id: storageB.id, vrf: storageB.vrf, prefixes: storageB.prefixes },
    editor: async (project) => inventory.client(MachineService, await inventory.projectToken(project, "editor")),
    async register(id, neighbors, bmc) {
      const agent = inventory.client(MachineService, await inventory.agentToken(id));
      const nics = neighbors.map(([sw, port], i) => create(NicSchema, { name: `lan${i}`, mac: macOf(id, i), neighbors: sw ? [{ switch: sw, port }] : [] }));
      return agent.registerMachine({ device: id, nics, bmc });
    },
    secretsKey,
    async stop() {
      await inventory.stop();
      await network.stop();
      await ipam.stop();
    },
  };
}
