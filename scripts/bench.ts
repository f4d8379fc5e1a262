// Runs benchmarks and writes bench-results/<name>.json (a flat object of named figures) and a
// readable bench-results/<name>.md beside it.
//   pnpm bench          every benchmark
//   pnpm bench ipam     only services/*/bench/ipam.bench.ts (or libs/*, deploy/local)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** What a `<name>.bench.ts` module's default export resolves to. */
export interface BenchResult {
  figures: Record<string, number | string>;
  /** Markdown body: what was measured, how, medians and ratios against the in-run baseline. */
  report: string;
}

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const wanted = process.argv.slice(2);

const benches = [...["libs", "services"].flatMap((group) => readdirSync(join(root, group)).map((name) => join(root, group, name, "bench"))), join(root, "deploy", "local", "bench")]
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith(".bench.ts")).map((f) => ({ name: f.replace(/\.bench\.ts$/, ""), path: join(dir, f) })))
  .filter((b) => wanted.length === 0 || wanted.includes(b.name));

if (benches.length === 0) {
  console.log(wanted.length ? `no benchmark named ${wanted.join(", ")}` : "no benchmarks yet");
  process.exit(wanted.length ? 1 : 0);
}

// An interrupted run exits through process.exit, so the benchmarks' exit hooks stop what they started.
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) process.once(signal, () => process.exit(code));

mkdirSync(join(root, "bench-results"), { recursive: true });
/** Where a result was measured: every result file records the commit and the machine's core count. */
const commit = (() => {
  try {
    const head = execFileSync("git", ["rev-parse", "--short=12", "HEAD"], { cwd: root, encoding: "utf8" }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" }).trim() !== "";
    return dirty ? `${head}+uncommitted` : head;
  } catch {
    return "unknown";
  }
})();
for (const bench of benches) {
  console.log(`bench ${bench.name}: running ${bench.path.slice(root.length + 1)}`);
  const module = (await import(pathToFileURL(bench.path).href)) as { default: () => Promise<BenchResult> };
  const result = await module.default();
  writeFileSync(join(root, "bench-results", `${bench.name}.json`), `${JSON.stringify({ ...result.figures, commit, cores: availableParallelism() }, null, 2)}\n`);
  writeFileSync(join(root, "bench-results", `${bench.name}.md`), `# Benchmark: ${bench.name}\n\nMeasured ${new Date().toISOString()} at commit ${commit} on this machine (${availableParallelism()} cores).\n\n${result.report}\n`);
  console.log(`bench ${bench.name}: wrote bench-results/${bench.name}.json and .md`);
}
process.exit(0);
