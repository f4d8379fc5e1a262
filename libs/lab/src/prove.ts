// Reads isolation off a lab run: every machine (and every external peer) sends to every address
// the lab knows, on the ports the policies name and one they do not; the walk over the real
// routing tables says what is delivered, the oracle what may be. A delivered packet the oracle
// does not allow is a leak; an allowed one that is dropped where both ends exist is a black hole.
// Prefixes a VRF holds that the oracle would never expect there are reported as strays.
import { inAny, prefixOf } from "./addresses.js";
import type { LabInput, RecordNetwork } from "./input.js";
import { Oracle, type Packet, type Source } from "./oracle.js";
import type { LabPlan } from "./plan.js";
import type { LabRun, Session } from "./run.js";
import { Walker, type Hop } from "./walk.js";

export interface Flow {
  from: string;
  source: string;
  packet: Packet;
  destination: string;
  path: Hop[];
  /** The oracle's reason (for a leak: why it is not allowed; for a black hole: why it is). */
  why: string;
  /** For a black hole: where and why it was dropped. */
  dropped?: string;
}

export interface Stray {
  device: string;
  vrf: string;
  network: string;
  prefix: string;
}

export interface LabReport {
  partition: string;
  converged: boolean;
  /** Sessions with a router at the other end that did not come up. */
  notUp: Session[];
  leaks: Flow[];
  blackHoles: Flow[];
  strays: Stray[];
  pings: { from: string; to: string; destination: string; expect: boolean; ok: boolean; why: string; output: string }[];
  /** What the lab could not set up or interpret: a run with errors proves nothing. */
  errors: string[];
  /** Router MACs FRR had lost after convergence, which the lab reinstalled. */
  repairs: string[];
  probes: number;
  routers: number;
  timings: LabRun["timings"];
}

/** Addresses in each external network's outside, one per family, in none of Bulkhead's prefixes. */
const OUTSIDE = ["198.51.100.10", "203.0.113.10", "192.0.2.10", "100.64.0.10", "3fff::10", "2001:db8:ffff:ffff::10"];

export function prove(input: LabInput, plan: LabPlan, run: LabRun): LabReport {
  const oracle = new Oracle(input.records);
  const walker = new Walker(plan, run, (a) => oracle.isOutside(a));
  const networks = oracle.networks;
  const inLab = new Set(plan.routers.map((r) => r.name));

  // Sources: machines in their network, external peers in theirs.
  const sources: { router: string; source: Source; addresses: string[]; claims: string[] }[] = [];
  for (const m of input.records.machines) {
    if (m.role !== "machine" || !inLab.has(m.id)) continue;
    const home = oracle.primary(m);
    if (home) sources.push({ router: m.id, source: { kind: "machine", machine: m.id, network: home.id }, addresses: m.ips.filter((i) => i.network === home.id).map((i) => i.address), claims: [] });
  }
  const outsides = new Map<string, string[]>();
  for (const p of input.records.peerings) {
    if (!p.external) continue;
    const router = `ext-${p.external.switch}-${p.external.port}`;
    const e = networks.get(p.network1);
    if (!e || !inLab.has(router)) continue;
    const announced = input.announce?.[`${p.external.switch}/${p.external.port}`] ?? p.external.remotePrefixes;
    const addresses = OUTSIDE.filter((a) => oracle.isOutside(a) && inAny(a, announced.length > 0 ? announced : ["0.0.0.0/0", "::/0"]));
    sources.push({ router, source: { kind: "outside", network: e.id }, addresses, claims: announced.filter((p) => !/\/0$/.test(p)) });
    if (e.kind === "external") outsides.set(e.id, [...(outsides.get(e.id) ?? []), ...addresses]);
  }

  // Destinations: every address a machine of the lab holds, and the outside of every external network with a session.
  const destinations = new Map<string, { label: string; real: boolean }>();
  for (const m of input.records.machines) if (inLab.has(m.id)) for (const ip of m.ips) destinations.set(ip.address, { label: `${m.id} (${ip.network})`, real: m.role === "machine" });
  for (const [e, addresses] of outsides) for (const a of addresses) destinations.set(a, { label: `the outside of ${e}`, real: true });

  const ports = new Map<string, { protocol: "tcp" | "udp"; port: number }>([["tcp/9", { protocol: "tcp", port: 9 }]]);
  for (const policy of input.records.policies) for (const rule of [...policy.ingress, ...policy.egress]) for (const r of rule.ports) ports.set(`${r.protocol}/${r.from || 1}`, { protocol: r.protocol, port: r.from || 1 });

  const leaks: Flow[] = [];
  const blackHoles: Flow[] = [];
  const reported = new Set<string>();
  let probes = 0;
  for (const s of sources) {
    for (const [dst, target] of destinations) {
      const src = s.addresses.find((a) => a.includes(":") === dst.includes(":"));
      if (!src || s.addresses.includes(dst)) continue;
      // A peer that announces a more specific route itself (a hijack attempt) keeps that traffic:
      // its own view says nothing about the fabric.
      if (s.claims.some((p) => inAny(dst, [p]))) continue;
      for (const port of ports.values()) {
        const packet: Packet = { src, dst, ...port };
        probes++;
        const verdict = oracle.allowed(s.source, packet);
        const walk = walker.walk(s.router, packet);
        const key = `${s.router}|${dst}|${walk.result}`;
        if (reported.has(key)) continue;
        const flow = { from: s.router, source: s.source.network, packet, destination: target.label, path: walk.path, why: verdict.why };
        if (walk.result === "delivered" && !verdict.allowed) {
          leaks.push(flow);
          reported.add(key);
        } else if (walk.result === "dropped" && verdict.allowed && target.real) {
          blackHoles.push({ ...flow, dropped: walk.reason });
          reported.add(key);
        }
      }
    }
  }

  // Strays: a VRF's routes against what the oracle expects of its network.
  const byVrf = new Map<number, RecordNetwork>();
  for (const n of networks.values()) if (n.vrf > 0) byVrf.set(n.vrf, n);
  const strays: Stray[] = [];
  for (const r of plan.routers) {
    if (r.kind === "machine" || r.kind === "spine" || r.kind === "external") continue;
    const firewall = r.kind === "firewall" ? input.records.machines.find((m) => m.id === r.name) : undefined;
    for (const [vrf, table] of Object.entries(run.routers[r.name]?.routes ?? {})) {
      if (vrf === "default") continue;
      const n = byVrf.get(Number(/(\d+)$/.exec(vrf)?.[1] ?? 0));
      if (vrf === r.management) {
        // Management holds its own static routes; a route learned by BGP there is a stray.
        for (const [prefix, routes] of Object.entries(table)) if (routes.some((x) => x.protocol === "bgp")) strays.push({ device: r.name, vrf, network: "(management)", prefix });
        continue;
      }
      if (!n) {
        strays.push({ device: r.name, vrf, network: "(no network)", prefix: "*" });
        continue;
      }
      for (const [prefix, routes] of Object.entries(table)) {
        if (!routes.some((x) => x.protocol === "bgp") || !prefixOf(prefix)) continue;
        if (!oracle.expected(n, prefix, { firewall })) strays.push({ device: r.name, vrf, network: n.id, prefix });
      }
    }
  }

  return {
    partition: input.partition,
    converged: run.converged,
    notUp: run.sessions.filter((s) => s.live && s.state !== "Established"),
    leaks,
    blackHoles,
    strays,
    pings: run.pings.map((p) => ({ from: p.from, to: p.to, destination: p.destination, expect: p.expect, ok: p.ok, why: p.why, output: p.output })),
    errors: [...plan.errors, ...run.errors, ...walker.errors],
    repairs: run.repairs,
    probes,
    routers: plan.routers.length,
    timings: run.timings,
  };
}
