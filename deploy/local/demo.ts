// The demo fabric `npm start` brings up: partition `demo` with 2 spines, 4 leaves in 2 racks and an
// exit switch, 8 dual-homed machines and a firewall registered with their LLDP neighbors, the
// super, underlay and internet networks, tenant `acme` with project `web`. Simulated agents
// (metal-core for the leaves and the exit switch, the firewall agent for fw01) write what they
// apply under <data>/devices/<device>/, and a simulated installer reports every allocated
// machine installed, as its PXE image would.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { MachineService, MachineState, NicSchema, ImageService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { NatType, NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { allPages, createServiceClient, startService, type RunningService } from "@bulkhead/service-kit";
import { tlsEnv, type Certificate } from "./credentials.js";
import { services } from "./services.js";
import { firewallAgentService } from "@bulkhead/firewall-agent";
import { metalCoreService } from "@bulkhead/metal-core";

export const PARTITION = "demo";
const PORTS = ["swp1", "swp2", "swp3", "swp4", "swp5", "swp6", "swp7", "swp8", "swp31", "swp32"];
const isUplink = (port: string) => port === "swp31" || port === "swp32";

const SWITCHES = [
  { id: "spine01", rack: "r0", role: "spine" as const, n: 1 },
  { id: "spine02", rack: "r0", role: "spine" as const, n: 2 },
  { id: "leaf01", rack: "r1", role: "leaf" as const, n: 11 },
  { id: "leaf02", rack: "r1", role: "leaf" as const, n: 12 },
  { id: "leaf03", rack: "r2", role: "leaf" as const, n: 21 },
  { id: "leaf04", rack: "r2", role: "leaf" as const, n: 22 },
  { id: "exit01", rack: "r0", role: "exit" as const, n: 31 },
];
/** Machines: m01–m04 in rack r1 (leaf01/leaf02), m05–m08 in r2 (leaf03/leaf04), port = index in the rack; fw01 on r1's swp5. */
const MACHINES = [
  ...Array.from({ length: 8 }, (_, i) => ({ id: `m0${i + 1}`, leaves: i < 4 ? ["leaf01", "leaf02"] : ["leaf03", "leaf04"], port: `swp${(i % 4) + 1}` })),
  { id: "fw01", leaves: ["leaf01", "leaf02"], port: "swp5" },
];
const mac = (machine: string, nic: number) => `02:b0:${Buffer.from(machine.padEnd(3, "0")).subarray(0, 3).toString("hex").replace(/(..)(?=.)/g, "$1:")}:0${nic}`;

export interface Demo {
  project: string;
  stop(): Promise<void>;
}

interface Context {
  urls: Record<string, string>;
  admin: string;
  agentToken(device: string): Promise<string>;
  /** The reconciler's public key: agents accept only its tokens, bound to their device. */
  agentPublicKeyFile: string;
  /** With --tls: the local CA and each device's certificate (naming the device: the reconciler checks it). */
  tls?: { caFile: string; certificate(device: string): Certificate };
  dataDir: string;
  basePort: number;
  validate: { frr: string; nft: string };
  say(line: string): void;
}

/** The demo's agents listen from BULKHEAD_BASE_PORT + this: one port per leaf and exit switch, one for the firewall. */
const AGENT_PORT_OFFSET = 100;

/** Every port the demo's agents listen on. */
const demoAgentPorts = (basePort: number) => Array.from({ length: SWITCHES.filter((s) => s.role !== "spine").length + 1 }, (_, i) => basePort + AGENT_PORT_OFFSET + i);

/** Every port `npm start` listens on from BULKHEAD_BASE_PORT: the services' and the demo agents'. */
export const launcherPorts = (basePort: number) => [...services.map((_, i) => basePort + i), ...demoAgentPorts(basePort)];

export async function startDemo(c: Context): Promise<Demo> {
  const network = c.urls.BULKHEAD_NETWORK_URL!;
  const inventory = c.urls.BULKHEAD_INVENTORY_URL!;
  const client = <T extends Parameters<typeof createServiceClient>[0]>(desc: T, url: string, token = c.admin) => createServiceClient(desc, { baseUrl: url, token, protocol: "grpc" });
  const partitions = client(PartitionService, network);
  const seeded = await partitions.getPartition({ id: PARTITION }).then(
    () => true,
    (error: unknown) => (error instanceof ConnectError && error.code === Code.NotFound ? false : Promise.reject(error)),
  );
  if (!seeded) await seed(c, client);
  const projects = await allPages(async (pageToken) => {
    const r = await client(ProjectService, network).listProjects({ tenant: "acme", pageSize: 1000, pageToken });
    return { items: r.projects, next: r.nextPageToken };
  });
  const project = projects.find((p) => p.name === "web")!.id;

  // The agents: one per leaf and the exit switch, one for the firewall.
  const agents: RunningService[] = [];
  let port = c.basePort + AGENT_PORT_OFFSET;
  for (const sw of SWITCHES.filter((s) => s.role !== "spine")) {
    const root = join(c.dataDir, "devices", sw.id);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "switch.json"), JSON.stringify(switchFile(sw)));
    writeFileSync(join(root, "lldp.json"), JSON.stringify({ lldp: { interface: [] } }));
    agents.push(await startService(metalCoreService, { ...agentEnv(c, sw.id, root, port++, await c.agentToken(sw.id)), BULKHEAD_SWITCH_FILE: join(root, "switch.json"), BULKHEAD_LLDP_FILE: join(root, "lldp.json") }));
  }

  // The machines register once their switches are known (the agents register them at start).
  const switches = client(SwitchService, inventory);
  for (let i = 0; (await switches.listSwitches({ partition: PARTITION })).switches.length < SWITCHES.length; i++) {
    if (i > 100) throw new Error("the demo switches did not register");
    await new Promise((r) => setTimeout(r, 100));
  }
  await registerMachines(c);
  // The firewall's agent once fw01 is registered (its first report then finds it).
  const fwRoot = join(c.dataDir, "devices", "fw01");
  mkdirSync(fwRoot, { recursive: true });
  agents.push(await startService(firewallAgentService, { ...agentEnv(c, "fw01", fwRoot, port++, await c.agentToken("fw01")), BULKHEAD_NFT_VALIDATE: c.validate.nft }));

  // The installer: every allocated machine reports its OS installed a moment later.
  const machines = client(MachineService, inventory);
  let installing = false;
  const installer = setInterval(() => {
    if (installing) return;
    installing = true;
    void (async () => {
      for (const m of (await machines.listMachines({ partition: PARTITION, state: MachineState.ALLOCATED, pageSize: 100 })).machines) {
        await client(MachineService, inventory, await c.agentToken(m.id)).reportInstallation({ device: m.id, succeeded: true });
      }
    })()
      .catch(() => {})
      .finally(() => (installing = false));
  }, 1000);
  return {
    project,
    async stop() {
      clearInterval(installer);
      for (const a of agents.reverse()) await a.stop().catch(() => {});
    },
  };
}

function switchFile(sw: (typeof SWITCHES)[number]) {
  return {
    partition: PARTITION,
    rack: sw.rack,
    role: sw.role,
    asn: 4200000000 + sw.n,
    routerId: `10.255.255.${sw.n}`,
    os: { vendor: "Cumulus", version: "5.9.1" },
    ports: PORTS.map((name, i) => ({ name, identifier: `Ethernet${i * 4}`, mtu: 9216, uplink: sw.role === "spine" || isUplink(name) })),
  };
}

function agentEnv(c: Context, device: string, root: string, port: number, token: string): Record<string, string | undefined> {
  return {
    ...process.env,
    PORT: String(port),
    BULKHEAD_JWT_SECRET: "",
    BULKHEAD_JWT_PUBLIC_KEY_FILE: c.agentPublicKeyFile,
    BULKHEAD_JWT_AUDIENCE: `agent:${device}`,
    ...(c.tls ? tlsEnv(c.tls.caFile, c.tls.certificate(device)) : {}),
    BULKHEAD_LOG_LEVEL: process.env.BULKHEAD_LOG_LEVEL ?? "warn",
    BULKHEAD_DEVICE: device,
    BULKHEAD_AGENT_ROOT: root,
    BULKHEAD_AGENT_TOKEN: token,
    BULKHEAD_RECONCILER_URL: c.urls.BULKHEAD_RECONCILER_URL,
    BULKHEAD_INVENTORY_URL: c.urls.BULKHEAD_INVENTORY_URL,
    BULKHEAD_AGENT_MODE: "simulate",
    BULKHEAD_AGENT_HEARTBEAT_MS: "2000",
    BULKHEAD_FRR_VALIDATE: c.validate.frr,
  };
}

async function seed(c: Context, client: <T extends Parameters<typeof createServiceClient>[0]>(desc: T, url: string, token?: string) => ReturnType<typeof createServiceClient<T>>): Promise<void> {
  const network = c.urls.BULKHEAD_NETWORK_URL!;
  const inventory = c.urls.BULKHEAD_INVENTORY_URL!;
  c.say("Seeding the demo fabric (first start)…");
  await client(PartitionService, network).createPartition({ id: PARTITION, name: "Demo partition" });
  const networks = client(NetworkService, network);
  await networks.createNetwork({ id: "demo-super", name: "tenant super network", type: NetworkType.SUPER, partition: PARTITION, prefixes: ["10.0.0.0/16", "2001:db8::/48"], defaultChildPrefixLength: { ipv4: 22, ipv6: 64 } });
  await networks.createNetwork({ id: "demo-underlay", name: "underlay", type: NetworkType.UNDERLAY, partition: PARTITION, prefixes: ["10.255.0.0/16"] });
  await networks.createNetwork({ id: "internet", name: "internet", type: NetworkType.EXTERNAL, prefixes: ["185.1.2.0/24"], destinationPrefixes: ["0.0.0.0/0"], vrf: 104009, natType: NatType.IPV4_MASQUERADE });
  await client(TenantService, network).createTenant({ id: "acme", name: "ACME" });
  await client(ProjectService, network).createProject({ tenant: "acme", name: "web" });
  await client(ImageService, inventory).createImage({ name: "ubuntu-24-04", url: "https://images.example.org/ubuntu-24.04.img", checksum: { algorithm: "sha256", digest: "0".repeat(64) } });
  // Spines have no agent here (Bulkhead does not render them yet): registered as their agent would.
  for (const sw of SWITCHES.filter((s) => s.role === "spine")) {
    const f = switchFile(sw);
    await client(SwitchService, inventory, await c.agentToken(sw.id)).registerSwitch({ device: sw.id, partition: f.partition, rack: f.rack, role: SwitchRole.SPINE, asn: f.asn, routerId: f.routerId, os: f.os, agentVersion: "demo", ports: f.ports });
  }
}

/** Registers the machines (as their PXE agents would, with the LLDP neighbors each NIC sees); the switches must be registered. */
async function registerMachines(c: Pick<Context, "urls" | "agentToken">): Promise<void> {
  const inventory = c.urls.BULKHEAD_INVENTORY_URL!;
  for (const m of MACHINES) {
    const agent = createServiceClient(MachineService, { baseUrl: inventory, token: await c.agentToken(m.id), protocol: "grpc" });
    await agent.registerMachine({ device: m.id, nics: m.leaves.map((sw, i) => create(NicSchema, { name: `lan${i}`, mac: mac(m.id, i), neighbors: [{ switch: sw, port: m.port }] })) });
  }
}
