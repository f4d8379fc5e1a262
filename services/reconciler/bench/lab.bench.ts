// The fabric lab: how long a proof takes on real FRR, and what it catches by itself.
// - demo_lab_ms: `bulkhead fabric lab --partition demo` on the fabric `npm start` seeds, after its
//   printed walkthrough (the launcher in a process of its own, the lab in its reconciler).
// - lab_20_routers_ms: the three-project fabric of the tests (2 spines, 4 leaves, an exit switch,
//   2 firewalls, 9 machines, 2 external peers: 20 routers), built through the public RPCs.
// - Catch rate: every fault of the mutation catalogue (test/mutations.ts) run on the lab, against
//   the verifier's verdict on the same faults.
import { performance } from "node:perf_hooks";
import { labUnavailable, proven, runLab, type LabReport } from "@bulkhead/lab";
import { median, table } from "@bulkhead/testkit/bench";
import { cleanUp, cliEnv, dataDirectory, freeBasePort, launch, section, sh, stop } from "../../../deploy/local/test/launch.js";
import { factsOf } from "../src/facts.js";
import { startStack } from "../test/harness.js";
import { hostile, measure } from "../test/mutations.js";
import { threeProjects } from "../test/scenario.js";

const RUNS = Number(process.env.BENCH_LAB_RUNS ?? 3);
const PARALLEL = Number(process.env.BULKHEAD_LAB_PARALLEL ?? 2);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

/** The demo fabric after the walkthrough: wall time of each `fabric lab` run, and its report. */
async function demo(): Promise<{ times: number[]; report: string }> {
  const dir = dataDirectory("bench-lab");
  const launched = await launch(dir, [], await freeBasePort());
  try {
    const walkthrough = section(launched.output(), "Try it with the bulkhead CLI");
    const lab = walkthrough.findIndex((l) => l.includes("fabric lab"));
    await sh(walkthrough.slice(0, lab));
    const times: number[] = [];
    let report = "";
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      report = (await sh([walkthrough[lab]!], cliEnv(dir))).stdout;
      times.push(performance.now() - started);
    }
    return { times, report };
  } finally {
    await stop(launched.child);
    await cleanUp();
  }
}

/** What the lab's report shows of a fault: caught (something leaked, was dropped or strayed, or a ping went wrong), inconclusive (it did not converge or met an error), or missed. */
const verdict = (r: LabReport) => (r.leaks.length + r.blackHoles.length + r.strays.length > 0 || r.pings.some((p) => p.ok !== p.expect) ? "caught" : !proven(r) ? "inconclusive" : "missed");

export default async function run() {
  const unavailable = labUnavailable();
  if (unavailable) throw new Error(unavailable);
  const demoRun = await demo();
  const stack = await startStack();
  const fabricTimes: number[] = [];
  let fabricReport: LabReport | undefined;
  let results: Awaited<ReturnType<typeof measure>> = [];
  try {
    const fabric = await threeProjects(stack, "bench", 4);
    const input = hostile(await fabric.partition.labInput(), fabric);
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      fabricReport = await runLab(input);
      fabricTimes.push(performance.now() - started);
      if (!proven(fabricReport)) throw new Error("the three-project fabric is not proven");
    }
    results = await measure(input, fabric, factsOf(await fabric.partition.records()), () => true, PARALLEL);
  } finally {
    await stack.stop();
  }
  const labOf = (r: (typeof results)[number]) => verdict(r.lab!);
  const isolation = results.filter((r) => r.isolation);
  const routers = Number(/(\d+) routers/.exec(demoRun.report)?.[1]);
  const figures = {
    demo_lab_ms: Math.round(median(demoRun.times)),
    demo_routers: routers,
    lab_20_routers_ms: Math.round(median(fabricTimes)),
    lab_20_routers_converged_ms: fabricReport!.timings.convergedMs,
    lab_20_routers_probes: fabricReport!.probes,
    mutations_total: results.length,
    lab_mutations_caught: results.filter((r) => labOf(r) === "caught").length,
    lab_mutations_inconclusive: results.filter((r) => labOf(r) === "inconclusive").length,
    isolation_mutations: isolation.length,
    lab_isolation_mutations_caught: isolation.filter((r) => labOf(r) === "caught").length,
    verify_isolation_mutations_caught: isolation.filter((r) => r.verify).length,
    isolation_mutations_missed_by_both: isolation.filter((r) => !r.verify && labOf(r) !== "caught").length,
    leaks_shown_but_verified: results.filter((r) => r.lab!.leaks.length > 0 && !r.verify).length,
  };
  const report = [
    "## Run time",
    table(
      ["fabric", "routers", "median s", "runs (s)"],
      [
        ["demo (`npm start`, after the walkthrough)", routers, seconds(figures.demo_lab_ms), demoRun.times.map(seconds).join(", ")],
        ["three projects (tests)", fabricReport!.routers, seconds(figures.lab_20_routers_ms), fabricTimes.map(seconds).join(", ")],
      ],
    ),
    `Target: the demo fabric proven in under 60 s on this machine. Of the three-project run, ${seconds(fabricReport!.timings.setupMs)} s go to namespaces and links, BGP converges ${seconds(fabricReport!.timings.convergedMs)} s after the start, and ${fabricReport!.probes} probes are walked.`,
    "## Catch rate on the mutation catalogue",
    table(
      ["faults", "count", "lab caught", "lab inconclusive", "verifier caught"],
      [
        ["breaking isolation", isolation.length, figures.lab_isolation_mutations_caught, isolation.filter((r) => labOf(r) === "inconclusive").length, figures.verify_isolation_mutations_caught],
        ["all", results.length, figures.lab_mutations_caught, figures.lab_mutations_inconclusive, results.filter((r) => r.verify).length],
      ],
    ),
    `Isolation-breaking faults neither caught: ${figures.isolation_mutations_missed_by_both}. Faults the lab shows leaking that the verifier let through: ${figures.leaks_shown_but_verified}. The lab misses what does not show in the three-project fabric's traffic (a filter that only matters for a route nobody announces, a rule for a port nobody probes); the verifier, which reads every line against the records, is the gate before a push and the lab its ground truth.`,
    "Lab verdict per fault:",
    results.map((r) => `- ${r.isolation ? "isolation" : "other"}: ${r.name} — lab ${labOf(r)}${r.lab!.leaks.length ? ` (${r.lab!.leaks.length} leaks)` : ""}, verifier ${r.verify ? "caught" : "missed"}`).join("\n"),
    "## Method",
    `- Wall time of ${RUNS} runs each, median; the demo's through the CLI and the reconciler's RPC, the three-project fabric's with \`runLab\` in the benchmark's process. ${PARALLEL} mutation runs at a time (\`BULKHEAD_LAB_PARALLEL\`), each bounded to 45 s of convergence.`,
    "- A fault is caught when the lab reports a leak, a black hole, a stray route or a ping that went otherwise than expected; inconclusive when the routers did not converge or the lab met an error.",
  ].join("\n\n");
  return { figures, report };
}
