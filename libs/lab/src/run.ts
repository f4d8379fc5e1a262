// Runs a lab plan: the worker in fresh PID, mount and network namespaces, fed the plan on stdin.
// Stopping the runner (or its process dying) closes the worker's stdin or kills it, and with it
// every router and namespace of the run.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import type { LabPlan, PingPlan } from "./plan.js";

export interface Session {
  router: string;
  vrf: string;
  family: string;
  peer: string;
  state: string;
  received: number;
  /** Whether a router is at the other end (a session that must come up). */
  live: boolean;
}

export interface Nexthop {
  ip?: string;
  afi?: string;
  interfaceName?: string;
  vrf?: string;
  directlyConnected?: boolean;
  onLink?: boolean;
  active?: boolean;
  fib?: boolean;
  unreachable?: boolean;
  blackhole?: boolean;
  reject?: boolean;
}

export interface Route {
  prefix: string;
  protocol: string;
  vrfName: string;
  selected?: boolean;
  installed?: boolean;
  nexthops: Nexthop[];
}

export interface RouterState {
  /** VRF → prefix → routes, as `show ip[v6] route vrf all json` prints them. */
  routes: Record<string, Record<string, Route[]>>;
  /** `show vrf vni json`. */
  vnis: { vrf: string; vni: number; vxlanIntf: string; sviIntf: string; state: string; routerMac: string }[];
}

export interface LabRun {
  converged: boolean;
  sessions: Session[];
  routers: Record<string, RouterState>;
  /** Firewall → `nft -j list ruleset` of its ruleset as the kernel loaded it. */
  nft: Record<string, unknown>;
  pings: (PingPlan & { ok: boolean; output: string })[];
  errors: string[];
  /** Router MACs FRR 8.4 lost after convergence, which the lab reinstalled (see `repairRouterMacs`). */
  repairs: string[];
  timings: { setupMs: number; convergedMs: number; totalMs: number };
}

/** Where FRR's daemons are (`BULKHEAD_FRR_DIR`, read when asked). */
export const frrDir = () => process.env.BULKHEAD_FRR_DIR ?? "/usr/lib/frr";
const onPath = (command: string) => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;

/** Why the lab cannot run on this machine (one line), or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (userInfo().uid !== 0) return "the fabric lab needs root (it creates network namespaces and runs FRR)";
  const missing = [
    ...(existsSync(`${frrDir()}/zebra`) && existsSync(`${frrDir()}/bgpd`) && onPath("vtysh") ? [] : ["frr"]),
    ...(onPath("nft") ? [] : ["nftables"]),
    ...(onPath("ip") ? [] : ["iproute2"]),
    ...(onPath("ping") ? [] : ["iputils-ping"]),
    ...(onPath("unshare") && onPath("nsenter") ? [] : ["util-linux"]),
  ];
  return missing.length > 0 ? `the fabric lab needs the Debian packages ${missing.join(", ")} (apt-get install ${missing.join(" ")})` : undefined;
}

const worker = new URL("./worker.ts", import.meta.url).pathname;

/** Runs the plan; `timeoutMs` bounds the wait for BGP to converge. */
export function runPlan(plan: LabPlan, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<LabRun> {
  const timeoutMs = options.timeoutMs ?? 90_000;
  return new Promise((resolve, reject) => {
    const child = spawn("unshare", ["--pid", "--fork", "--kill-child", "--mount", "--propagation", "private", "--mount-proc", "--net", "--", process.execPath, "--import", "tsx", worker], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d));
    child.stderr.on("data", (d: Buffer) => (err += d));
    const stop = () => child.kill("SIGKILL");
    options.signal?.addEventListener("abort", stop, { once: true });
    // Whatever ends this process ends the lab with it.
    process.once("exit", stop);
    child.on("close", (code) => {
      process.removeListener("exit", stop);
      options.signal?.removeEventListener("abort", stop);
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code === 0 && line) resolve(JSON.parse(line) as LabRun);
      else reject(new Error(`the lab worker failed (exit ${code}): ${err.trim().split("\n").slice(-5).join(" | ")}`));
    });
    child.stdin.write(`${JSON.stringify({ plan, timeoutMs })}\n`);
  });
}
