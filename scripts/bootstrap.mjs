#!/usr/bin/env node
// Makes `npm start`, `npm test`, `npm run bench` and `npm run generate` work on a machine that has
// only Node.js and npm: finds the pinned pnpm (or installs it under .tools/), installs the
// workspace's dependencies when they are missing or stale, then runs the task with tsx.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const [task, ...args] = process.argv.slice(2);
const tasks = {
  start: "deploy/local/start.ts",
  test: "scripts/test.ts",
  bench: "scripts/bench.ts",
  generate: "scripts/generate.ts",
};
if (!(task in tasks)) {
  console.error(`usage: bootstrap.mjs ${Object.keys(tasks).join("|")} [args...]`);
  process.exit(2);
}

const pinned = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager.split("@")[1];

function versionOf(command, commandArgs) {
  try {
    return execFileSync(command, [...commandArgs, "--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return undefined;
  }
}

/** The command that runs the pinned pnpm: from PATH if it is that version, else from .tools/. */
function pnpm() {
  if (versionOf("pnpm", []) === pinned) return ["pnpm", []];
  const local = join(root, ".tools", "node_modules", "pnpm", "bin", "pnpm.cjs");
  if (!existsSync(local) || versionOf(process.execPath, [local]) !== pinned) {
    console.error(`bootstrap: installing pnpm ${pinned} into .tools/`);
    const npm = process.platform === "win32" ? "npm.cmd" : "npm";
    const result = spawnSync(npm, ["install", "--prefix", join(root, ".tools"), "--no-save", "--no-audit", "--no-fund", `pnpm@${pinned}`], { stdio: "inherit" });
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
  return [process.execPath, [local]];
}

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, { cwd: root, stdio: "inherit", ...options });
  if (result.signal) process.kill(process.pid, result.signal);
  return result.status ?? 1;
}

const modules = join(root, "node_modules", ".modules.yaml");
const inputs = ["pnpm-lock.yaml", "pnpm-workspace.yaml", "package.json"].map((f) => join(root, f));
const stale = !existsSync(modules) || inputs.some((f) => existsSync(f) && statSync(f).mtimeMs > statSync(modules).mtimeMs);
if (stale) {
  const [command, prefix] = pnpm();
  console.error("bootstrap: installing dependencies");
  const status = run(command, [...prefix, "install", "--frozen-lockfile"]);
  if (status !== 0) process.exit(status);
}

process.exit(run(process.execPath, ["--import", "tsx", tasks[task], ...args], { env: { ...process.env, PATH: `${join(root, "node_modules", ".bin")}:${process.env.PATH}` } }));
