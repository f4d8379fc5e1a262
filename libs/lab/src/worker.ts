// The lab's hands, run by `runner.ts` as the first process of fresh PID, mount and network
// namespaces (`unshare`): everything it creates — namespaces, links, FRR daemons, mounts — lives
// and dies with it. When it exits, or its parent goes away (its stdin closes), the kernel ends
// every daemon and frees every namespace; the host's /run/netns, /etc/frr and /var/run/frr are
// never touched (tmpfs over them, in this mount namespace only).
import { execFileSync, spawnSync } from "node:child_process";
import { chownSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { userInfo } from "node:os";
import { createInterface } from "node:readline";
import type { LabPlan, RouterPlan } from "./plan.js";
import { frrDir, type LabRun, type RouterState, type Session } from "./run.js";

const FRR = frrDir();
const log = (message: string) => process.stderr.write(`lab: ${message}\n`);

function run(argv: readonly string[], input?: string): { code: number; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", input, maxBuffer: 256 * 1024 * 1024 });
  return { code: r.status ?? 1, out: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

function must(argv: readonly string[]): void {
  const r = run(argv);
  if (r.code !== 0) throw new Error(`${argv.join(" ")}: ${r.out.trim()}`);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function frrIds(): { uid: number; gid: number } {
  const line = (file: string, name: string) => execFileSync("getent", [file, name], { encoding: "utf8" }).split(":");
  return { uid: Number(line("passwd", "frr")[2]), gid: Number(line("group", "frr")[2]) };
}

function privateMounts(): void {
  for (const dir of ["/run/netns", "/var/run/frr", "/etc/frr"]) {
    mkdirSync(dir, { recursive: true });
    must(["mount", "-t", "tmpfs", "-o", "mode=0755", "lab", dir]);
  }
  const { uid, gid } = frrIds();
  chownSync("/var/run/frr", uid, gid);
}

/** Starts zebra (netns VRF backend), staticd and bgpd for a router, in its namespace with only its VRFs visible. */
function startRouter(r: RouterPlan): void {
  const { uid, gid } = frrIds();
  const run_ = `/var/run/frr/${r.pathspace}`;
  const etc = `/etc/frr/${r.pathspace}`;
  mkdirSync(run_, { recursive: true });
  mkdirSync(etc, { recursive: true });
  chownSync(run_, uid, gid);
  writeFileSync(`${etc}/vtysh.conf`, "");
  writeFileSync(`${etc}/lab.conf`, r.config);
  const view = `/var/run/frr/${r.pathspace}.view`;
  mkdirSync(view, { recursive: true });
  const binds = Object.entries(r.vrfs).map(([vrf, ns]) => `touch ${view}/${vrf} && mount --bind /run/netns/${ns} ${view}/${vrf}`);
  const daemon = (name: string, extra: string[]) => [`${FRR}/${name}`, "-d", "-F", "datacenter", "-N", r.pathspace, "-i", `${run_}/${name}.pid`, "--log", `file:${run_}/${name}.log`, ...extra].join(" ");
  const script = [...binds, `mount --rbind ${view} /run/netns`, daemon("zebra", ["-n"]), daemon("staticd", []), daemon("bgpd", [])].join(" && ");
  must(["nsenter", `--net=/run/netns/${r.ns}`, "unshare", "--mount", "--propagation", "private", "sh", "-c", script]);
}

async function configure(r: RouterPlan, deadline: number): Promise<string[]> {
  const run_ = `/var/run/frr/${r.pathspace}`;
  while (!["zebra", "staticd", "bgpd"].every((d) => existsSync(`${run_}/${d}.vty`))) {
    if (Date.now() > deadline) return [`${r.name}: FRR did not start (no vty sockets under ${run_})`];
    await sleep(50);
  }
  const out = run(["vtysh", "-N", r.pathspace, "-f", `/etc/frr/${r.pathspace}/lab.conf`]).out;
  // vtysh echoes nothing for accepted lines; anything it prints with % is a line FRR refused.
  return out.split("\n").filter((l) => l.includes("%")).map((l) => `${r.name}: ${l.trim()}`);
}

function vtysh(r: RouterPlan, command: string): string {
  return run(["vtysh", "-N", r.pathspace, "-c", command]).out;
}

/** `show ... vrf all json` prints one JSON object per VRF, one after another. */
function concatenated(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") {
      if (depth++ === 0) start = i;
    } else if (c === "}" && --depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
  }
  return out;
}

function sessionsOf(r: RouterPlan): Session[] {
  const sessions: Session[] = [];
  const summary = concatenated(vtysh(r, "show bgp vrf all summary json"))[0] as Record<string, Record<string, { peers?: Record<string, { state: string; pfxRcd?: number }> }>> | undefined;
  for (const [vrf, families] of Object.entries(summary ?? {})) {
    for (const [family, f] of Object.entries(families)) {
      for (const [peer, p] of Object.entries(f.peers ?? {})) sessions.push({ router: r.name, vrf, family, peer, state: p.state, received: p.pfxRcd ?? 0, live: r.live.includes(peer) });
    }
  }
  return sessions;
}

interface RouterMacGap {
  router: RouterPlan;
  vrf: string;
  vtep: string;
  svi: string;
}

/**
 * EVPN next hops whose remote VTEP's router MAC zebra did not install: a route of a VRF's own
 * (not leaked) via a VTEP on the VRF's SVI, and no neighbor entry for the VTEP there.
 */
function routerMacGaps(r: RouterPlan): RouterMacGap[] {
  const gaps = new Map<string, RouterMacGap>();
  for (const table of concatenated(vtysh(r, "show ip route vrf all json")) as Record<string, RouterState["routes"][string][string]>[]) {
    for (const entries of Object.values(table)) {
      const vrf = entries[0]?.vrfName ?? "default";
      const ns = r.vrfs[vrf];
      const hops = entries.filter((e) => e.selected).flatMap((e) => e.nexthops).filter((h) => h.onLink && h.ip && !h.vrf && h.interfaceName === r.evpn[vrf]?.svi);
      if (!ns || hops.length === 0) continue;
      const neighbors = JSON.parse(run(["ip", "netns", "exec", ns, "ip", "-j", "neigh", "show"]).out || "[]") as { dst: string; dev: string; lladdr?: string }[];
      for (const h of hops) if (!neighbors.some((n) => n.dst === h.ip && n.dev === h.interfaceName && n.lladdr)) gaps.set(`${vrf}|${h.ip}`, { router: r, vrf, vtep: h.ip!, svi: h.interfaceName! });
    }
  }
  return [...gaps.values()];
}

/**
 * FRR 8.4's zebra deletes a remote VTEP's router MAC when a route via that VTEP is replaced by
 * another via the same VTEP (it tracks users by prefix, and the old route's removal takes the
 * new one's entry with it), which convergence does all the time: the RIB stays right, packets
 * are dropped. The lab reinstalls what zebra should have kept — the neighbor and FDB entries
 * for the remote router's SVI MAC, which the plan knows — and says so; a gap it cannot fill is
 * an error.
 */
function repairRouterMacs(routers: readonly RouterPlan[]): { repairs: string[]; errors: string[] } {
  const byVtep = new Map(routers.filter((r) => r.vtep).map((r) => [r.vtep!, r]));
  const repairs: string[] = [];
  const errors: string[] = [];
  for (const gap of routers.flatMap(routerMacGaps)) {
    const what = `${gap.router.name} ${gap.vrf}: no router MAC of VTEP ${gap.vtep}`;
    const local = gap.router.evpn[gap.vrf]!;
    // The same VRF elsewhere is the same VNI, whatever the remote OS names it (vrf<N>, Vrf<N>).
    const remote = Object.values(byVtep.get(gap.vtep)?.evpn ?? {}).find((e) => e.vni === local.vni);
    const ns = gap.router.vrfs[gap.vrf]!;
    const steps = remote
      ? [
          ["bridge", "fdb", "replace", remote.mac, "dev", local.vxlan, "master", "extern_learn"],
          ["bridge", "fdb", "replace", remote.mac, "dev", local.vxlan, "dst", gap.vtep, "self", "extern_learn"],
          ["ip", "neigh", "replace", gap.vtep, "lladdr", remote.mac, "dev", gap.svi, "nud", "noarp", "extern_learn"],
        ].map((argv) => run(["ip", "netns", "exec", ns, ...argv]))
      : [];
    const failed = steps.find((x) => x.code !== 0);
    if (remote && !failed) repairs.push(`${what} (zebra lost it; reinstalled ${remote.mac})`);
    else errors.push(`FRR's dataplane differs from its RIB: ${what}${failed ? `, and reinstalling it failed: ${failed.out.trim()}` : ", and no router of the lab has that VTEP and VRF"}`);
  }
  return { repairs, errors };
}

/** How often convergence is polled. */
const POLL_MS = 700;
/**
 * How long nothing may change before the fabric counts as converged: longer than FRR's route-map
 * delay timer (5 s by default), after which bgpd applies route maps added or changed — the
 * rendered files define them after the BGP instances that use them, so what an import route map
 * lets through can appear seconds after the sessions settled (under load, after a 2 s window).
 */
const QUIET_MS = 5_500;

/** Waits until every live session is up and nothing changed for QUIET_MS. */
async function converge(routers: RouterPlan[], deadline: number): Promise<{ converged: boolean; sessions: Session[] }> {
  let last = "";
  let stable = 0;
  let sessions: Session[] = [];
  while (Date.now() < deadline) {
    sessions = routers.flatMap(sessionsOf);
    const up = sessions.filter((s) => s.live).every((s) => s.state === "Established");
    const signature = JSON.stringify(sessions.map((s) => [s.router, s.vrf, s.family, s.peer, s.state, s.received]));
    stable = up && signature === last ? stable + 1 : 0;
    last = signature;
    if (stable >= Math.ceil(QUIET_MS / POLL_MS)) return { converged: true, sessions };
    await sleep(POLL_MS);
  }
  return { converged: false, sessions };
}

function stateOf(r: RouterPlan): RouterState {
  const routes: RouterState["routes"] = {};
  for (const family of ["ip", "ipv6"] as const) {
    for (const table of concatenated(vtysh(r, `show ${family} route vrf all json`)) as Record<string, RouterState["routes"][string][string]>[]) {
      for (const [prefix, entries] of Object.entries(table)) {
        const vrf = entries[0]?.vrfName ?? "default";
        (routes[vrf] ??= {})[prefix] = entries;
      }
    }
  }
  const vnis = (concatenated(vtysh(r, "show vrf vni json"))[0] as { vrfs?: RouterState["vnis"] } | undefined)?.vrfs ?? [];
  return { routes, vnis };
}

async function main(): Promise<void> {
  const started = Date.now();
  // The plan is one JSON line; after it, the end of stdin means the parent is gone.
  const lines = createInterface({ input: process.stdin });
  const first = await new Promise<string>((resolve) => lines.once("line", resolve));
  lines.on("close", () => process.exit(3));
  const { plan, timeoutMs } = JSON.parse(first) as { plan: LabPlan; timeoutMs: number };
  if (userInfo().uid !== 0) throw new Error("the lab needs root");
  privateMounts();
  const errors: string[] = [];
  for (const argv of plan.commands) {
    const r = run(argv);
    if (r.code !== 0) errors.push(`${argv.join(" ")}: ${r.out.trim()}`);
  }
  const setupMs = Date.now() - started;
  for (const r of plan.routers) startRouter(r);
  const deadline = Date.now() + timeoutMs;
  for (const r of plan.routers) errors.push(...(await configure(r, deadline)));
  const { converged, sessions } = await converge(plan.routers, deadline);
  const { repairs, errors: unrepaired } = repairRouterMacs(plan.routers);
  errors.push(...unrepaired);
  const convergedMs = Date.now() - started;
  const routers = Object.fromEntries(plan.routers.map((r) => [r.name, stateOf(r)]));
  const nft: LabRun["nft"] = {};
  for (const f of plan.nft) {
    must(["ip", "netns", "add", f.ns]);
    const file = `/var/run/frr/${f.router}.nft`;
    writeFileSync(file, f.ruleset);
    const loaded = run(["ip", "netns", "exec", f.ns, "nft", "-f", file]);
    if (loaded.code !== 0) {
      errors.push(`${f.router}: nft -f refused the ruleset: ${loaded.out.trim()}`);
      continue;
    }
    nft[f.router] = JSON.parse(run(["ip", "netns", "exec", f.ns, "nft", "-j", "list", "ruleset"]).out);
  }
  // Up to three rounds: the first packets may wait for neighbor resolution along the path.
  const ping = (p: LabPlan["pings"][number]) => run(["ip", "netns", "exec", p.ns, "ping", "-n", "-q", "-c", "4", "-i", "0.25", "-W", "2", "-I", p.source, p.destination]);
  const pings = plan.pings.map((p) => {
    let r = ping(p);
    for (let round = 1; round < 3 && r.code !== 0 && p.expect; round++) r = ping(p);
    return { ...p, ok: r.code === 0, output: r.out.trim().split("\n").slice(-2).join(" ") };
  });
  // The daemons' logs die with the lab's mounts unless asked for.
  const logs = process.env.BULKHEAD_LAB_LOGS;
  if (logs) {
    mkdirSync(logs, { recursive: true });
    for (const r of plan.routers) for (const d of ["zebra", "staticd", "bgpd"]) run(["cp", `/var/run/frr/${r.pathspace}/${d}.log`, `${logs}/${r.name}.${d}.log`]);
  }
  const result: LabRun = { converged, sessions, routers, nft, pings, errors, repairs, timings: { setupMs, convergedMs, totalMs: Date.now() - started } };
  process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
