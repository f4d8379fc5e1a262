// Properties 6 and 7 at the routing level: which network's routes reach which network's VRF on
// the switches (a VRF learns another network's routes only through an import that lets some of
// them through), compared with the peerings — no leak between unpeered networks, no black hole
// between peered ones — and between two revisions of the configuration.
import type { FrrConfig } from "./frr.js";
import { P, prefixesOf, touches, within, type FactIndex, type Finding } from "./facts.js";
import { readRouteMap } from "./routemaps.js";

/** `to<from` means: routes of network `from` enter network `to`'s VRF somewhere; with where. */
export type Leaks = Map<string, { device: string; line: number }>;

export function leaksOf(configs: { device: string; kind: "switch" | "firewall"; frr: FrrConfig }[], facts: FactIndex): Leaks {
  const leaks: Leaks = new Map();
  for (const { device, kind, frr } of configs) {
    if (kind !== "switch") continue;
    for (const bgp of frr.bgp) {
      const to = facts.networkOfVrf(bgp.vrf);
      if (!to) continue;
      for (const af of bgp.families.values()) {
        if (af.imports.length === 0) continue;
        const rm = af.importRouteMap ? readRouteMap(frr, af.importRouteMap.name) : undefined;
        for (const i of af.imports) {
          const from = facts.networkOfVrf(i.vrf);
          if (!from) continue;
          // Without a route map everything enters; with one, what its entries for this source let through.
          const lets = !rm || rm.unconditional.some((e) => !e.sourceVrf || e.sourceVrf === i.vrf) || rm.prefixes.some((p) => (!p.sourceVrf || p.sourceVrf === i.vrf) && touches(p.prefix, prefixesOf(from.prefixes)));
          const key = `${to.id}<${from.id}`;
          if (lets && !leaks.has(key)) leaks.set(key, { device, line: i.line });
        }
      }
    }
  }
  return leaks;
}

export function checkReachability(configs: { device: string; kind: "switch" | "firewall"; frr: FrrConfig }[], facts: FactIndex, leaks: Leaks): Finding[] {
  const findings: Finding[] = [];
  for (const [key, where] of leaks) {
    const [to, from] = key.split("<") as [string, string];
    if (!facts.peered(to, from)) findings.push({ property: P.reachability, device: where.device, path: "frr/frr.conf", line: where.line, object: `${from} → ${to}`, message: `routes of ${from} reach ${to}, which are not peered` });
  }
  // Every peering is delivered where the network has machines: its VRF imports all of the peer's prefixes.
  const frrOf = new Map(configs.map((c) => [c.device, c.frr]));
  const served = new Map<string, Set<string>>();
  for (const m of facts.facts.machinePorts) served.set(m.switch, (served.get(m.switch) ?? new Set()).add(m.network));
  for (const [a, b] of facts.facts.peerings) {
    for (const [to, from] of [[a, b], [b, a]] as const) {
      const toNet = facts.byId.get(to);
      const fromNet = facts.byId.get(from);
      if (!toNet || !fromNet) continue;
      for (const [device, networks] of served) {
        const frr = frrOf.get(device);
        if (!frr || !networks.has(to)) continue;
        const bgp = frr.bgp.find((x) => x.vrf === `vrf${toNet.vrf}`);
        const permitted = bgp
          ? [...bgp.families.values()].flatMap((af) => (af.imports.some((i) => i.vrf === `vrf${fromNet.vrf}`) && af.importRouteMap ? readRouteMap(frr, af.importRouteMap.name).prefixes.filter((p) => p.sourceVrf === `vrf${fromNet.vrf}`).map((p) => p.prefix) : []))
          : [];
        const missing = prefixesOf(fromNet.destinationPrefixes.length > 0 ? fromNet.destinationPrefixes : fromNet.prefixes).filter((p) => !within(p, permitted));
        if (missing.length > 0) findings.push({ property: P.reachability, device, path: "frr/frr.conf", line: bgp?.line ?? 0, object: `${from} → ${to}`, message: `${to} is peered with ${from} but its machines here do not get routes to ${missing.length} of ${from}'s prefixes: a black hole` });
      }
    }
  }
  return findings;
}

/** Property 7: leaks that differ between two revisions and that the change did not ask for (`to<from` keys). */
export function checkDifferential(before: Leaks, after: Leaks, asked: readonly string[]): Finding[] {
  const wanted = new Set(asked);
  const findings: Finding[] = [];
  for (const [key, where] of after) if (!before.has(key) && !wanted.has(key)) findings.push({ property: P.differential, device: where.device, path: "frr/frr.conf", line: where.line, object: key, message: `the change opens ${key.replace("<", " ← ")}, which it did not ask for` });
  for (const [key, where] of before) if (!after.has(key) && !wanted.has(key)) findings.push({ property: P.differential, device: where.device, path: "frr/frr.conf", line: where.line, object: key, message: `the change closes ${key.replace("<", " ← ")}, which it did not ask for` });
  return findings;
}
