// A fabric for the reconciler's benchmarks: the control plane as processes (IPAM, network,
// inventory, peering, firewall policy, reconciler) on one Postgres (a database each) and one
// Valkey, and simulated device agents in this process — metal-core for leaves, the firewall agent
// for firewalls — in simulate mode (they write files and reload nothing; they do not validate: a
// switch validates with its own CPU). `stop` ends and removes everything it started.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { DesiredStateService, SyncState, type DeviceStatus } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { ImageService, MachineService, NicSchema } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { NatType, NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { create } from "@bufbuild/protobuf";
import { createTestDatabase, testValkeyUrl, type TestDatabase } from "@bulkhead/db/testing";
import { AGENT_VERSION } from "@bulkhead/agent";
import { firewallAgentService } from "@bulkhead/firewall-agent";
import { metalCoreService } from "@bulkhead/metal-core";
import { agentSigningKeyPair, allPages, createServiceClient, signToken, type ConfigSpec, type ServiceDefinition, type TokenClaims } from "@bulkhead/service-kit";
import { deleteKeys, freePort, randomSecret, startServiceProcess, startTestService, type ServiceProcess, type TestService } from "@bulkhead/testkit";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const round = (n: number) => Math.round(n * 10) / 10;

/** Progress on stderr, for a run that takes minutes. */
export function progressOf(bench: string): (what: string) => void {
  const started = performance.now();
  return (what) => console.error(`${bench}: ${what} (${Math.round((performance.now() - started) / 1000)} s)`);
}

export async function until(what: string, ms: number, done: () => Promise<boolean> | boolean, every = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await sleep(every);
  }
}

/** Runs `starts` `atOnce` at a time (a fabric's devices boot together). */
export async function inParallel(starts: readonly (() => Promise<unknown>)[], atOnce: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: atOnce }, async () => {
      while (next < starts.length) await starts[next++]!();
    }),
  );
}

/** BullMQ's own rate on this Valkey: no-op jobs added in bulk and processed by one worker — the machine's speed. */
export async function queueThroughput(url: string, prefix: string, concurrency: number, jobs: number): Promise<number> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue("bench", { connection, prefix });
  let done = 0;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const worker = new Worker("bench", async () => undefined, { connection: new Redis(url, { maxRetriesPerRequest: null }), prefix, concurrency, autorun: false });
  worker.on("completed", () => ++done === jobs && finished());
  const started = performance.now();
  for (let i = 0; i < jobs; i += 500) await queue.addBulk(Array.from({ length: Math.min(500, jobs - i) }, (_, k) => ({ name: "noop", data: { i: i + k }, opts: { removeOnComplete: true } })));
  void worker.run();
  await all;
  const perSecond = jobs / ((performance.now() - started) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  connection.disconnect();
  return perSecond;
}

export const PARTITION = "fra1";

export interface FabricOptions {
  /** Names the databases (`<service>_<name>`). */
  name: string;
  /** The super network the projects' networks come from, and their IPv4 length. */
  superPrefixes: string[];
  childLength: { ipv4: number; ipv6: number };
  renderIntervalMs: number;
  agentHeartbeatMs: number;
}

export interface SwitchPlan {
  device: string;
  rack: string;
  /** Gives the router id and ASN. */
  index: number;
  machinePorts: number;
}

/** A machine's name, cabled to both leaves of its rack on `port` (swp<port>). */
export interface MachinePlan {
  id: string;
  leaves: [string, string];
  port: number;
  /** Tells MAC addresses apart. */
  index: number;
}

export type Fabric = Awaited<ReturnType<typeof startFabric>>;

export async function startFabric(options: FabricOptions) {
  const secret = randomSecret();
  const prefix = `bh${options.name}-${randomBytes(4).toString("hex")}`;
  const tokens = { secret, issuer: "bulkhead", audience: "bulkhead" };
  const token = (claims: TokenClaims) => signToken(tokens, { expiresIn: "2h", ...claims });
  const admin = await token({ kind: "user", subject: "admin", roles: ["admin"] });
  const common = { VALKEY_URL: testValkeyUrl(), BULKHEAD_JWT_SECRET: secret, BULKHEAD_QUEUE_PREFIX: prefix, BULKHEAD_LOG_LEVEL: process.env.BENCH_SERVICES_LOG ?? "warn", BULKHEAD_RATE_LIMIT_PER_SECOND: "0" };
  const databases: TestDatabase[] = [];
  const processes: ServiceProcess[] = [];
  const agents: TestService[] = [];
  const roots = new Map<string, string>();
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    for (const a of agents.splice(0)) await a.stop().catch(() => {});
    for (const p of processes.reverse()) await p.stop().catch(() => {});
    for (const db of databases) await db.drop().catch(() => {});
    for (const root of roots.values()) rmSync(root, { recursive: true, force: true });
    await deleteKeys(testValkeyUrl(), `${prefix}:*`);
  };
  try {
    const start = async (service: string, env: Record<string, string>) => {
      const db = await createTestDatabase(`${service.replace("-", "_")}_${options.name}`);
      databases.push(db);
      const p = await startServiceProcess(new URL(`../../${service}/src/main.ts`, import.meta.url), { ...common, DATABASE_URL: db.url, ...env });
      processes.push(p);
      return p.url;
    };
    const ipam = await start("ipam", {});
    const network = await start("network", { BULKHEAD_IPAM_URL: ipam });
    const inventory = await start("inventory", { BULKHEAD_NETWORK_URL: network, BULKHEAD_SECRETS_KEY: randomBytes(32).toString("base64"), BULKHEAD_REQUIRE_DUAL_HOMING: "true" });
    const peering = await start("peering", { BULKHEAD_NETWORK_URL: network, BULKHEAD_INVENTORY_URL: inventory });
    const policy = await start("firewall-policy", { BULKHEAD_NETWORK_URL: network, BULKHEAD_INVENTORY_URL: inventory });
    const reconcilerPort = await freePort();
    const reconcilerUrl = `http://127.0.0.1:${reconcilerPort}`;
    const keys = agentSigningKeyPair(mkdtempSync(join(tmpdir(), `bh-${options.name}-key-`)));
    cleanups.push(async () => rmSync(join(keys.privateKeyFile, ".."), { recursive: true, force: true }));

    /** The reconciler on a database of its own (`database`), always at the same address (the agents call it). */
    const startReconciler = async (database: string) => {
      const db = await createTestDatabase(database);
      databases.push(db);
      const p = await startServiceProcess(
        new URL("../src/main.ts", import.meta.url),
        {
          ...common,
          DATABASE_URL: db.url,
          BULKHEAD_INVENTORY_URL: inventory,
          BULKHEAD_NETWORK_URL: network,
          BULKHEAD_PEERING_URL: peering,
          BULKHEAD_FIREWALL_POLICY_URL: policy,
          BULKHEAD_RENDER_INTERVAL_MS: String(options.renderIntervalMs),
          BULKHEAD_FULL_RESYNC_MS: "3600000",
          BULKHEAD_AGENT_SIGNING_KEY_FILE: keys.privateKeyFile,
          BULKHEAD_LOG_LEVEL: process.env.BENCH_RECONCILER_LOG ?? "warn",
        },
        reconcilerPort,
      );
      processes.push(p);
      return p;
    };
    const at = <T extends Parameters<typeof createServiceClient>[0]>(desc: T, baseUrl: string, bearer: string | (() => Promise<string>) = admin) => createServiceClient(desc, { baseUrl, token: bearer, protocol: "grpc", timeoutMs: 60_000 });
    // Devices' own calls share one connection each service, with the device's token on each call
    // (a client each would be a connection each: 20,000 machines run out of file descriptors).
    const asDevice = async (device: string) => ({ headers: { authorization: `Bearer ${await token({ kind: "agent", subject: device, device })}` } });
    const switchCalls = createServiceClient(SwitchService, { baseUrl: inventory, protocol: "grpc", timeoutMs: 60_000 });
    const machineCalls = createServiceClient(MachineService, { baseUrl: inventory, protocol: "grpc", timeoutMs: 60_000 });

    await at(PartitionService, network).createPartition({ id: PARTITION, name: PARTITION });
    await at(TenantService, network).createTenant({ id: "acme", name: "ACME" });
    const networks = at(NetworkService, network);
    await networks.createNetwork({ id: "super", name: "super", type: NetworkType.SUPER, partition: PARTITION, prefixes: options.superPrefixes, defaultChildPrefixLength: options.childLength });
    await networks.createNetwork({ id: "underlay", name: "underlay", type: NetworkType.UNDERLAY, partition: PARTITION, prefixes: ["10.255.0.0/20"] });
    await networks.createNetwork({ id: "internet", name: "internet", type: NetworkType.EXTERNAL, prefixes: ["185.1.0.0/20"], destinationPrefixes: ["0.0.0.0/0"], vrf: 104009, natType: NatType.IPV4_MASQUERADE });
    await at(ImageService, inventory).createImage({ name: "ubuntu-24-04", url: "https://images.example.org/ubuntu-24.04.img", checksum: { algorithm: "sha256", digest: "a".repeat(64) } });

    /** An agent in simulate mode with an empty configuration root of its own. */
    const startDeviceAgent = async (device: string, definition: ServiceDefinition<ConfigSpec>, root: string, env: Record<string, string>) => {
      agents.push(
        await startTestService(definition, {
          secret,
          env: {
            // Agents verify the reconciler's calls with its public key only, as in production.
            BULKHEAD_JWT_SECRET: "",
            BULKHEAD_JWT_PUBLIC_KEY_FILE: keys.publicKeyFile,
            BULKHEAD_JWT_AUDIENCE: `agent:${device}`,
            BULKHEAD_DEVICE: device,
            BULKHEAD_AGENT_ROOT: root,
            BULKHEAD_AGENT_TOKEN: await token({ kind: "agent", subject: device, device }),
            BULKHEAD_RECONCILER_URL: reconcilerUrl,
            BULKHEAD_INVENTORY_URL: inventory,
            BULKHEAD_AGENT_MODE: "simulate",
            BULKHEAD_FRR_VALIDATE: "none",
            BULKHEAD_LOG_LEVEL: "warn",
            BULKHEAD_AGENT_HEARTBEAT_MS: String(options.agentHeartbeatMs),
            ...env,
          },
        }),
      );
    };
    const freshRoot = (device: string) => {
      const root = mkdtempSync(join(tmpdir(), `bh-${device}-`));
      roots.set(device, root);
      return root;
    };
    /** What a leaf's agent registers (its switch file): machine ports swp1…, uplinks swp<n+1>, swp<n+2>. */
    const switchFile = (sw: SwitchPlan) => {
      const ports = [...Array.from({ length: sw.machinePorts }, (_, k) => ({ name: `swp${k + 1}`, uplink: false })), { name: `swp${sw.machinePorts + 1}`, uplink: true }, { name: `swp${sw.machinePorts + 2}`, uplink: true }];
      return { partition: PARTITION, rack: sw.rack, asn: 4200000000 + sw.index, routerId: `10.255.${sw.index >> 8}.${sw.index & 255}`, os: { vendor: "Cumulus", version: "5.9.1" }, ports: ports.map((p, k) => ({ name: p.name, identifier: `Eth1/${k + 1}`, mtu: 9216, uplink: p.uplink })) };
    };
    /** Registers a leaf as its agent would, without starting the agent. */
    const registerSwitch = async (sw: SwitchPlan) => {
      await switchCalls.registerSwitch({ device: sw.device, role: SwitchRole.LEAF, agentVersion: AGENT_VERSION, ...switchFile(sw) }, await asDevice(sw.device));
    };
    /** A leaf's agent: it registers its switch and reports to the reconciler. */
    const startSwitchAgent = async (sw: SwitchPlan) => {
      const root = freshRoot(sw.device);
      writeFileSync(join(root, "switch.json"), JSON.stringify({ ...switchFile(sw), role: "leaf" }));
      writeFileSync(join(root, "lldp.json"), JSON.stringify({ lldp: { interface: [] } }));
      await startDeviceAgent(sw.device, metalCoreService as ServiceDefinition<ConfigSpec>, root, { BULKHEAD_SWITCH_FILE: join(root, "switch.json"), BULKHEAD_LLDP_FILE: join(root, "lldp.json") });
    };
    const startFirewallAgent = async (device: string) => {
      await startDeviceAgent(device, firewallAgentService as ServiceDefinition<ConfigSpec>, freshRoot(device), { BULKHEAD_NFT_VALIDATE: "none" });
    };
    /** Stops every agent and forgets their configuration roots (a later start boots with an empty disk). */
    const stopAgents = async () => {
      for (const a of agents.splice(0)) await a.stop();
      for (const root of roots.values()) rmSync(root, { recursive: true, force: true });
      roots.clear();
    };

    const fabric = at(DesiredStateService, reconcilerUrl);
    // Quiet: nothing queued or running in the reconciler's queues.
    const connection = new Redis(testValkeyUrl(), { maxRetriesPerRequest: null });
    const queues = ["fabric-changes", "render", "push"].map((name) => new Queue(name, { connection, prefix }));
    cleanups.push(async () => {
      for (const q of queues) await q.close();
      connection.disconnect();
    });
    const quiet = async () => {
      for (const q of queues) {
        const counts = await q.getJobCounts("active", "waiting", "delayed", "prioritized");
        if (Object.values(counts).some((n) => n > 0)) return false;
      }
      return true;
    };
    const statuses = (): Promise<DeviceStatus[]> =>
      allPages(async (pageToken) => {
        const r = await fabric.listDeviceStatuses({ partition: PARTITION, pageSize: 1000, pageToken });
        return { items: r.statuses, next: r.nextPageToken };
      });
    const allInSync = async (devices: number) => {
      const s = await statuses();
      return s.length >= devices && s.every((d) => d.state === SyncState.IN_SYNC && d.desiredGeneration > 0n);
    };

    const machines = at(MachineService, inventory);
    const register = async (m: MachinePlan) => {
      const mac = (n: number) => ["02", (m.index >> 16) & 255, (m.index >> 8) & 255, m.index & 255, m.port, n].map((b) => (typeof b === "string" ? b : b.toString(16).padStart(2, "0"))).join(":");
      await machineCalls.registerMachine({ device: m.id, nics: m.leaves.map((sw, n) => create(NicSchema, { name: `lan${n}`, mac: mac(n), neighbors: [{ switch: sw, port: `swp${m.port}` }] })) }, await asDevice(m.id));
    };
    /** The leaves move a machine's port into its VRF once its installer reports the OS on disk. */
    const install = async (id: string) => {
      await machineCalls.reportInstallation({ device: id, succeeded: true }, await asDevice(id));
    };
    const configuration = (device: string, path: string) => readFileSync(join(roots.get(device)!, path), "utf8");

    return { prefix, token, admin, at, urls: { ipam, network, inventory, peering, policy, reconciler: reconcilerUrl }, startReconciler, registerSwitch, startSwitchAgent, startFirewallAgent, stopAgents, quiet, statuses, allInSync, machines, register, install, configuration, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
