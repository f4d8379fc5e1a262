// Convergence of the push path with 200 simulated switch agents on loopback: the latency from a
// machine allocation's answer to both of its leaves having applied the new configuration, and a
// burst of 500 allocations (time to converge, pushes per device). The control plane runs as
// processes (IPAM, network, inventory, peering, firewall policy, reconciler) on one Postgres and
// one Valkey; the agents are metal-core services in this process, in simulate mode (they validate
// with vtysh -C and write files; nothing is reloaded). BullMQ's own rate on the same Valkey, for scale.
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { DesiredStateService, SyncState } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { ImageService, MachineService, NicSchema } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { NatType, NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { create } from "@bufbuild/protobuf";
import { createTestDatabase, testValkeyUrl, type TestDatabase } from "@bulkhead/db/testing";
import { firewallAgentService } from "@bulkhead/firewall-agent";
import { metalCoreService } from "@bulkhead/metal-core";
import { agentSigningKeyPair, allPages, createServiceClient, signToken, type ConfigSpec, type ServiceDefinition, type TokenClaims } from "@bulkhead/service-kit";
import { deleteKeys, freePort, randomSecret, startServiceProcess, startTestService, type ServiceProcess, type TestService } from "@bulkhead/testkit";
import { median, percentile, table } from "@bulkhead/testkit/bench";

// BENCH_LEAVES, BENCH_SAMPLES and BENCH_BURST make smaller runs for trying things out;
// BENCH_SERVICES_LOG and BENCH_RECONCILER_LOG set the log level of the services (e.g. debug: every RPC with its duration).
const LEAVES = Number(process.env.BENCH_LEAVES ?? 200);
/** Single changes measured: machine allocations and frees (≥ 1,000 for a p99). */
const SINGLE_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1000);
/** Below this many samples a tail is quoted as the max, not a percentile. */
const P99_MIN_SAMPLES = 1000;
const BURST = Number(process.env.BENCH_BURST ?? 500);
const BURST_CLIENTS = 32;
/** Agents starting at once in the benchmark's process (a fabric's switches boot together). */
const AGENT_STARTS_AT_ONCE = 25;
const PROJECTS = 10;
/** Firewalls of the cold start with firewalls, one per rack from the first, on the last machine port. */
const FIREWALLS = Number(process.env.BENCH_FIREWALLS ?? 20);
const MACHINE_PORTS = 8;
const RENDER_INTERVAL_MS = 1000;
const round = (n: number) => Math.round(n * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pad = (n: number) => String(n).padStart(3, "0");
const leafName = (i: number) => `leaf${pad(i)}`;
const ports = [...Array.from({ length: MACHINE_PORTS }, (_, i) => `swp${i + 1}`), "swp31", "swp32"];

const benchStarted = performance.now();
/** Progress on stderr, for a run that takes minutes. */
const progress = (what: string) => console.error(`convergence: ${what} (${Math.round((performance.now() - benchStarted) / 1000)} s)`);

async function until(what: string, ms: number, done: () => Promise<boolean> | boolean, every = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await sleep(every);
  }
}

/** BullMQ's own rate on this Valkey: no-op jobs added in bulk and processed by one worker. */
async function queueThroughput(url: string, prefix: string, concurrency: number, jobs: number): Promise<number> {
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

export default async function run() {
  const secret = randomSecret();
  const prefix = `bhconv-${randomBytes(4).toString("hex")}`;
  const tokens = { secret, issuer: "bulkhead", audience: "bulkhead" };
  const token = (claims: TokenClaims) => signToken(tokens, { expiresIn: "2h", ...claims });
  const admin = await token({ kind: "user", subject: "admin", roles: ["admin"] });
  const common = { VALKEY_URL: testValkeyUrl(), BULKHEAD_JWT_SECRET: secret, BULKHEAD_QUEUE_PREFIX: prefix, BULKHEAD_LOG_LEVEL: process.env.BENCH_SERVICES_LOG ?? "warn", BULKHEAD_RATE_LIMIT_PER_SECOND: "0" };
  const databases: TestDatabase[] = [];
  const processes: ServiceProcess[] = [];
  const agents: TestService[] = [];
  const roots: string[] = [];
  const firewallRoots: string[] = [];
  const stops: (() => Promise<void>)[] = [];
  const start = async (name: string, env: Record<string, string>) => {
    const db = await createTestDatabase(`${name.replace("-", "_")}_cbench`);
    databases.push(db);
    const p = await startServiceProcess(new URL(`../../${name}/src/main.ts`, import.meta.url), { ...common, DATABASE_URL: db.url, ...env });
    processes.push(p);
    return p.url;
  };
  try {
    const ipam = await start("ipam", {});
    const network = await start("network", { BULKHEAD_IPAM_URL: ipam });
    const inventory = await start("inventory", { BULKHEAD_NETWORK_URL: network, BULKHEAD_SECRETS_KEY: randomBytes(32).toString("base64"), BULKHEAD_REQUIRE_DUAL_HOMING: "true" });
    const peering = await start("peering", { BULKHEAD_NETWORK_URL: network, BULKHEAD_INVENTORY_URL: inventory });
    const policy = await start("firewall-policy", { BULKHEAD_NETWORK_URL: network, BULKHEAD_INVENTORY_URL: inventory });
    const reconcilerPort = await freePort();
    const reconcilerUrl = `http://127.0.0.1:${reconcilerPort}`;
    const keys = agentSigningKeyPair(mkdtempSync(join(tmpdir(), "bh-cbench-key-")));
    // The reconciler on a database of its own, always at the same address (the agents call it).
    const startReconciler = async (name: string) => {
      const db = await createTestDatabase(name);
      databases.push(db);
      const p = await startServiceProcess(
        new URL("../src/main.ts", import.meta.url),
        { ...common, DATABASE_URL: db.url, BULKHEAD_INVENTORY_URL: inventory, BULKHEAD_NETWORK_URL: network, BULKHEAD_PEERING_URL: peering, BULKHEAD_FIREWALL_POLICY_URL: policy, BULKHEAD_RENDER_INTERVAL_MS: String(RENDER_INTERVAL_MS), BULKHEAD_FULL_RESYNC_MS: "3600000", BULKHEAD_AGENT_SIGNING_KEY_FILE: keys.privateKeyFile, BULKHEAD_LOG_LEVEL: process.env.BENCH_RECONCILER_LOG ?? "warn" },
        reconcilerPort,
      );
      processes.push(p);
      return p;
    };
    let reconciler = await startReconciler("reconciler_cbench");

    const at = <T extends Parameters<typeof createServiceClient>[0]>(desc: T, baseUrl: string, bearer: string | (() => Promise<string>) = admin) => createServiceClient(desc, { baseUrl, token: bearer, protocol: "grpc", timeoutMs: 60_000 });
    await at(PartitionService, network).createPartition({ id: "fra1", name: "fra1" });
    await at(TenantService, network).createTenant({ id: "acme", name: "ACME" });
    const networks = at(NetworkService, network);
    await networks.createNetwork({ id: "super", name: "super", type: NetworkType.SUPER, partition: "fra1", prefixes: ["10.0.0.0/12", "2001:db8::/40"], defaultChildPrefixLength: { ipv4: 22, ipv6: 64 } });
    await networks.createNetwork({ id: "underlay", name: "underlay", type: NetworkType.UNDERLAY, partition: "fra1", prefixes: ["10.255.0.0/20"] });
    await networks.createNetwork({ id: "internet", name: "internet", type: NetworkType.EXTERNAL, prefixes: ["185.1.0.0/20"], destinationPrefixes: ["0.0.0.0/0"], vrf: 104009, natType: NatType.IPV4_MASQUERADE });
    await at(ImageService, inventory).createImage({ name: "ubuntu-24-04", url: "https://images.example.org/ubuntu-24.04.img", checksum: { algorithm: "sha256", digest: "a".repeat(64) } });
    const projects: { id: string; net: string }[] = [];
    for (let p = 0; p < PROJECTS; p++) {
      const id = (await at(ProjectService, network).createProject({ tenant: "acme", name: `p${p}` })).project!.id;
      projects.push({ id, net: (await networks.allocateNetwork({ project: id, partition: "fra1", name: `p${p}-net` })).network!.id });
    }

    // An agent in simulate mode with an empty configuration root of its own. A device validates
    // with its own CPU; here 200 agents would share the control plane's two cores, so they do not.
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
            BULKHEAD_AGENT_HEARTBEAT_MS: "5000",
            ...env,
          },
        }),
      );
    };
    const startAgent = async (i: number) => {
      const device = leafName(i);
      const root = mkdtempSync(join(tmpdir(), `bh-${device}-`));
      roots[i - 1] = root;
      const rack = `r${pad(Math.ceil(i / 2))}`;
      writeFileSync(join(root, "switch.json"), JSON.stringify({ partition: "fra1", rack, role: "leaf", asn: 4200000000 + i, routerId: `10.255.${i >> 8}.${i & 255}`, os: { vendor: "Cumulus", version: "5.9.1" }, ports: ports.map((name, k) => ({ name, identifier: `Eth1/${k + 1}`, mtu: 9216, uplink: name === "swp31" || name === "swp32" })) }));
      writeFileSync(join(root, "lldp.json"), JSON.stringify({ lldp: { interface: [] } }));
      await startDeviceAgent(device, metalCoreService as ServiceDefinition<ConfigSpec>, root, { BULKHEAD_SWITCH_FILE: join(root, "switch.json"), BULKHEAD_LLDP_FILE: join(root, "lldp.json") });
    };
    const startFirewallAgent = async (device: string) => {
      const root = mkdtempSync(join(tmpdir(), `bh-${device}-`));
      firewallRoots.push(root);
      await startDeviceAgent(device, firewallAgentService as ServiceDefinition<ConfigSpec>, root, { BULKHEAD_NFT_VALIDATE: "none" });
    };
    /** Starts agents `AGENT_STARTS_AT_ONCE` at a time, as a fabric's devices boot together. */
    const startAll = async (starts: (() => Promise<void>)[]) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: AGENT_STARTS_AT_ONCE }, async () => {
          while (next < starts.length) await starts[next++]!();
        }),
      );
    };
    const leaves = Array.from({ length: LEAVES }, (_, k) => () => startAgent(k + 1));

    // 200 switch agents, two per rack, started together as a fabric's switches boot: each
    // registers its switch with the inventory and reports to the reconciler at once.
    const startedAgents = performance.now();
    await startAll(leaves);
    const agentsUpMs = performance.now() - startedAgents;
    progress(`${LEAVES} agents started`);
    const fabric = at(DesiredStateService, reconcilerUrl);
    // Quiet: nothing queued or running in the reconciler's queues.
    const connection = new Redis(testValkeyUrl(), { maxRetriesPerRequest: null });
    const queues = ["fabric-changes", "render", "push"].map((name) => new Queue(name, { connection, prefix }));
    const quiet = async () => {
      for (const q of queues) {
        const counts = await q.getJobCounts("active", "waiting", "delayed", "prioritized");
        if (Object.values(counts).some((n) => n > 0)) return false;
      }
      return true;
    };
    stops.push(async () => {
      for (const q of queues) await q.close();
      connection.disconnect();
    });
    const statuses = () =>
      allPages(async (pageToken) => {
        const r = await fabric.listDeviceStatuses({ partition: "fra1", pageSize: 1000, pageToken });
        return { items: r.statuses, next: r.nextPageToken };
      });
    const allInSync = async (n = LEAVES) => {
      const s = await statuses();
      return s.length >= n && s.every((d) => d.state === SyncState.IN_SYNC && d.desiredGeneration > 0n);
    };
    await until("every agent in sync", 300_000, () => allInSync(), 100);
    const coldMs = performance.now() - startedAgents;
    progress(`${LEAVES} agents in sync`);

    // Machines, cabled to both leaves of a rack on the same port, registered up front; each of a
    // project. The single changes allocate and free them; the burst allocates them again.
    const machines = at(MachineService, inventory);
    const plan: { id: string; rack: number; port: number; project: (typeof projects)[number] }[] = [];
    const racks = LEAVES / 2;
    for (let k = 0; k < Math.max(Math.ceil(SINGLE_SAMPLES / 2), BURST); k++) plan.push({ id: `m${String(k).padStart(4, "0")}`, rack: k % racks, port: 1 + Math.floor(k / racks), project: projects[k % PROJECTS]! });
    // The last port is the firewalls'.
    if (plan.some((m) => m.port >= MACHINE_PORTS)) throw new Error("not enough machine ports");
    const leavesOf = (m: { rack: number }) => [leafName(2 * m.rack + 1), leafName(2 * m.rack + 2)];
    const registerAll = async (list: typeof plan) => {
      for (const m of list) {
        const agent = at(MachineService, inventory, await token({ kind: "agent", subject: m.id, device: m.id }));
        await agent.registerMachine({ device: m.id, nics: leavesOf(m).map((sw, n) => create(NicSchema, { name: `lan${n}`, mac: `aa:bb:cc:${pad(m.rack % 256).slice(1)}:${String(m.port).padStart(2, "0")}:${n}${n}`, neighbors: [{ switch: sw, port: `swp${m.port}` }] })) });
      }
    };
    const read = (device: string) => readFileSync(join(roots[Number(device.slice(4)) - 1]!, "frr/frr.conf"), "utf8");
    const carries = (m: { port: number }, device: string) => read(device).includes(`neighbor swp${m.port} interface peer-group MACHINE`);
    const allocate = async (m: (typeof plan)[number]) => {
      await machines.allocateMachine({ project: m.project.id, partition: "fra1", machine: m.id, hostname: m.id, image: "ubuntu-24-04", networks: [{ network: m.project.net, autoAcquire: true }] });
    };
    // The leaves move a machine's port into its VRF once its installer reports the OS on disk.
    const install = async (m: (typeof plan)[number]) => {
      const agent = at(MachineService, inventory, await token({ kind: "agent", subject: m.id, device: m.id }));
      await agent.reportInstallation({ device: m.id, succeeded: true });
    };
    await registerAll(plan);
    await until("registrations rendered", 120_000, async () => (await quiet()) && (await allInSync()), 250);
    progress("machines registered and rendered");

    // Single changes, one at a time: a round allocates a machine on every rack, then frees them
    // again — consecutive changes are on different racks, and a rack's next change comes a round
    // later, past its leaves' render interval.
    const changes: { m: (typeof plan)[number]; free: boolean }[] = [];
    const singles = plan.slice(0, Math.ceil(SINGLE_SAMPLES / 2));
    for (let i = 0; i < singles.length; i += racks) {
      const round = singles.slice(i, i + racks);
      changes.push(...round.map((m) => ({ m, free: false })), ...round.map((m) => ({ m, free: true })));
    }
    changes.length = SINGLE_SAMPLES;
    const single: number[] = [];
    progress(`${SINGLE_SAMPLES} single changes`);
    for (const [k, { m, free }] of changes.entries()) {
      const leaves = leavesOf(m);
      if (leaves.some((l) => carries(m, l) === !free)) throw new Error(`${m.id} is ${free ? "not " : ""}on its leaves before its ${free ? "free" : "allocation"}`);
      if (free) {
        await machines.freeMachine({ project: m.project.id, id: m.id });
      } else {
        await allocate(m);
        await install(m);
      }
      const answered = performance.now();
      await until(`${m.id} ${free ? "off" : "on"} its leaves`, 30_000, () => leaves.every((l) => carries(m, l) === !free), 2);
      single.push(performance.now() - answered);
      await until("quiet after a single change", 60_000, async () => (await quiet()) && (await allInSync()), 50);
      if (k % 100 === 99) progress(`${k + 1} single changes`);
    }
    // Machines whose free fell past the last sample are freed for the burst.
    const freed = new Set(changes.filter((c) => c.free).map((c) => c.m));
    for (const { m } of changes) if (!freed.has(m)) await machines.freeMachine({ project: m.project.id, id: m.id });
    await until("quiet after the single changes", 60_000, async () => (await quiet()) && (await allInSync()), 50);

    // The burst: 500 allocations from 32 clients, five per rack, a rack's machines one after another.
    const burst = plan.slice(0, BURST).sort((a, b) => a.rack - b.rack || a.port - b.port);
    const pushesBefore = new Map((await statuses()).map((d) => [d.device, Number(d.pushes)]));
    const allocateMs: number[] = [];
    const installMs: number[] = [];
    const burstStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: BURST_CLIENTS }, async () => {
        while (next < burst.length) {
          const k = next++;
          const t0 = performance.now();
          await allocate(burst[k]!);
          const t1 = performance.now();
          await install(burst[k]!);
          allocateMs.push(t1 - t0);
          installMs.push(performance.now() - t1);
        }
      }),
    );
    const allocatedMs = performance.now() - burstStart;
    progress("burst answered");
    await until("the burst on every leaf", 300_000, () => burst.every((m) => leavesOf(m).every((l) => carries(m, l))), 20);
    const burstConvergeMs = performance.now() - burstStart;
    progress("burst converged");
    await until("every device in sync after the burst", 120_000, () => allInSync(), 100);
    const after = await statuses();
    const touched = new Set(burst.flatMap(leavesOf));
    const pushes = after.filter((d) => touched.has(d.device)).map((d) => Number(d.pushes) - (pushesBefore.get(d.device) ?? 0));

    // Cold start with firewalls: 20 firewalls are allocated while the fabric runs; then the
    // reconciler starts over on an empty database and every agent boots with an empty
    // configuration root, all together. The reconciler learns the devices from their first
    // reports, and renders, verifies and pushes every one of them.
    const firewalls = Array.from({ length: FIREWALLS }, (_, k) => ({ id: `fw${pad(k + 1)}`, rack: k % racks, port: MACHINE_PORTS, project: projects[k % PROJECTS]! }));
    await registerAll(firewalls);
    for (const fw of firewalls) {
      await machines.allocateFirewall({ project: fw.project.id, partition: "fra1", machine: fw.id, hostname: fw.id, image: "ubuntu-24-04", networks: [{ network: fw.project.net, autoAcquire: true }, { network: "internet", autoAcquire: true }] });
      await install(fw);
    }
    await until("the firewalls rendered", 120_000, quiet, 250);
    for (const a of agents.splice(0)) await a.stop();
    await reconciler.stop();
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
    progress(`${FIREWALLS} firewalls allocated; the fabric stopped`);
    const coldAgain = performance.now();
    reconciler = await startReconciler("reconciler_cbench_cold");
    const reconcilerUpMs = performance.now() - coldAgain;
    await startAll([...leaves, ...firewalls.map((fw) => () => startFirewallAgent(fw.id))]);
    await until("every leaf and firewall in sync", 300_000, () => allInSync(LEAVES + FIREWALLS), 100);
    const coldWithFirewallsMs = performance.now() - coldAgain;
    progress(`${LEAVES} leaves and ${FIREWALLS} firewalls in sync from a cold start`);

    const queueRate = await queueThroughput(testValkeyUrl(), `${prefix}-q`, 32, 20_000);
    const tail = single.length >= P99_MIN_SAMPLES ? { single_change_p99_ms: round(percentile(single, 99)) } : {};
    const figures = {
      single_changes: single.length,
      single_change_p50_ms: round(median(single)),
      ...tail,
      single_change_max_ms: round(Math.max(...single)),
      burst_allocations: BURST,
      burst_allocate_ms: Math.round(allocatedMs),
      burst_allocs_per_s: round(BURST / (allocatedMs / 1000)),
      burst_converge_ms: Math.round(burstConvergeMs),
      burst_converge_after_last_answer_ms: Math.round(burstConvergeMs - allocatedMs),
      burst_allocate_rpc_p50_ms: round(median(allocateMs)),
      burst_install_rpc_p50_ms: round(median(installMs)),
      burst_max_pushes_per_device: Math.max(...pushes),
      burst_mean_pushes_per_device: round(pushes.reduce((a, b) => a + b, 0) / pushes.length),
      burst_changes_per_device: BURST / racks,
      cold_converge_ms: Math.round(coldMs),
      cold_with_firewalls_converge_ms: Math.round(coldWithFirewallsMs),
      cold_with_firewalls_devices: LEAVES + FIREWALLS,
      cold_with_firewalls_reconciler_start_ms: Math.round(reconcilerUpMs),
      cold_agents_started_ms: Math.round(agentsUpMs),
      queue_noop_jobs_per_s: Math.round(queueRate),
      agents: LEAVES,
    };
    // The figures of b00eb4589e7d (before the reconciler-speed work) with this benchmark on the same machine, run right after 26aa07be47ae's.
    const before = { single_p50: 2179.5, single_max: 2959.2, burst_allocs_per_s: 4.7, burst_allocate: 107335, burst_converge: 312288, burst_after: 204953, burst_pushes: 1, cold: 116113, queue: 3961 };
    // The previous session's run on this machine (09209f06b8a7): 40 single allocations, no frees.
    const previous = { single_p50: 207.1, single_max: 345.5, burst_allocs_per_s: 26.3, burst_allocate: 19020, burst_converge: 37060, burst_after: 18040, allocate_p50: 730.6, install_p50: 424.7, pushes_max: 1, pushes_mean: 1, cold: 15192, agents: 4694, queue: 10222 };
    const report = [
      `## Single change (${single.length} changes one at a time: machine allocations and frees)`,
      table(
        ["", "this run (ms)", "09209f0 (ms, 40 allocations)", "b00eb45 (ms)", "target"],
        [
          ["p50", figures.single_change_p50_ms, previous.single_p50, before.single_p50, ""],
          ...(tail.single_change_p99_ms !== undefined ? [["p99", tail.single_change_p99_ms, "", "", "< 300"]] : []),
          ["max", figures.single_change_max_ms, previous.single_max, before.single_max, ""],
        ],
      ),
      `A change is a machine allocation — AllocateMachine followed by the installer's ReportInstallation: the leaves move the machine's port into its VRF once the OS is on disk, as metal-stack does — or a FreeMachine. Measured from the last call's answer to both of the machine's leaves having written a frr.conf that carries (or no longer carries) the machine's BGP session. A round allocates a machine on every rack, then frees them, so a rack changes again only a round later. metal-core pulls every 10 s, so its mean is 5 s. ${single.length >= P99_MIN_SAMPLES ? "" : `With ${single.length} samples the max is quoted, not a p99.`}`,
      `## Burst (${BURST} allocations and installations from ${BURST_CLIENTS} clients, ${BURST / racks} per rack)`,
      table(
        ["", "this run", "09209f0", "b00eb45", "target"],
        [
          ["allocations answered after (ms)", figures.burst_allocate_ms, previous.burst_allocate, before.burst_allocate, ""],
          ["allocations/s", figures.burst_allocs_per_s, previous.burst_allocs_per_s, before.burst_allocs_per_s, "≥ 50"],
          ["every leaf carries its machines after (ms, from the first request)", figures.burst_converge_ms, previous.burst_converge, before.burst_converge, ""],
          ["… of which after the last answer (ms)", figures.burst_converge_after_last_answer_ms, previous.burst_after, before.burst_after, "≤ 2,000"],
          ["AllocateMachine p50 (ms)", figures.burst_allocate_rpc_p50_ms, previous.allocate_p50, "", ""],
          ["ReportInstallation p50 (ms)", figures.burst_install_rpc_p50_ms, previous.install_p50, "", ""],
          ["changes per leaf in the burst", figures.burst_changes_per_device, 5, 5, ""],
          ["pushes per leaf: max", figures.burst_max_pushes_per_device, previous.pushes_max, before.burst_pushes, "≤ 2"],
          ["pushes per leaf: mean", figures.burst_mean_pushes_per_device, previous.pushes_mean, 1, ""],
        ],
      ),
      `Coalescing: a device is rendered at most once per BULKHEAD_RENDER_INTERVAL_MS (${RENDER_INTERVAL_MS} ms here, the default); the first change after a quiet interval renders at once, the rest of a burst waits for one render at the interval's end.`,
      `## Cold start (${LEAVES} leaves booting together)`,
      table(
        ["", "this run", "09209f0", "b00eb45", "target"],
        [
          [`first agent started → all ${LEAVES} in sync (ms)`, figures.cold_converge_ms, previous.cold, before.cold, ""],
          [`… of which starting the ${LEAVES} agents (ms)`, figures.cold_agents_started_ms, previous.agents, "", ""],
          [`with ${FIREWALLS} firewalls: reconciler started on an empty database and the ${LEAVES + FIREWALLS} agents booting with empty disks → all in sync (ms)`, figures.cold_with_firewalls_converge_ms, "", "", "< 5,000"],
          ["… of which the reconciler starting (process, migrations, serving) (ms)", figures.cold_with_firewalls_reconciler_start_ms, "", "", ""],
          ["BullMQ no-op jobs/s on the same Valkey (32 concurrent): the machine's speed", figures.queue_noop_jobs_per_s, previous.queue, before.queue, ""],
        ],
      ),
      `The first cold start registers the ${LEAVES} switches as their agents start. The second comes after the burst: ${FIREWALLS} firewalls are allocated (on the first racks' last port, each of a project, with its private and the internet network), then the agents and the reconciler stop, the reconciler starts over on an empty database and every agent boots with an empty configuration root — the reconciler learns the devices from their first reports and renders, verifies and pushes all of them. Both times the agents start in the benchmark's own process, which is busy starting ${LEAVES} services meanwhile: their applies answer slowly then, so these figures are bound by the harness as much as by the control plane.`,
      "09209f06b8a7 is the previous run on this machine (its single changes were 40 allocations). b00eb4589e7d is the commit before the reconciler-speed work, with this benchmark on a slower machine (BullMQ gauge above) in a run of its own (its agents could not turn validation off: they ran `true` instead of `vtysh -C`).",
      "## Method",
      [
        `- IPAM, network, inventory, peering, firewall policy and the reconciler run as their own processes on one Postgres (a database each) and one Valkey; ${LEAVES} metal-core agents run in the benchmark's process in simulate mode: they write each file atomically and reload nothing. They do not validate with \`vtysh -C\` (a switch does, with its own CPU; ${LEAVES} of them here would share the two cores with the control plane).`,
        "- The reconciler verifies every new revision: `vtysh -C` (the frr.conf files of renders running together in one run) and the isolation verifier against the partition's records, read once for the renders that need them together.",
        "- Completion is observed by reading the agents' files every 2 ms (single) or 20 ms (burst), device statuses every 100 ms (cold start).",
        "- The machine has 2 cores shared by every process; figures are single runs, the single-change ones a distribution. The BullMQ rate measures the machine: compare runs through it.",
      ].join("\n"),
    ].join("\n\n");
    return { figures, report };
  } finally {
    for (const stop of stops) await stop().catch(() => {});
    for (const a of agents) await a.stop().catch(() => {});
    for (const p of processes.reverse()) await p.stop().catch(() => {});
    for (const db of databases) await db.drop().catch(() => {});
    for (const r of [...roots, ...firewallRoots]) if (r) rmSync(r, { recursive: true, force: true });
    await deleteKeys(testValkeyUrl(), `${prefix}:*`);
  }
}
