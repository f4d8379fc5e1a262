#!/usr/bin/env node
// The `bulkhead` command. It runs a bundle of the CLI (dist/bulkhead.mjs, plain JavaScript: no
// TypeScript is transpiled per call), which it builds with esbuild on first use and again when a
// source it is made from is newer. Where the bundle cannot be written (a read-only checkout), it
// runs the sources with tsx instead.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const cli = dirname(dirname(fileURLToPath(import.meta.url)));
const repo = dirname(dirname(cli));
const bundle = join(cli, "dist", "bulkhead.mjs");
/** What the bundle is made of: its sources, and the dependency set. */
const inputs = [join(cli, "src"), join(cli, "package.json"), join(repo, "libs", "sdk", "src"), join(repo, "libs", "api", "src"), join(repo, "pnpm-lock.yaml")];

function newestBelow(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestBelow(join(path, entry)));
  return newest;
}

async function build() {
  const { build } = await import("esbuild");
  mkdirSync(dirname(bundle), { recursive: true });
  // Written aside and renamed: a concurrent call never runs half a bundle.
  const partial = `${bundle}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(cli, "src", "entry.ts")],
    outfile: partial,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "error",
    // Bundled CommonJS dependencies call require().
    banner: { js: "import { createRequire as bulkheadRequire } from 'node:module'; const require = bulkheadRequire(import.meta.url);" },
  });
  renameSync(partial, bundle);
}

let runnable = existsSync(bundle) && statSync(bundle).mtimeMs >= Math.max(...inputs.map(newestBelow));
if (!runnable) {
  try {
    await build();
    runnable = true;
  } catch {
    runnable = false;
  }
}
if (runnable) {
  await import(pathToFileURL(bundle).href);
} else {
  const tsx = import.meta.resolve("tsx");
  const result = spawnSync(process.execPath, ["--import", tsx, join(cli, "src", "entry.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
