// Convergence of the push path with 200 simulated switch agents on loopback: the latency from a
// machine allocation's answer to both of its leaves having applied the new configuration, a burst
// of 500 allocations (time to converge, pushes per device) and cold starts. The fabric — the
// control plane as processes, the agents in this process — is bench/fabric.ts. BullMQ's own rate
// on the same Valkey, for scale.
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { ProjectService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { testValkeyUrl } from "@bulkhead/db/testing";
import { median, percentile, table } from "@bulkhead/testkit/bench";
import { inParallel, PARTITION, progressOf, queueThroughput, round, startFabric, until, type MachinePlan, type SwitchPlan } from "./fabric.js";

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
const pad = (n: number) => String(n).padStart(3, "0");
const leafName = (i: number) => `leaf${pad(i)}`;
const progress = progressOf("convergence");

export default async function run() {
  const f = await startFabric({ name: "cbench", superPrefixes: ["10.0.0.0/12", "2001:db8::/40"], childLength: { ipv4: 22, ipv6: 64 }, renderIntervalMs: RENDER_INTERVAL_MS, agentHeartbeatMs: 5000 });
  try {
    let reconciler = await f.startReconciler("reconciler_cbench");
    const networks = f.at(NetworkService, f.urls.network);
    const projects: { id: string; net: string }[] = [];
    for (let p = 0; p < PROJECTS; p++) {
      const id = (await f.at(ProjectService, f.urls.network).createProject({ tenant: "acme", name: `p${p}` })).project!.id;
      projects.push({ id, net: (await networks.allocateNetwork({ project: id, partition: PARTITION, name: `p${p}-net` })).network!.id });
    }

    // 200 switch agents, two per rack, started together as a fabric's switches boot: each
    // registers its switch with the inventory and reports to the reconciler at once.
    const switches: SwitchPlan[] = Array.from({ length: LEAVES }, (_, k) => ({ device: leafName(k + 1), rack: `r${pad(Math.ceil((k + 1) / 2))}`, index: k + 1, machinePorts: MACHINE_PORTS }));
    const leaves = switches.map((sw) => () => f.startSwitchAgent(sw));
    const startedAgents = performance.now();
    await inParallel(leaves, AGENT_STARTS_AT_ONCE);
    const agentsUpMs = performance.now() - startedAgents;
    progress(`${LEAVES} agents started`);
    const { quiet, statuses } = f;
    const allInSync = (devices = LEAVES) => f.allInSync(devices);
    await until("every agent in sync", 300_000, () => allInSync(), 100);
    const coldMs = performance.now() - startedAgents;
    progress(`${LEAVES} agents in sync`);

    // Machines, cabled to both leaves of a rack on the same port, registered up front; each of a
    // project. The single changes allocate and free them; the burst allocates them again.
    const machines = f.machines;
    const racks = LEAVES / 2;
    const rackLeaves = (rack: number): [string, string] => [leafName(2 * rack + 1), leafName(2 * rack + 2)];
    const plan: (MachinePlan & { rack: number; project: (typeof projects)[number] })[] = [];
    for (let k = 0; k < Math.max(Math.ceil(SINGLE_SAMPLES / 2), BURST); k++) plan.push({ id: `m${String(k).padStart(4, "0")}`, rack: k % racks, leaves: rackLeaves(k % racks), port: 1 + Math.floor(k / racks), index: k, project: projects[k % PROJECTS]! });
    // The last port is the firewalls'.
    if (plan.some((m) => m.port >= MACHINE_PORTS)) throw new Error("not enough machine ports");
    const leavesOf = (m: MachinePlan) => m.leaves;
    const registerAll = async (list: readonly MachinePlan[]) => {
      for (const m of list) await f.register(m);
    };
    const carries = (m: MachinePlan, device: string) => f.configuration(device, "frr/frr.conf").includes(`neighbor swp${m.port} interface peer-group MACHINE`);
    const allocate = async (m: (typeof plan)[number]) => {
      await machines.allocateMachine({ project: m.project.id, partition: PARTITION, machine: m.id, hostname: m.id, image: "ubuntu-24-04", networks: [{ network: m.project.net, autoAcquire: true }] });
    };
    // The leaves move a machine's port into its VRF once its installer reports the OS on disk.
    const install = (m: MachinePlan) => f.install(m.id);
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
    const firewalls = Array.from({ length: FIREWALLS }, (_, k) => ({ id: `fw${pad(k + 1)}`, rack: k % racks, leaves: rackLeaves(k % racks), port: MACHINE_PORTS, index: 100_000 + k, project: projects[k % PROJECTS]! }));
    await registerAll(firewalls);
    for (const fw of firewalls) {
      await machines.allocateFirewall({ project: fw.project.id, partition: PARTITION, machine: fw.id, hostname: fw.id, image: "ubuntu-24-04", networks: [{ network: fw.project.net, autoAcquire: true }, { network: "internet", autoAcquire: true }] });
      await install(fw);
    }
    await until("the firewalls rendered", 120_000, quiet, 250);
    await f.stopAgents();
    await reconciler.stop();
    progress(`${FIREWALLS} firewalls allocated; the fabric stopped`);
    const coldAgain = performance.now();
    reconciler = await f.startReconciler("reconciler_cbench_cold");
    const reconcilerUpMs = performance.now() - coldAgain;
    await inParallel([...leaves, ...firewalls.map((fw) => () => f.startFirewallAgent(fw.id))], AGENT_STARTS_AT_ONCE);
    await until("every leaf and firewall in sync", 300_000, () => allInSync(LEAVES + FIREWALLS), 100);
    const coldWithFirewallsMs = performance.now() - coldAgain;
    progress(`${LEAVES} leaves and ${FIREWALLS} firewalls in sync from a cold start`);

    const queueRate = await queueThroughput(testValkeyUrl(), `${f.prefix}-q`, 32, 20_000);
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
    // 10c9b0f1d911 (before the records snapshots) on this machine, measured just before this commit's run: 300 single changes.
    const previous = { single_p50: 175.3, single_max: 530.4, burst_allocs_per_s: 23, burst_allocate: 21714, burst_converge: 23624, burst_after: 1910, allocate_p50: 841.6, install_p50: 517, pushes_max: 1, pushes_mean: 1, cold: 16866, agents: 3557, cold_firewalls: 22876, reconciler_start: 1373, queue: 6181 };
    const report = [
      `## Single change (${single.length} changes one at a time: machine allocations and frees)`,
      table(
        ["", "this run (ms)", "10c9b0f (ms, 300 changes)", "b00eb45 (ms)", "target"],
        [
          ["p50", figures.single_change_p50_ms, previous.single_p50, before.single_p50, ""],
          ...(tail.single_change_p99_ms !== undefined ? [["p99", tail.single_change_p99_ms, "", "", "< 300"]] : []),
          ["max", figures.single_change_max_ms, previous.single_max, before.single_max, ""],
        ],
      ),
      `A change is a machine allocation — AllocateMachine followed by the installer's ReportInstallation: the leaves move the machine's port into its VRF once the OS is on disk, as metal-stack does — or a FreeMachine. Measured from the last call's answer to both of the machine's leaves having written a frr.conf that carries (or no longer carries) the machine's BGP session. A round allocates a machine on every rack, then frees them, so a rack changes again only a round later. metal-core pulls every 10 s, so its mean is 5 s. ${single.length >= P99_MIN_SAMPLES ? "" : `With ${single.length} samples the max is quoted, not a p99.`}`,
      `## Burst (${BURST} allocations and installations from ${BURST_CLIENTS} clients, ${BURST / racks} per rack)`,
      table(
        ["", "this run", "10c9b0f", "b00eb45", "target"],
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
        ["", "this run", "10c9b0f", "b00eb45", "target"],
        [
          [`first agent started → all ${LEAVES} in sync (ms)`, figures.cold_converge_ms, previous.cold, before.cold, ""],
          [`… of which starting the ${LEAVES} agents (ms)`, figures.cold_agents_started_ms, previous.agents, "", ""],
          [`with ${FIREWALLS} firewalls: reconciler started on an empty database and the ${LEAVES + FIREWALLS} agents booting with empty disks → all in sync (ms)`, figures.cold_with_firewalls_converge_ms, previous.cold_firewalls, "", "< 5,000"],
          ["… of which the reconciler starting (process, migrations, serving) (ms)", figures.cold_with_firewalls_reconciler_start_ms, previous.reconciler_start, "", ""],
          ["BullMQ no-op jobs/s on the same Valkey (32 concurrent): the machine's speed", figures.queue_noop_jobs_per_s, previous.queue, before.queue, ""],
        ],
      ),
      `The first cold start registers the ${LEAVES} switches as their agents start. The second comes after the burst: ${FIREWALLS} firewalls are allocated (on the first racks' last port, each of a project, with its private and the internet network), then the agents and the reconciler stop, the reconciler starts over on an empty database and every agent boots with an empty configuration root — the reconciler learns the devices from their first reports and renders, verifies and pushes all of them. Both times the agents start in the benchmark's own process, which is busy starting ${LEAVES} services meanwhile: their applies answer slowly then, so these figures are bound by the harness as much as by the control plane.`,
      "10c9b0f1d911 is the commit before the records snapshots, run on this machine just before this one (the machine's speed varies by a third between runs: see the BullMQ gauge). b00eb4589e7d is the commit before the reconciler-speed work, with this benchmark on a slower machine (BullMQ gauge above) in a run of its own (its agents could not turn validation off: they ran `true` instead of `vtysh -C`).",
      "## Method",
      [
        `- IPAM, network, inventory, peering, firewall policy and the reconciler run as their own processes on one Postgres (a database each) and one Valkey; ${LEAVES} metal-core agents run in the benchmark's process in simulate mode: they write each file atomically and reload nothing. They do not validate with \`vtysh -C\` (a switch does, with its own CPU; ${LEAVES} of them here would share the two cores with the control plane).`,
        "- The reconciler verifies every new revision: `vtysh -C` (the frr.conf files of renders running together in one run) and the isolation verifier against a snapshot of the partition's records, read once and brought forward by the changes taken in since.",
        "- Completion is observed by reading the agents' files every 2 ms (single) or 20 ms (burst), device statuses every 100 ms (cold start).",
        "- The machine has 2 cores shared by every process; figures are single runs, the single-change ones a distribution. The BullMQ rate measures the machine: compare runs through it.",
      ].join("\n"),
    ].join("\n\n");
    return { figures, report };
  } finally {
    await f.stop();
  }
}
