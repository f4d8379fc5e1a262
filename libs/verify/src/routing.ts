// Properties 6 and 7 over a whole partition: a model of what every VRF on every device learns —
// machines' and external peers' announcements, firewalls' own addresses, EVPN carrying a VNI's
// exportable routes to every device of that VNI, `import vrf` leaking what a route map admits
// (never re-leaking a leaked route, no-export staying on its device) — iterated to a fixed point.
// Then: no VRF holds a route whose origin the records do not entitle it to, none reaches such a
// route by following a leaked route into its source VRF (a default route into the internet VRF
// reaching another tenant there is the classic hub), and every peering is delivered where a
// network has machines (no black hole).
import { contains, formatPrefix, parsePrefix, type Prefix } from "@bulkhead/netaddr";
import type { FrrConfig } from "./frr.js";
import { P, inside, type FactIndex, type Finding, type NetworkFact } from "./facts.js";
import { readRouteMap } from "./routemaps.js";

export interface Parsed {
  device: string;
  kind: "switch" | "firewall";
  frr: FrrConfig;
}

/** Where a route entered a VRF by a leak: on which device, from which VRF, at which `import vrf` line. */
interface Leak {
  device: string;
  from: string;
  line: number;
}

interface Route {
  prefix: Prefix;
  text: string;
  /** The network whose route it is, or `outside:<network>` for what an external peer announces. */
  origin: string;
  noExport: boolean;
  leak?: Leak;
}

/** `to<from` means: routes of network `from` enter network `to`'s VRF somewhere; with where. */
export type Leaks = Map<string, { device: string; line: number }>;

const key = (r: Pick<Route, "text" | "origin">) => `${r.text}|${r.origin}`;

function route(text: string, origin: string, extra: Partial<Route> = {}): Route | undefined {
  const prefix = parsePrefix(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
  return prefix ? { prefix, text: formatPrefix(prefix), origin, noExport: false, ...extra } : undefined;
}

/** Whether a route matches a permit entry of an import route map (its prefix lists' semantics). */
function admits(config: FrrConfig, mapName: string, sourceVrf: string, r: Route): { noExport: boolean } | undefined {
  for (const p of readRouteMap(config, mapName).permits) {
    if (p.entry.sourceVrf !== sourceVrf) continue;
    if (!p.admitted) return { noExport: p.entry.noExport };
    for (const a of p.admitted) {
      const inRange = a.range.prefix.family === r.prefix.family && contains(a.range.prefix, r.prefix) && r.prefix.length >= a.range.min && r.prefix.length <= a.range.max;
      if (!inRange) continue;
      // An earlier deny of the same list that matches the route wins.
      if (a.denied.some((d) => d.prefix.family === r.prefix.family && contains(d.prefix, r.prefix) && r.prefix.length >= d.min && r.prefix.length <= d.max)) continue;
      return { noExport: p.entry.noExport };
    }
  }
  return undefined;
}

export class RoutingModel {
  /** device → VRF → routes. */
  readonly tables = new Map<string, Map<string, Map<string, Route>>>();
  private readonly vnis = new Map<string, Map<string, number>>();

  constructor(
    private readonly configs: Parsed[],
    private readonly facts: FactIndex,
  ) {
    for (const c of configs) {
      this.tables.set(c.device, new Map());
      this.vnis.set(c.device, new Map([...c.frr.vrfs].filter(([, v]) => v.vni !== undefined).map(([name, v]) => [name, v.vni!])));
      for (const name of c.frr.vrfs.keys()) this.tables.get(c.device)!.set(name, new Map());
    }
    this.seed();
    this.propagate();
  }

  private add(device: string, vrf: string, r: Route | undefined): boolean {
    const table = this.tables.get(device)?.get(vrf);
    if (!r || !table || table.has(key(r))) return false;
    table.set(key(r), r);
    return true;
  }

  /** What enters a VRF from outside the model: machines, external peers, a firewall's own addresses. */
  private seed(): void {
    for (const c of this.configs) {
      if (c.kind === "firewall") {
        const fw = this.facts.firewalls.get(c.device);
        for (const ip of fw?.ips ?? []) {
          const n = this.facts.byId.get(ip.network);
          if (n && n.vrf > 0) this.add(c.device, `vrf${n.vrf}`, route(ip.address, n.id));
        }
        continue;
      }
      for (const bgp of c.frr.bgp) {
        if (bgp.vrf === "default") continue;
        for (const n of bgp.neighbors.values()) {
          const m = this.facts.machinePorts.get(`${c.device}|${n.name}`);
          if (m && n.peerGroup) {
            const held = [...m.machine.ips.map((i) => i.address), ...this.facts.facts.addresses.filter((a) => a.project === m.machine.project && a.machine === m.machine.id).map((a) => a.address)];
            for (const a of new Set(held)) this.add(c.device, bgp.vrf, route(a, m.network.id));
          }
          const s = this.facts.sessionTo(c.device, n.name);
          if (s) for (const p of s.session.remotePrefixes) this.add(c.device, bgp.vrf, route(p, `outside:${s.network.id}`));
        }
      }
    }
  }

  private propagate(): void {
    for (let round = 0; round < 50; round++) {
      let changed = false;
      // EVPN: a VNI's exportable routes reach every device carrying it.
      const byVni = new Map<number, Route[]>();
      for (const [device, vrfs] of this.tables) for (const [vrf, table] of vrfs) {
        const vni = this.vnis.get(device)?.get(vrf);
        if (vni === undefined) continue;
        let routes = byVni.get(vni);
        if (!routes) byVni.set(vni, (routes = []));
        for (const r of table.values()) if (!r.noExport) routes.push(r);
      }
      for (const [device, vrfs] of this.tables) for (const vrf of vrfs.keys()) {
        const vni = this.vnis.get(device)?.get(vrf);
        const table = vrfs.get(vrf)!;
        for (const r of byVni.get(vni ?? -1) ?? []) if (!table.has(key(r))) changed = this.add(device, vrf, { ...r }) || changed;
      }
      // Leaks: each import admits routes of its source VRF on the device that were not leaked there.
      for (const c of this.configs) {
        for (const bgp of c.frr.bgp) {
          if (bgp.vrf === "default") continue;
          for (const af of bgp.families.values()) {
            for (const i of af.imports) {
              const source = this.tables.get(c.device)?.get(i.vrf);
              for (const r of source?.values() ?? []) {
                if (r.leak?.device === c.device) continue;
                const ok = af.importRouteMap ? admits(c.frr, af.importRouteMap.name, i.vrf, r) : { noExport: false };
                if (ok) changed = this.add(c.device, bgp.vrf, { ...r, noExport: r.noExport || ok.noExport, leak: { device: c.device, from: i.vrf, line: i.line } }) || changed;
              }
            }
          }
        }
      }
      if (!changed) return;
    }
  }

  /** Which network's routes reach which network's VRF (`to<from`), with where — for the differential check. */
  leaks(): Leaks {
    const out: Leaks = new Map();
    for (const vrfs of this.tables.values()) for (const [vrf, table] of vrfs) {
      const to = this.facts.networkOfVrf(vrf);
      if (!to) continue;
      for (const r of table.values()) {
        const from = r.origin.replace(/^outside:/, "");
        if (from !== to.id && r.leak && !out.has(`${to.id}<${from}`)) out.set(`${to.id}<${from}`, { device: r.leak.device, line: r.leak.line });
      }
    }
    return out;
  }

  vrfsOf(device: string): Map<string, Map<string, Route>> {
    return this.tables.get(device) ?? new Map();
  }
}

/** Whether network `n` reaches the outside (or the public space) of external network `e`. */
function reaches(facts: FactIndex, n: NetworkFact, e: NetworkFact): boolean {
  if (n.id === e.id || facts.peered(n.id, e.id)) return true;
  for (const fw of facts.firewalls.values()) {
    const onFw = (x: NetworkFact) => facts.roleOn(fw, x);
    if (onFw(n) === "primary" && onFw(e) === "external") return true;
    if (facts.servesDmz(fw, n) && onFw(e) === "external" && n.destinationPrefixes.some((d) => e.destinationPrefixes.includes(d))) return true;
    // A DMZ: out through this firewall into a shared network that another firewall connects to `e`.
    if (onFw(n) === "primary") for (const id of fw.networks) {
      const d = facts.byId.get(id);
      if (d && onFw(d) === "shared" && [...facts.firewalls.values()].some((f2) => f2.id !== fw.id && facts.servesDmz(f2, d) && facts.roleOn(f2, e) === "external")) return true;
    }
  }
  return false;
}

/** Whether the records entitle network `to` to a route of `origin` for `prefix` (on `device`). */
export function entitled(facts: FactIndex, to: NetworkFact, origin: string, prefix: string, device: string): boolean {
  if (origin === to.id) return true;
  if (origin.startsWith("outside:")) {
    const e = facts.byId.get(origin.slice("outside:".length));
    return e !== undefined && (e.kind === "external" ? reaches(facts, to, e) : e.id === to.id);
  }
  const from = facts.byId.get(origin);
  if (!from) return false;
  const address = prefix.split("/")[0]!;
  // Public space: an address inside an external network `to` reaches is everyone's to reach.
  const externals = facts.externals.filter((n) => inside(address, n.prefixes));
  if (externals.some((e) => reaches(facts, to, e))) return true;
  if (to.kind === "external" && inside(address, to.prefixes) && facts.peered(to.id, from.id)) return facts.published(from.project, to.id).includes(address);
  if (facts.peered(to.id, from.id) && from.kind !== "external" && inside(address, from.prefixes)) return true;
  for (const fw of facts.firewalls.values()) {
    const rt = facts.roleOn(fw, to);
    const rf = facts.roleOn(fw, from);
    if (!rt || !rf) continue;
    if (rt === "primary" && (rf === "shared" || rf === "external")) return true;
    if (rt === "shared" && (rf === "primary" || rf === "external")) return true;
    if (rt === "external" && (rf === "primary" || rf === "shared") && device === fw.id) return true;
  }
  return false;
}

export function checkReachability(model: RoutingModel, configs: Parsed[], facts: FactIndex): Finding[] {
  const findings: Finding[] = [];
  const reported = new Set<string>();
  const firewalls = new Set(configs.filter((c) => c.kind === "firewall").map((c) => c.device));
  const lineOf = (device: string, vrf: string) => configs.find((c) => c.device === device)?.frr.bgp.find((b) => b.vrf === vrf)?.line ?? 0;
  const report = (device: string, line: number, to: NetworkFact, origin: string, message: string) => {
    const k = `${to.id}<${origin}`;
    if (reported.has(k)) return;
    reported.add(k);
    findings.push({ property: P.reachability, device, path: "frr/frr.conf", line, object: `${origin} → ${to.id}`, message });
  };
  for (const c of configs) {
    for (const [vrf, table] of model.vrfsOf(c.device)) {
      const to = facts.networkOfVrf(vrf);
      if (!to) continue;
      for (const r of table.values()) {
        if (!entitled(facts, to, r.origin, r.text, c.device)) {
          const where = r.leak ? `leaked on ${r.leak.device} from ${r.leak.from}` : "learned over EVPN";
          report(r.leak?.device ?? c.device, r.leak?.line ?? lineOf(c.device, vrf), to, r.origin, `${to.id}'s VRF on ${c.device} holds ${r.text} of ${r.origin} (${where}), which no record entitles it to`);
        }
        // Following a leaked route into its source VRF reaches everything there it covers. (On a
        // firewall, what crosses VRFs is the ruleset's to decide: property 5 bounds its accepts.)
        if (!r.leak || firewalls.has(r.leak.device)) continue;
        const source = model.vrfsOf(r.leak.device).get(r.leak.from);
        for (const q of source?.values() ?? []) {
          if (q.prefix.family !== r.prefix.family || !contains(r.prefix, q.prefix) || entitled(facts, to, q.origin, q.text, r.leak.device)) continue;
          report(r.leak.device, r.leak.line, to, q.origin, `${to.id} reaches ${q.text} of ${q.origin}: its route ${r.text} leaks from ${r.leak.from} on ${r.leak.device}, where ${q.text} lies within it — a transit no record allows`);
        }
      }
    }
  }
  // Black holes: a peer's route that exists somewhere but is missing where the network has machines.
  for (const p of facts.facts.peerings) {
    if (!p.network2) continue;
    for (const [toId, fromId] of [[p.network1, p.network2], [p.network2, p.network1]] as const) {
      const to = facts.byId.get(toId);
      const from = facts.byId.get(fromId);
      if (!to || !from || from.kind === "external" || to.kind === "external") continue;
      const theirs = new Map<string, Route>();
      for (const vrfs of model.tables.values()) for (const r of vrfs.get(`vrf${from.vrf}`)?.values() ?? []) if (r.origin === from.id && inside(r.text.split("/")[0]!, from.prefixes)) theirs.set(r.text, r);
      // Only the devices verified here: one device alone cannot see its peers' routes elsewhere.
      const devices = [...(facts.switchesOfNetwork.get(to.id) ?? [])].filter((d) => model.tables.has(d));
      for (const device of devices) {
        const table = model.vrfsOf(device).get(`vrf${to.vrf}`);
        for (const r of theirs.values()) {
          const covered = [...(table?.values() ?? [])].some((x) => x.prefix.family === r.prefix.family && contains(x.prefix, r.prefix) && x.origin === from.id);
          if (covered) continue;
          findings.push({ property: P.reachability, device, path: "frr/frr.conf", line: lineOf(device, `vrf${to.vrf}`), object: `${from.id} → ${to.id}`, message: `${to.id} is peered with ${from.id} but its machines on ${device} get no route to ${r.text}: a black hole` });
          break;
        }
      }
    }
  }
  return findings;
}

/** Property 7: leaks that differ between two revisions and that the change did not ask for (`to<from` keys). */
export function checkDifferential(before: Leaks, after: Leaks, asked: readonly string[]): Finding[] {
  const wanted = new Set(asked);
  const findings: Finding[] = [];
  for (const [k, where] of after) if (!before.has(k) && !wanted.has(k)) findings.push({ property: P.differential, device: where.device, path: "frr/frr.conf", line: where.line, object: k, message: `the change opens ${k.replace("<", " ← ")}, which it did not ask for` });
  for (const [k, where] of before) if (!after.has(k) && !wanted.has(k)) findings.push({ property: P.differential, device: where.device, path: "frr/frr.conf", line: where.line, object: k, message: `the change closes ${k.replace("<", " ← ")}, which it did not ask for` });
  return findings;
}

