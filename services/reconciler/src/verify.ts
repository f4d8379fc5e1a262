// Verification of a render before it may be pushed: FRR's and nftables' own parsers over the
// files (the isolation checks of libs/verify join here). `auto` runs the tools that are
// installed, `required` fails a revision when a tool is missing, `off` runs none.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { RevisionFile } from "@bulkhead/render";
import type { Finding, Verification } from "./store.js";

const exec = promisify(execFile);
export type VerifyMode = "auto" | "required" | "off";

interface Tool {
  name: string;
  applies: (path: string) => boolean;
  command: (file: string) => [string, string[]];
}

const tools: Tool[] = [
  { name: "vtysh -C", applies: (p) => p.endsWith("frr.conf"), command: (f) => ["vtysh", ["-C", "-f", f]] },
  { name: "nft -c", applies: (p) => p.endsWith(".nft"), command: (f) => ["nft", ["-c", "-f", f]] },
];

/** `line 12: % Unknown command` → 12 (vtysh), `file.nft:12:3-9: Error` → 12 (nft). */
const lineOf = (message: string) => Number(/line (\d+)/.exec(message)?.[1] ?? /\.\w+:(\d+):/.exec(message)?.[1] ?? 0);

export async function verifySyntax(device: string, files: readonly RevisionFile[], mode: VerifyMode): Promise<Verification> {
  const checks: string[] = [];
  const findings: Finding[] = [];
  if (mode === "off") return { passed: true, checks, findings };
  const dir = mkdtempSync(join(tmpdir(), "bulkhead-verify-"));
  try {
    for (const tool of tools) {
      const mine = files.filter((f) => tool.applies(f.path));
      if (mine.length === 0) continue;
      let ran = false;
      for (const f of mine) {
        const file = join(dir, f.path.replaceAll("/", "_"));
        writeFileSync(file, f.content);
        const [command, args] = tool.command(file);
        try {
          await exec(command, args, { timeout: 60_000, maxBuffer: 8 << 20 });
          ran = true;
        } catch (error) {
          const e = error as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
          if (e.code === "ENOENT") {
            if (mode === "required") findings.push({ property: "syntax", device, path: f.path, line: 0, object: tool.name, message: `${command} is not installed and verification requires it` });
            break;
          }
          ran = true;
          const message = (e.stderr || e.stdout || e.message).trim().split("\n").slice(0, 5).join(" / ");
          findings.push({ property: "syntax", device, path: f.path, line: lineOf(message), object: tool.name, message });
        }
      }
      if (ran) checks.push(tool.name);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { passed: findings.length === 0, checks, findings };
}
