// How long one `bulkhead` call takes: the bundled CLI (bin/bulkhead.mjs) against running the
// TypeScript sources with tsx (what every call cost before the bundle), in the same run. A call
// that only parses its command line (`--version`) and one that reaches a server (`switch list`
// answered by a stub listening on loopback: connection refused is answered the same way).
import { execFileSync, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { median, table } from "@bulkhead/testkit/bench";

const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 30);
const cli = fileURLToPath(new URL("../", import.meta.url));
const bin = `${cli}bin/bulkhead.mjs`;
const entry = `${cli}src/entry.ts`;
const round = (n: number) => Math.round(n);

function timed(args: string[]): number[] {
  const samples: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const started = performance.now();
    spawnSync(process.execPath, args, { stdio: "ignore" });
    samples.push(performance.now() - started);
  }
  return samples;
}

export default async function run() {
  execFileSync(process.execPath, [bin, "--version"]); // builds the bundle if it is stale
  const bundled = { version: timed([bin, "--version"]), call: timed([bin, "switch", "list", "--endpoint", "http://127.0.0.1:9"]) };
  const tsx = { version: timed(["--import", "tsx", entry, "--version"]), call: timed(["--import", "tsx", entry, "switch", "list", "--endpoint", "http://127.0.0.1:9"]) };
  const figures = {
    bundled_version_p50_ms: round(median(bundled.version)),
    bundled_call_p50_ms: round(median(bundled.call)),
    tsx_version_p50_ms: round(median(tsx.version)),
    tsx_call_p50_ms: round(median(tsx.call)),
    call_speedup: Math.round((median(tsx.call) / median(bundled.call)) * 10) / 10,
    samples: SAMPLES,
  };
  const report = [
    `## One call, median of ${SAMPLES} (ms)`,
    table(["", "bundled (bin/bulkhead.mjs)", "tsx (sources)"], [["bulkhead --version", figures.bundled_version_p50_ms, figures.tsx_version_p50_ms], ["bulkhead switch list (server refuses)", figures.bundled_call_p50_ms, figures.tsx_call_p50_ms]]),
    `The bundle is ${figures.call_speedup}× faster per call. Target: < 300 ms a call.`,
    "## Method",
    "- Each sample is a new `node` process, as a shell runs the command; the machine has 2 cores and other work may run.",
    "- `switch list` goes to a port nothing listens on, so the figure is the CLI's own cost (parsing, the SDK, one connection attempt), not a server's.",
  ].join("\n\n");
  return { figures, report };
}
