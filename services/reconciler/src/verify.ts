// Verification of a render before it may be pushed: FRR's and nftables' own parsers over the
// files (the isolation checks of libs/verify join here). Which parsers work is found out once, at
// start, on a sample file: `nft -c` needs CAP_NET_ADMIN, so as an unprivileged user (the image)
// it runs in a user and network namespace of its own. `auto` uses what works and says at start
// what does not, `required` refuses to start without every parser, `off` runs none.
//
// vtysh spends most of a check starting up, so the frr.conf files of renders running together are
// checked in one run: each file after a line only the top configuration node accepts (the parser
// climbs back to that node for it, so no file is read in the context another left), and a canary
// line at the end that must be the one error reported — a file that left configuration mode would
// silence what follows, and then the canary is missing. Anything else reported, and every file of
// the batch is checked alone for its own findings.
import { execFile } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RevisionFile } from "@bulkhead/render";
import { Batches } from "./batches.js";
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
  /** How files are checked together in one run (see the top of this file). */
  batch?: { separator: string; canary: string };
}

const tools: Tool[] = [
  {
    name: "vtysh -C",
    applies: (p) => p.endsWith("frr.conf"),
    commands: [{ how: "", command: (f) => ["vtysh", ["-C", "-f", f]] }],
    sample: "frr version 8.4\nhostname probe\n!\nrouter bgp 65000\n!\n",
    batch: { separator: "hostname bulkhead-syntax-batch", canary: "bulkhead-syntax-batch-canary" },
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
  active: ActiveTool[];
  unavailable: { name: string; reason: string }[];
}

interface ActiveTool {
  tool: Tool;
  command: Command;
  how: string;
  /** The tool's checks of renders running together, for a tool that checks files together. */
  batches?: Batches<string, Outcome>;
}

/** What a parser said of one file: nothing, or its error. */
type Outcome = { passed: true } | { passed: false; message: string };

export const noVerifyTools: VerifyTools = { mode: "off", shared: false, active: [], unavailable: [] };

/** Files checked in one run of a batching tool, runs at once, and how long a run waits for more files when none runs. */
const BATCH_MAX_FILES = 64;
const BATCH_PARALLEL = 2;
const BATCH_GATHER_MS = 4;

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
          const active: ActiveTool = { tool, command, how };
          if (tool.batch) active.batches = new Batches((contents) => checkTogether(active, tool.batch!, contents, shared), { parallel: BATCH_PARALLEL, maxSize: BATCH_MAX_FILES, gatherMs: BATCH_GATHER_MS });
          found.active.push(active);
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

/** One file through the tool alone. */
async function checkAlone(command: Command, content: string, shared: boolean, name: string): Promise<Outcome> {
  const dir = workDir("bulkhead-verify-", shared);
  try {
    const file = join(dir, name);
    writeChecked(file, content, shared);
    const [cmd, args] = command(file);
    await exec(cmd, args, { timeout: 60_000, maxBuffer: 8 << 20 });
    return { passed: true };
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    return { passed: false, message: (e.stderr || e.stdout || e.message).trim().split("\n").slice(0, 5).join(" / ") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Files through the tool in one run; unless the canary is the one error, each file alone. */
async function checkTogether(active: ActiveTool, batch: { separator: string; canary: string }, contents: string[], shared: boolean): Promise<Outcome[]> {
  const alone = () => Promise.all(contents.map((c) => checkAlone(active.command, c, shared, "candidate.conf")));
  if (contents.length === 1) return alone();
  const lines = contents.flatMap((c) => [batch.separator, ...(c.endsWith("\n") ? c.slice(0, -1) : c).split("\n")]);
  lines.push(batch.canary);
  const outcome = await checkAlone(active.command, `${lines.join("\n")}\n`, shared, "batch.conf");
  // All the parser said is one line: the canary's error.
  const onlyCanary = !outcome.passed && !outcome.message.includes(" / ") && outcome.message.startsWith(`line ${lines.length}:`) && outcome.message.endsWith(batch.canary);
  return onlyCanary ? contents.map(() => ({ passed: true })) : alone();
}

export async function verifySyntax(device: string, files: readonly RevisionFile[], tools: VerifyTools): Promise<Verification> {
  const checks: string[] = [];
  const findings: Finding[] = [];
  for (const active of tools.active) {
    const mine = files.filter((f) => active.tool.applies(f.path));
    if (mine.length === 0) continue;
    const outcomes = await Promise.all(mine.map((f) => (active.batches ? active.batches.submit(f.content) : checkAlone(active.command, f.content, tools.shared, f.path.replaceAll("/", "_")))));
    outcomes.forEach((outcome, k) => {
      if (!outcome.passed) findings.push({ property: "syntax", device, path: mine[k]!.path, line: lineOf(outcome.message), object: active.tool.name, message: outcome.message });
    });
    checks.push(active.tool.name);
  }
  return { passed: findings.length === 0, checks, findings };
}
