// Verification of a render before it may be pushed: FRR's and nftables' own parsers over the
// files (the isolation checks of libs/verify join here). Which parsers work is found out once, at
// start, on a sample file: `nft -c` needs CAP_NET_ADMIN, so as an unprivileged user (the image)
// it runs in a user and network namespace of its own. `auto` uses what works and says at start
// what does not, `required` refuses to start without every parser, `off` runs none.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RevisionFile } from "@bulkhead/render";
import type { Finding, Verification } from "./store.js";

const exec = promisify(execFile);
export type VerifyMode = "auto" | "required" | "off";

type Command = (file: string) => [string, string[]];

interface Tool {
  name: string;
  applies: (path: string) => boolean;
  /** Ways to run it, tried in this order at start: the first that checks the sample is used. */
  commands: { how: string; command: Command }[];
  sample: string;
}

const tools: Tool[] = [
  {
    name: "vtysh -C",
    applies: (p) => p.endsWith("frr.conf"),
    commands: [{ how: "", command: (f) => ["vtysh", ["-C", "-f", f]] }],
    sample: "frr version 8.4\nhostname probe\n!\nrouter bgp 65000\n!\n",
  },
  {
    name: "nft -c",
    applies: (p) => p.endsWith(".nft"),
    commands: [
      { how: "", command: (f) => ["nft", ["-c", "-f", f]] },
      { how: "in a user and network namespace of its own", command: (f) => ["unshare", ["--user", "--map-root-user", "--net", "nft", "-c", "-f", f]] },
    ],
    sample: "table inet bulkhead_probe {\n}\n",
  },
];

/** The parsers that work here, found at start. */
export interface VerifyTools {
  mode: VerifyMode;
  /** The parsers run as another user (`runAs`): their files must be readable by it. */
  shared: boolean;
  active: { tool: Tool; command: Command; how: string }[];
  unavailable: { name: string; reason: string }[];
}

export const noVerifyTools: VerifyTools = { mode: "off", shared: false, active: [], unavailable: [] };

/** A directory for the files to check, readable by the parsers' user. */
function workDir(prefix: string, shared: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (shared) chmodSync(dir, 0o755);
  return dir;
}

const writeChecked = (file: string, content: string, shared: boolean) => writeFileSync(file, content, { mode: shared ? 0o644 : 0o600 });

const firstLine = (e: NodeJS.ErrnoException & { stderr?: string; stdout?: string }) =>
  e.code === "ENOENT" ? "not installed" : (e.stderr || e.stdout || e.message).trim().split("\n").filter((l) => !l.startsWith("%"))[0] ?? e.message;

/**
 * Tries every tool on its sample; `required` with one unavailable is the caller's to refuse.
 * `runAs` is a command prefix every parser then runs under (tests: another user, e.g. setpriv).
 */
export async function probeVerifyTools(mode: VerifyMode, runAs: readonly string[] = []): Promise<VerifyTools> {
  if (mode === "off") return noVerifyTools;
  const shared = runAs.length > 0;
  const dir = workDir("bulkhead-probe-", shared);
  const found: VerifyTools = { mode, shared, active: [], unavailable: [] };
  try {
    for (const tool of tools) {
      const file = join(dir, tool.name.replace(/\W+/g, "_"));
      writeChecked(file, tool.sample, shared);
      const reasons: string[] = [];
      for (const variant of tool.commands) {
        const command: Command = runAs.length === 0 ? variant.command : (f) => [runAs[0]!, [...runAs.slice(1), ...variant.command(f).flat()]];
        const how = variant.how;
        const [cmd, args] = command(file);
        try {
          await exec(cmd, args, { timeout: 30_000 });
          found.active.push({ tool, command, how });
          break;
        } catch (error) {
          reasons.push(`${cmd}: ${firstLine(error as NodeJS.ErrnoException)}`);
        }
      }
      if (!found.active.some((a) => a.tool === tool)) found.unavailable.push({ name: tool.name, reason: reasons.join("; ") });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return found;
}

/** `line 12: % Unknown command` → 12 (vtysh), `file.nft:12:3-9: Error` → 12 (nft). */
const lineOf = (message: string) => Number(/line (\d+)/.exec(message)?.[1] ?? /\.\w+:(\d+):/.exec(message)?.[1] ?? 0);

export async function verifySyntax(device: string, files: readonly RevisionFile[], tools: VerifyTools): Promise<Verification> {
  const checks: string[] = [];
  const findings: Finding[] = [];
  const dir = workDir("bulkhead-verify-", tools.shared);
  try {
    for (const { tool, command } of tools.active) {
      const mine = files.filter((f) => tool.applies(f.path));
      if (mine.length === 0) continue;
      for (const f of mine) {
        const file = join(dir, f.path.replaceAll("/", "_"));
        writeChecked(file, f.content, tools.shared);
        const [cmd, args] = command(file);
        try {
          await exec(cmd, args, { timeout: 60_000, maxBuffer: 8 << 20 });
        } catch (error) {
          const e = error as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
          const message = (e.stderr || e.stdout || e.message).trim().split("\n").slice(0, 5).join(" / ");
          findings.push({ property: "syntax", device, path: f.path, line: lineOf(message), object: tool.name, message });
        }
      }
      checks.push(tool.name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { passed: findings.length === 0, checks, findings };
}
