// Everything CI runs: contract checks, generated-code freshness, the type check and every uvu
// suite. Ends with one line `N passed, N failed` (checks count as one test each).
//   pnpm test              everything
//   pnpm test ipam db      only the suites of packages whose directory name matches
//   pnpm test checks       only the contract, generated-code and type checks
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const filters = process.argv.slice(2);
const jobs = Number(process.env.BULKHEAD_TEST_JOBS ?? 2);

interface Outcome {
  name: string;
  passed: number;
  failed: number;
  skipped: number;
  output: string;
  seconds: number;
}

/**
 * A package's suite that runs longer than this is taken for hung. Generous: the reconciler's suite
 * took 884 s alone on a slow 2-core machine and over 1,200 s beside another run of it.
 */
const SUITE_TIMEOUT_MS = 45 * 60_000;

function exec(command: string, args: string[], cwd = root, timeoutMs = SUITE_TIMEOUT_MS): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, FORCE_COLOR: "0" } });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const timer = setTimeout(() => {
      output += `\n(timed out after ${timeoutMs / 1000}s)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

async function check(name: string, work: () => Promise<{ ok: boolean; output: string }>): Promise<Outcome> {
  const started = Date.now();
  const { ok, output } = await work();
  return { name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, skipped: 0, output, seconds: (Date.now() - started) / 1000 };
}

const command = (name: string, args: string[]) =>
  check(name, async () => {
    const { code, output } = await exec(name.split(" ")[0]!, args);
    return { ok: code === 0, output };
  });

function listFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? listFiles(path) : [path];
  });
}

/** Generates into a scratch directory and compares with what is committed. */
const generatedIsFresh = () =>
  check("generated code is fresh (pnpm generate)", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "bh-gen-"));
    try {
      const gen = await exec("buf", ["generate", "-o", scratch]);
      const build = await exec("buf", ["build", "--exclude-source-info", "-o", join(scratch, "descriptors.binpb")]);
      if (gen.code !== 0 || build.code !== 0) return { ok: false, output: gen.output + build.output };
      const committed = join(root, "libs/api/src/gen");
      const fresh = join(scratch, "libs/api/src/gen");
      const names = new Set([...listFiles(committed).map((f) => relative(committed, f)), ...listFiles(fresh).map((f) => relative(fresh, f))]);
      const stale = [...names].filter((n) => !existsSync(join(committed, n)) || !existsSync(join(fresh, n)) || !readFileSync(join(committed, n)).equals(readFileSync(join(fresh, n))));
      if (!readFileSync(join(root, "libs/api/descriptors.binpb")).equals(readFileSync(join(scratch, "descriptors.binpb")))) stale.push("descriptors.binpb");
      return { ok: stale.length === 0, output: stale.length ? `stale, run \`pnpm generate\`:\n${stale.map((s) => `  ${s}`).join("\n")}` : "" };
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

/**
 * The commit the contracts are compared with: BULKHEAD_CONTRACT_BASE when set; on a branch, its
 * merge base with main; on main itself (or a commit of its history), the parent.
 */
async function contractBase(): Promise<string> {
  if (process.env.BULKHEAD_CONTRACT_BASE) return process.env.BULKHEAD_CONTRACT_BASE;
  const head = (await exec("git", ["rev-parse", "HEAD"])).output.trim();
  for (const main of ["origin/main", "main"]) {
    const base = await exec("git", ["merge-base", "HEAD", main]);
    if (base.code === 0 && base.output.trim() !== head) return base.output.trim();
  }
  return "HEAD~1";
}

/** buf breaking (FILE) against the base commit; no base to compare with (a shallow clone) fails. */
const notBreaking = () =>
  check("buf breaking against the base commit", async () => {
    const base = await contractBase();
    if ((await exec("git", ["rev-parse", "--verify", "--quiet", `${base}^{commit}`])).code !== 0) {
      return { ok: false, output: `no base commit ${base} to compare the contracts with (a shallow clone?): fetch more history (git fetch --deepen=1) or set BULKHEAD_CONTRACT_BASE` };
    }
    if ((await exec("git", ["cat-file", "-e", `${base}:buf.yaml`])).code !== 0) return { ok: true, output: `${base} has no contracts yet; nothing to compare` };
    const { code, output } = await exec("buf", ["breaking", "--against", `.git#ref=${base}`]);
    return { ok: code === 0, output: `against ${base}\n${output}` };
  });

function suiteDirs(): string[] {
  return ["libs", "services", "deploy"]
    .flatMap((group) => (existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => join(root, group, name)) : []))
    .filter((dir) => existsSync(join(dir, "test")))
    .filter((dir) => filters.length === 0 || filters.some((f) => dir.split("/").pop()!.includes(f)))
    .sort();
}

async function suite(dir: string): Promise<Outcome> {
  const started = Date.now();
  const { code, output } = await exec(process.execPath, ["--import", "tsx", join(root, "node_modules/uvu/bin.js"), "test", "\\.test\\.ts$", "--no-color"], dir);
  const number = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(output)?.[1] ?? 0);
  const total = number("Total");
  const passed = number("Passed");
  let failed = total - passed;
  // A suite that crashed, hung or exited early failed even if the tests it reached passed.
  if (code !== 0 && failed === 0) failed = 1;
  return { name: relative(root, dir), passed, failed, skipped: number("Skipped"), output, seconds: (Date.now() - started) / 1000 };
}

async function inParallel<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>, done: (result: R) => void): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const result = await work(items[next++]!);
        results.push(result);
        done(result);
      }
    }),
  );
  return results;
}

function report(outcome: Outcome): void {
  const mark = outcome.failed ? "✗" : "✓";
  const counts = outcome.passed + outcome.failed > 1 || outcome.skipped ? ` ${outcome.passed} passed, ${outcome.failed} failed${outcome.skipped ? `, ${outcome.skipped} skipped` : ""}` : "";
  console.log(`${mark} ${outcome.name}${counts} (${outcome.seconds.toFixed(1)}s)`);
  if (outcome.failed || process.env.BULKHEAD_TEST_VERBOSE) console.log(outcome.output.replace(/^/gm, "    "));
}

const outcomes: Outcome[] = [];
if (filters.length === 0 || filters.includes("checks")) {
  for (const step of [() => command("buf lint", ["lint"]), () => command("buf format", ["format", "-d", "--exit-code"]), notBreaking, generatedIsFresh, () => command("tsc", ["-p", "tsconfig.json", "--noEmit"])]) {
    const outcome = await step();
    report(outcome);
    outcomes.push(outcome);
  }
}
outcomes.push(...(await inParallel(suiteDirs(), jobs, suite, report)));

const passed = outcomes.reduce((n, o) => n + o.passed, 0);
const failed = outcomes.reduce((n, o) => n + o.failed, 0);
const skipped = outcomes.reduce((n, o) => n + o.skipped, 0);
if (skipped) console.log(`${skipped} skipped`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
