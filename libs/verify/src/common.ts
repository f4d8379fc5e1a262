// Checks both kinds of device share: VRF imports against an entitlement, and the infrastructure
// route maps (only the loopback redistributed, only the device's own routes announced).
import type { AddressFamily, BgpInstance, FrrConfig } from "./frr.js";
import { formatPrefix } from "@bulkhead/netaddr";
import { P, inside, type FactIndex, type NetworkFact } from "./facts.js";
import { rangeText, withinAny, type Range } from "./prefixes.js";
import { readRouteMap } from "./routemaps.js";

export type Report = (property: string, line: number, object: string, message: string) => void;

const isTenantVrf = (vrf: string) => /^vrf\d+$/.test(vrf);

/**
 * Property 2: a VRF imports only from networks it is entitled to, only through a route map whose
 * permit entries each name a source VRF and a prefix list, and what they let in lies inside the
 * entitlement (`noExport` entries: inside either list; others: inside `export`).
 */
export function checkImports(device: string, bgp: BgpInstance, af: AddressFamily, config: FrrConfig, to: NetworkFact, entitled: (from: NetworkFact) => { export: Range[]; noExport: Range[] }, facts: FactIndex, report: Report): void {
  if (af.imports.length === 0) return;
  for (const i of af.imports) {
    if (!isTenantVrf(i.vrf)) {
      report(P.infrastructure, i.line, `import vrf ${i.vrf}`, `${bgp.vrf} imports the ${i.vrf} VRF: the underlay would reach a tenant`);
      continue;
    }
    const from = facts.networkOfVrf(i.vrf);
    const e = from ? entitled(from) : undefined;
    if (!e || e.export.length + e.noExport.length === 0) report(P.imports, i.line, `import vrf ${i.vrf}`, `${bgp.vrf} (${to.id}) imports ${i.vrf} (${from?.id ?? "unknown network"}), which no record entitles it to on ${device}`);
  }
  if (!af.importRouteMap) {
    report(P.imports, af.imports[0]!.line, `import vrf in ${bgp.vrf} ${af.name}`, `${bgp.vrf} imports without a route map: every route of the imported VRFs enters, including what they imported themselves`);
    return;
  }
  const rm = readRouteMap(config, af.importRouteMap.name);
  const name = af.importRouteMap.name;
  if (!rm.exists) report(P.imports, af.importRouteMap.line, `route-map ${name}`, `the import route map of ${bgp.vrf} is not defined`);
  const family = af.name === "ipv6 unicast" ? 6 : 4;
  for (const p of rm.permits) {
    const e = p.entry;
    const object = `route-map ${name} permit ${e.seq}`;
    if (e.evpnVni !== undefined || e.extcommunity || e.interface || e.asPath || e.weight !== undefined || e.evpnRouteType) report(P.understood, e.line, object, "a condition an import route map never has");
    if (!e.sourceVrf) {
      report(P.imports, e.line, object, `${bgp.vrf} permits routes from any imported VRF (no match source-vrf)`);
      continue;
    }
    if (!p.admitted) {
      report(P.imports, e.line, object, `permits every route of ${e.sourceVrf} without a prefix list`);
      continue;
    }
    if (!af.imports.some((i) => i.vrf === e.sourceVrf)) continue; // matches nothing that is imported
    const from = facts.networkOfVrf(e.sourceVrf);
    const ent = from ? entitled(from) : { export: [], noExport: [] };
    for (const a of p.admitted) {
      if (a.range.prefix.family !== family) continue;
      const limit = e.noExport ? [...ent.export, ...ent.noExport] : ent.export;
      if (!withinAny(a.range, limit)) {
        const onlyNoExport = !e.noExport && withinAny(a.range, ent.noExport);
        report(P.imports, a.line, rangeText(a.range), onlyNoExport ? `${bgp.vrf} takes ${rangeText(a.range)} from ${e.sourceVrf} without no-export: routes that must stay on ${device} would reach the whole fabric` : `${bgp.vrf} lets ${rangeText(a.range)} in from ${e.sourceVrf}, which is not what ${from?.id ?? "a known network"} may give ${to.id}: a transitive or foreign leak`);
      }
      if (a.range.prefix.length > 0 && facts.infrastructure.some((x) => inside(formatPrefix(a.range.prefix).split("/")[0]!, [x]))) report(P.infrastructure, a.line, rangeText(a.range), `${bgp.vrf} lets infrastructure addresses (${rangeText(a.range)}) in`);
    }
  }
}

/** The route maps of the default VRF: `loopbacks` permits only `match interface lo`; `self-only` only routes with an empty AS path. */
export function checkRouteMapInventory(config: FrrConfig, name: string, line: number, purpose: "loopbacks" | "self-only", report: Report): void {
  const rm = readRouteMap(config, name);
  if (!rm.exists) {
    report(P.infrastructure, line, `route-map ${name}`, `route map ${name} is not defined`);
    return;
  }
  for (const p of rm.permits) {
    const e = p.entry;
    const object = `route-map ${name} permit ${e.seq}`;
    const others = p.admitted !== undefined || e.sourceVrf || e.evpnVni !== undefined || e.extcommunity || e.noExport || e.weight !== undefined;
    if (purpose === "loopbacks" && (e.interface !== "lo" || e.asPath || others)) report(P.infrastructure, e.line, object, "redistributes more than the loopback's addresses into the underlay");
    if (purpose === "self-only") {
      const list = e.asPath ? config.asPathLists.get(e.asPath) : undefined;
      if (!list || list.length === 0 || list.some((x) => x.regex !== "^$") || e.interface || others) report(P.infrastructure, e.line, object, "announces routes the device did not originate");
    }
  }
}
