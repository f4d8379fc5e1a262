#!/usr/bin/env node
// The `bulkhead` command: runs the TypeScript entry point with tsx.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const main = join(dirname(dirname(fileURLToPath(import.meta.url))), "src", "main.ts");
// tsx as this package resolves it, so the command works from any directory.
const tsx = import.meta.resolve("tsx");
const result = spawnSync(process.execPath, ["--import", tsx, main, ...process.argv.slice(2)], { stdio: "inherit", cwd: process.cwd() });
process.exit(result.status ?? 1);
