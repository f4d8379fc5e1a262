// The reconciler at scale: one partition of 1,000 leaves (500 racks), 20,000 machines allocated
// and installed, 5,000 networks and 2,000 peerings, with 1,000 simulated leaf agents in this
// process (bench/fabric.ts). Measured: a cold start — the reconciler starting over on an empty
// database and every agent booting with an empty disk — until every leaf is in sync; single
// changes (a machine freed, or allocated and installed again) until both of its leaves carry
// them; the reconciler's peak memory.
// BENCH_LEAVES, BENCH_MACHINES, BENCH_NETWORKS, BENCH_PEERINGS and BENCH_SAMPLES make smaller runs.
import { ProjectService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PeeringService, PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { readFileSync } from "node:fs";
import { testValkeyUrl } from "@bulkhead/db/testing";
import { median, percentile, table } from "@bulkhead/testkit/bench";
import { inParallel, PARTITION, progressOf, queueThroughput, round, startFabric, until, type MachinePlan, type SwitchPlan } from "./fabric.js";

const LEAVES = Number(process.env.BENCH_LEAVES ?? 1000);
const MACHINES = Number(process.env.BENCH_MACHINES ?? 20_000);
const NETWORKS = Number(process.env.BENCH_NETWORKS ?? 5000);
const PEERINGS = Number(process.env.BENCH_PEERINGS ?? 2000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 1000);
/** Below this many samples a tail is quoted as the max, not a percentile. */
const P99_MIN_SAMPLES = 1000;
/** A project's networks (each project peers two pairs of them until there are PEERINGS). */
const NETWORKS_PER_PROJECT = 5;
const CLIENTS = 32;
const AGENTS_AT_ONCE = 25;
/** metal-core pulls every 10 s; 1,000 agents reporting every 5 s would be 200 reports a second to each of two services. */
const HEARTBEAT_MS = 10_000;
const RENDER_INTERVAL_MS = 1000;

const progress = progressOf("scale");
const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** Peak and current resident memory of a process, in MiB (Linux). */
function memoryOf(pid: number): { peakMb: number; rssMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN);
  return { peakMb: Math.round(kb("VmHWM") / 1024), rssMb: Math.round(kb("VmRSS") / 1024) };
}

export default async function run() {
  const racks = LEAVES / 2;
  const portsPerLeaf = Math.ceil(MACHINES / racks);
  const f = await startFabric({ name: "sbench", superPrefixes: ["10.0.0.0/10", "2001:db8::/40"], childLength: { ipv4: 24, ipv6: 64 }, renderIntervalMs: RENDER_INTERVAL_MS, agentHeartbeatMs: HEARTBEAT_MS });
  try {
    let reconciler = await f.startReconciler("reconciler_sbench");
    const started = performance.now();

    // Projects, networks and peerings.
    const projects = Array.from({ length: Math.ceil(NETWORKS / NETWORKS_PER_PROJECT) }, (_, p) => p);
    const projectIds: string[] = [];
    await inParallel(
      projects.map((p) => async () => void (projectIds[p] = (await f.at(ProjectService, f.urls.network).createProject({ tenant: "acme", name: `p${pad(p, 4)}` })).project!.id)),
      CLIENTS,
    );
    const networks: { id: string; project: string }[] = [];
    const networkClient = f.at(NetworkService, f.urls.network);
    await inParallel(
      Array.from({ length: NETWORKS }, (_, k) => async () => {
        const project = projectIds[Math.floor(k / NETWORKS_PER_PROJECT)]!;
        networks[k] = { id: (await networkClient.allocateNetwork({ project, partition: PARTITION, name: `n${pad(k, 4)}` })).network!.id, project };
      }),
      CLIENTS,
    );
    progress(`${projects.length} projects, ${NETWORKS} networks`);
    const pairs = networks.flatMap((n, k) => (k % NETWORKS_PER_PROJECT === 0 || k % NETWORKS_PER_PROJECT === 2) && networks[k + 1]?.project === n.project ? [[n, networks[k + 1]!] as const] : []).slice(0, PEERINGS);
    const peerings = f.at(PeeringService, f.urls.peering);
    await inParallel(
      pairs.map(([a, b], k) => async () => void (await peerings.createPeering({ project: a.project, name: `peering-${k}`, type: PeeringType.LOCAL, network1: a.id, network2: b.id }))),
      CLIENTS,
    );
    progress(`${pairs.length} peerings`);

    // Leaves registered as their agents would; machines cabled to both leaves of a rack, each of a network.
    const switches: SwitchPlan[] = Array.from({ length: LEAVES }, (_, k) => ({ device: `leaf${pad(k + 1, 4)}`, rack: `r${pad(Math.floor(k / 2) + 1, 3)}`, index: k + 1, machinePorts: portsPerLeaf }));
    await inParallel(
      switches.map((sw) => () => f.registerSwitch(sw)),
      CLIENTS,
    );
    const machines: (MachinePlan & { network: (typeof networks)[number] })[] = Array.from({ length: MACHINES }, (_, k) => {
      const rack = k % racks;
      return { id: `m${pad(k, 5)}`, leaves: [switches[2 * rack]!.device, switches[2 * rack + 1]!.device], port: 1 + Math.floor(k / racks), index: k, network: networks[k % NETWORKS]! };
    });
    await inParallel(
      machines.map((m) => () => f.register(m)),
      CLIENTS,
    );
    progress(`${LEAVES} leaves and ${MACHINES} machines registered`);
    const allocate = async (m: (typeof machines)[number]) => {
      await f.machines.allocateMachine({ project: m.network.project, partition: PARTITION, machine: m.id, hostname: m.id, image: "ubuntu-24-04", networks: [{ network: m.network.id, autoAcquire: true }] });
      await f.install(m.id);
    };
    let allocated = 0;
    await inParallel(
      machines.map((m) => async () => {
        await allocate(m);
        if (++allocated % 2000 === 0) progress(`${allocated} machines allocated and installed`);
      }),
      CLIENTS,
    );
    await until("the reconciler has taken in the setup", 1_800_000, f.quiet, 1000);
    const setupMs = performance.now() - started;
    progress("set up");

    // Cold start: the reconciler on an empty database, every agent booting with an empty disk.
    await reconciler.stop();
    const cold = performance.now();
    reconciler = await f.startReconciler("reconciler_sbench_cold");
    const reconcilerUpMs = performance.now() - cold;
    await inParallel(
      switches.map((sw) => () => f.startSwitchAgent(sw)),
      AGENTS_AT_ONCE,
    );
    const agentsUpMs = performance.now() - cold;
    progress(`${LEAVES} agents started`);
    await until(`all ${LEAVES} leaves in sync`, 1_800_000, () => f.allInSync(LEAVES), 250);
    const coldMs = performance.now() - cold;
    progress(`${LEAVES} leaves in sync from a cold start`);
    await until("quiet after the cold start", 600_000, f.quiet, 250);

    // Single changes: a machine on every rack in turn is freed, then allocated and installed again.
    const carries = (m: MachinePlan, device: string) => f.configuration(device, "frr/frr.conf").includes(`neighbor swp${m.port} interface peer-group MACHINE`);
    const single: number[] = [];
    for (let k = 0; k < SAMPLES; k++) {
      const m = machines[Math.floor(k / 2) % machines.length]!;
      const free = k % 2 === 0;
      if (free) await f.machines.freeMachine({ project: m.network.project, id: m.id });
      else await allocate(m);
      const answered = performance.now();
      await until(`${m.id} ${free ? "off" : "on"} its leaves`, 60_000, () => m.leaves.every((l) => carries(m, l) === !free), 2);
      single.push(performance.now() - answered);
      await until("quiet after a single change", 60_000, f.quiet, 20);
      if (k % 100 === 99) progress(`${k + 1} single changes`);
    }
    const memory = memoryOf(reconciler.child.pid!);
    const queueRate = await queueThroughput(testValkeyUrl(), `${f.prefix}-q`, 32, 20_000);

    const tail = single.length >= P99_MIN_SAMPLES ? { scale_single_change_p99_ms: round(percentile(single, 99)) } : {};
    const figures = {
      leaves: LEAVES,
      machines: MACHINES,
      networks: NETWORKS,
      peerings: pairs.length,
      scale_setup_ms: Math.round(setupMs),
      scale_cold_converge_ms: Math.round(coldMs),
      scale_cold_reconciler_start_ms: Math.round(reconcilerUpMs),
      scale_cold_agents_started_ms: Math.round(agentsUpMs),
      scale_single_changes: single.length,
      scale_single_change_p50_ms: round(median(single)),
      ...tail,
      scale_single_change_max_ms: round(Math.max(...single)),
      scale_reconciler_rss_mb: memory.peakMb,
      scale_reconciler_rss_end_mb: memory.rssMb,
      queue_noop_jobs_per_s: Math.round(queueRate),
    };
    const report = [
      `## One partition: ${LEAVES} leaves, ${MACHINES} machines, ${NETWORKS} networks, ${pairs.length} peerings`,
      table(
        ["", "this run", "target"],
        [
          [`cold start: reconciler on an empty database and ${LEAVES} agents booting with empty disks → all in sync (ms)`, figures.scale_cold_converge_ms, "< 30,000"],
          ["… of which the reconciler starting (ms)", figures.scale_cold_reconciler_start_ms, ""],
          [`… of which starting the ${LEAVES} agents, ${AGENTS_AT_ONCE} at a time, in this process (ms)`, figures.scale_cold_agents_started_ms, ""],
          [`single change → both leaves carry it: p50 (ms, ${single.length} changes)`, figures.scale_single_change_p50_ms, ""],
          ...(tail.scale_single_change_p99_ms !== undefined ? [["… p99 (ms)", tail.scale_single_change_p99_ms, "< 500"]] : []),
          ["… max (ms)", figures.scale_single_change_max_ms, ""],
          ["reconciler memory: peak RSS (MiB)", figures.scale_reconciler_rss_mb, "< 2,048"],
          ["… at the end (MiB)", figures.scale_reconciler_rss_end_mb, ""],
          ["setting the partition up through the APIs (ms)", figures.scale_setup_ms, ""],
          ["BullMQ no-op jobs/s on the same Valkey (32 concurrent): the machine's speed", figures.queue_noop_jobs_per_s, ""],
        ],
      ),
      `metal-core pulls every 10 s (a mean of 5 s to a change). ${single.length >= P99_MIN_SAMPLES ? "" : `With ${single.length} samples the tail is quoted as the max, not a p99.`}`,
      "## Method",
      [
        `- The partition is set up through the services' APIs: ${projects.length} projects of ${NETWORKS_PER_PROJECT} networks each, the first two pairs of each project's networks peered, ${LEAVES} leaves (${portsPerLeaf} machine ports each) registered as their agents would, ${MACHINES} machines cabled to both leaves of their rack, each allocated into a network (${MACHINES / NETWORKS} per network) and installed, ${CLIENTS} clients at a time. The reconciler takes it all in meanwhile.`,
        `- Cold start: the reconciler stops and starts over on an empty database; the ${LEAVES} agents (metal-core in simulate mode, reporting every ${HEARTBEAT_MS / 1000} s) start in this process with empty configuration roots, ${AGENTS_AT_ONCE} at a time — the reconciler learns the devices from their first reports and renders, verifies (\`vtysh -C\` and the isolation verifier) and pushes every one. Done when every leaf's status is in sync.`,
        "- Single changes, one at a time: a machine freed, then allocated and installed again, on the next rack each time; measured from the last call's answer until both of its leaves' frr.conf carry (or no longer carry) its BGP session, then the reconciler's queues are let empty before the next.",
        "- Memory: the reconciler process's peak resident set (VmHWM) since its cold start.",
        "- Every process shares this machine's two cores; the agents share this benchmark's process.",
      ].join("\n"),
    ].join("\n\n");
    return { figures, report };
  } finally {
    await f.stop();
  }
}
