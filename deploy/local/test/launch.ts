// `npm start` driven like a user would: the launcher in a process of its own (its own PostgreSQL, a
// local Valkey), the sections it prints, and their lines run as a user pasting them into bash.
// Shared by the launcher test and the lab benchmark.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { launcherPorts } from "../demo.js";

const exec = promisify(execFile);
const children = new Map<ChildProcess, () => string>();
const directories = new Set<string>();
const root = new URL("../../../", import.meta.url).pathname;
/** A launcher that prints nothing new for this long is stuck (it prints every step it takes). */
const STALLED_MS = 90_000;
/** How long a launcher left running at the end may take to stop its Valkey and PostgreSQL. */
const CLEANUP_MS = 30_000;


const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });

/**
 * A base port (BULKHEAD_BASE_PORT) every port of a launcher is free from, chosen at random between
 * 20000 and 30000, so that runs on one machine (a CI run beside another build) do not collide.
 * Bases handed out before in this process are not handed out again (nor ones overlapping them).
 */
const handedOut = new Set<number>();
export async function freeBasePort(): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 9_700);
    const near = [...handedOut].some((b) => Math.abs(b - base) < 110);
    if (!near && (await Promise.all(launcherPorts(base).map(portFree))).every(Boolean)) {
      handedOut.add(base);
      return base;
    }
  }
}

/** A data directory for a launcher, deleted by cleanUp(). */
export function dataDirectory(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `bh-${label}-`));
  directories.add(dir);
  return dir;
}

function spawnLauncher(dir: string, args: string[], port: number): { child: ChildProcess; output: () => string; quietFor: () => number } {
  const env: Record<string, string | undefined> = { ...process.env, BULKHEAD_DATA_DIR: dir, BULKHEAD_BASE_PORT: String(port) };
  delete env.DATABASE_URL;
  delete env.VALKEY_URL;
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "deploy/local/start.ts"), ...args], { env, cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  let lastOutputAt = Date.now();
  const append = (d: Buffer) => ((output += d), (lastOutputAt = Date.now()));
  child.stdout!.on("data", append);
  child.stderr!.on("data", append);
  children.set(child, () => output);
  child.once("exit", () => children.delete(child));
  return { child, output: () => output, quietFor: () => Date.now() - lastOutputAt };
}

/** Starts a launcher that is expected to give up: resolves with its exit code and output. */
export async function launchRefused(dir: string, args: string[], port: number): Promise<{ code: number | null; output: string }> {
  const { child, output } = spawnLauncher(dir, args, port);
  const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once("exit", (c) => resolve(c))));
  return { code, output: output() };
}

/**
 * Starts the launcher with its data in `dir`, its services from `port`; resolves once it says it
 * runs. Budgeted by progress, not by a guess of the machine's speed: it fails when the launcher
 * exits or stops printing, with everything it printed.
 */
export async function launch(dir: string, args: string[], port: number): Promise<{ child: ChildProcess; output: () => string }> {
  const { child, output, quietFor } = spawnLauncher(dir, args, port);
  while (!output().includes("Ctrl-C stops everything")) {
    if (child.exitCode !== null) throw new Error(`the launcher exited (${child.exitCode}):\n${output()}`);
    if (quietFor() > STALLED_MS) throw new Error(`the launcher printed nothing for ${STALLED_MS / 1000} s:\n${output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!output().includes("Bulkhead is running.")) throw new Error(`the launcher did not say it runs:\n${output()}`);
  return { child, output };
}

/** Ctrl-C (or another signal): resolves with the launcher's exit code. */
export async function stop(child: ChildProcess, signal: NodeJS.Signals = "SIGINT"): Promise<number | null> {
  child.kill(signal);
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/**
 * After the tests: a launcher still running belongs to a failed test — its output is printed, it
 * is stopped like Ctrl-C (so its Valkey and PostgreSQL stop too), killed if that takes too long —
 * and every data directory is deleted.
 */
export async function cleanUp(): Promise<void> {
  for (const [child, output] of children) {
    process.stderr.write(`--- a launcher left running (pid ${child.pid}) printed:\n${output()}\n---\n`);
    const exited = new Promise((r) => child.once("exit", r));
    child.kill("SIGTERM");
    const killed = setTimeout(() => child.kill("SIGKILL"), CLEANUP_MS);
    await exited;
    clearTimeout(killed);
  }
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
  directories.clear();
}

/** The indented lines of a printed section, from its heading to the next empty line. */
export function section(output: string, heading: string): string[] {
  const lines = output.split("\n");
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start < 0) throw new Error(`"${heading}" is not printed:\n${output}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === "");
  return lines.slice(start + 1, end).map((l) => l.trim());
}

/**
 * Runs lines as a user pasting them into a plain bash would: from the repository, with the user's
 * environment and a PATH without what package managers prepend (node_modules/.bin, .tools).
 */
export const sh = (lines: string[], extra: Record<string, string> = {}) =>
  exec("bash", ["-e", "-o", "pipefail", "-c", lines.join("\n")], { cwd: root, env: { ...process.env, PATH: userPath(), ...extra }, maxBuffer: 16 << 20 });

const userPath = () => (process.env.PATH ?? "").split(":").filter((p) => p && !p.includes("node_modules/.bin") && !p.includes("/.tools/")).join(":");

/** What the printed `export BULKHEAD_CONFIG=…` sets for a launcher with its data in `dir`, for calls of a test's own. */
export const cliEnv = (dir: string) => ({ BULKHEAD_CONFIG: join(dir, "cli.json") });
