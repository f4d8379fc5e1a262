// How long `npm start` takes to be ready ("Bulkhead is running." and the walkthrough printed): on
// an empty data directory (PostgreSQL initialised, every service migrated, the demo seeded) and
// again on the same data, and how long Ctrl-C takes to stop everything.
import { performance } from "node:perf_hooks";
import { median, table } from "@bulkhead/testkit/bench";
import { cleanUp, dataDirectory, freeBasePort, launch, stop } from "../test/launch.js";

const RUNS = Number(process.env.BENCH_START_RUNS ?? 3);
const seconds = (ms: number) => Math.round(ms / 100) / 10;

export default async function run() {
  const fresh: number[] = [];
  const restart: number[] = [];
  const stops: number[] = [];
  const port = await freeBasePort();
  try {
    for (let i = 0; i < RUNS; i++) {
      const dir = dataDirectory("bench-start");
      let started = performance.now();
      let launched = await launch(dir, [], port);
      fresh.push(performance.now() - started);
      await stop(launched.child);
      started = performance.now();
      launched = await launch(dir, [], port);
      restart.push(performance.now() - started);
      started = performance.now();
      await stop(launched.child);
      stops.push(performance.now() - started);
    }
  } finally {
    await cleanUp();
  }
  const figures = { fresh_start_s: seconds(median(fresh)), restart_s: seconds(median(restart)), stop_s: seconds(median(stops)), runs: RUNS };
  const report = [
    `## npm start, median of ${RUNS} (s)`,
    table(["", "s"], [["ready on an empty data directory", figures.fresh_start_s], ["ready again on the same data", figures.restart_s], ["stopped by Ctrl-C", figures.stop_s]]),
    "Targets: < 20 s on a fresh clone after install, < 8 s on restart.",
    "## Method",
    "- The launcher in a process of its own, as `npm start` runs it, with its own PostgreSQL server and Valkey; ready when it has printed the walkthrough. The CLI bundle and dependencies are already built (the first `npm start` of a fresh clone also installs them).",
    "- Each fresh run has a new data directory: initdb, six migrated schemas, the demo fabric seeded and its seven agents started. The machine has 2 cores; other work may run.",
  ].join("\n\n");
  return { figures, report };
}
