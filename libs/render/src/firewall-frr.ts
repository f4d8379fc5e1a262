// A firewall's `frr.conf`: BGP to its leaves announcing only its own routes, one VRF per attached
// network, and route leaking between them with `import vrf` limited by prefix lists — metal-stack's
// leak rules, DMZ cases included. Pure and deterministic.
import { FRR_HEADER, addressFamily, familyOf, joinConfig, loopbacksOnly, naturally, onlySelfOut, peerGroup, prefixInfo, prefixList, routeMap, sortedPrefixes, unnumberedInterface, type PrefixEntry, type RouteMapEntry } from "./frr.js";
import type { FirewallNetwork } from "./firewall-model.js";

export interface FirewallFrrModel {
  hostname: string;
  asn: number;
  /** The firewall's underlay address. */
  routerId: string;
  /** The NICs cabled to the leaves. */
  uplinks: string[];
  networks: FirewallNetwork[];
}

/** What a target network's VRF takes from one source VRF. */
export interface Leak {
  target: FirewallNetwork;
  source: FirewallNetwork;
  entries: PrefixEntry[];
  /** Leaked routes are marked no-export, so they never leave the firewall's VRF towards peers. */
  noExport: boolean;
}

const vrfName = (n: FirewallNetwork) => `vrf${n.vrf}`;
const isDefault = (prefix: string) => prefixInfo(prefix).prefix.length === 0;
const permitAll = (prefixes: readonly string[]): PrefixEntry[] => sortedPrefixes(prefixes).map((p) => ({ action: "permit", prefix: p.text }));
const hosts = (addresses: readonly string[], action: "permit" | "deny"): PrefixEntry[] => sortedPrefixes(addresses.map((a) => `${a}/${familyOf(a) === 4 ? 32 : 128}`)).map((p) => ({ action, prefix: p.text, exact: true }));

/**
 * Which attached network gives the primary its default route, per family, when several offer one:
 * an external network before a DMZ (a shared network with destinations), then the lowest VRF.
 * Everyone else's default route is left out, so egress never depends on BGP tie-breaking.
 */
function defaultRouteOwners(candidates: readonly FirewallNetwork[]): Map<4 | 6, FirewallNetwork> {
  const owners = new Map<4 | 6, FirewallNetwork>();
  const ranked = [...candidates].sort((a, b) => Number(a.role !== "external") - Number(b.role !== "external") || a.vrf - b.vrf);
  for (const n of ranked) for (const d of n.destinationPrefixes.filter(isDefault)) if (!owners.has(familyOf(d))) owners.set(familyOf(d), n);
  return owners;
}

/** A network's destinations as the primary may import them: a default route only from its owner. */
const destinationsFor = (n: FirewallNetwork, owners: Map<4 | 6, FirewallNetwork>) => n.destinationPrefixes.filter((d) => !isDefault(d) || owners.get(familyOf(d))?.id === n.id);

/**
 * metal-stack's leak rules, closed against transit:
 * - the private primary imports every external network's destinations and prefixes (not the
 *   firewall's own addresses there) and every shared network's prefixes and destinations — the
 *   default route from one network only (`defaultRouteOwners`);
 * - a shared network imports the primary's prefixes, and — a DMZ the firewall is the exit of —
 *   from an external network the destinations it shares with it, prefix by prefix (the DMZ
 *   takes the internet's default route), with the external's prefixes;
 * - an external network imports from the primary exactly the addresses the project publishes
 *   there (its machines' public and load-balancer addresses), and, marked no-export, the
 *   primary's prefixes (and, when it carries a default route, those of the DMZs it is the exit of)
 *   so replies find their way without the routes ever leaving the firewall;
 * - the underlay imports nothing.
 */
export function firewallLeaks(networks: readonly FirewallNetwork[]): Leak[] {
  const primary = networks.find((n) => n.role === "primary");
  const externals = networks.filter((n) => n.role === "external");
  const shared = networks.filter((n) => n.role === "shared");
  const leaks: Leak[] = [];
  const add = (target: FirewallNetwork, source: FirewallNetwork, entries: PrefixEntry[], noExport = false) => {
    if (entries.length > 0) leaks.push({ target, source, entries, noExport });
  };
  if (primary) {
    const owners = defaultRouteOwners([...externals, ...shared]);
    for (const e of externals) add(primary, e, [...hosts(e.ips, "deny"), ...permitAll(destinationsFor(e, owners)), ...permitAll(e.prefixes)]);
    for (const s of shared) add(primary, s, [...permitAll(s.prefixes), ...permitAll(destinationsFor(s, owners))]);
    for (const s of shared) {
      add(s, primary, permitAll(primary.prefixes));
      if (!s.dmz) continue;
      for (const e of externals) {
        const common = s.destinationPrefixes.filter((d) => e.destinationPrefixes.some((x) => prefixInfo(x).text === prefixInfo(d).text));
        if (common.length > 0) add(s, e, [...hosts(e.ips, "deny"), ...permitAll(common), ...permitAll(e.prefixes)]);
      }
    }
    for (const e of externals) {
      add(e, primary, hosts(e.projectIps.filter((ip) => !e.ips.includes(ip)), "permit"));
      add(e, primary, permitAll(primary.prefixes), true);
      if (e.destinationPrefixes.some(isDefault)) for (const s of shared.filter((x) => x.dmz)) add(e, s, permitAll(s.prefixes), true);
    }
  }
  return leaks.sort((a, b) => a.target.vrf - b.target.vrf || a.source.vrf - b.source.vrf || Number(a.noExport) - Number(b.noExport));
}

function vrfBlock(model: FirewallFrrModel, target: FirewallNetwork, leaks: readonly Leak[], lists: string[], maps: string[]): string[] {
  const name = vrfName(target);
  const families = new Set([...target.prefixes, ...leaks.flatMap((l) => l.entries.map((e) => e.prefix))].map(familyOf));
  const mapEntries: RouteMapEntry[] = [];
  const afs: string[] = [];
  for (const family of [4, 6] as const) {
    if (!families.has(family)) continue;
    const lines = ["redistribute connected"];
    const sources = new Set<string>();
    for (const leak of leaks) {
      const entries = leak.entries.filter((e) => familyOf(e.prefix) === family);
      if (entries.length === 0) continue;
      const list = `${name}-import-from-${vrfName(leak.source)}${family === 6 ? "-ipv6" : ""}${leak.noExport ? "-no-export" : ""}`;
      lists.push(...prefixList(list, entries, 100));
      mapEntries.push({ action: "permit", match: [`source-vrf ${vrfName(leak.source)}`, `${family === 4 ? "ip" : "ipv6"} address prefix-list ${list}`], set: leak.noExport ? ["community no-export additive"] : [] });
      sources.add(vrfName(leak.source));
    }
    lines.push(...[...sources].map((s) => `import vrf ${s}`));
    if (sources.size > 0) lines.push(`import vrf route-map ${name}-import-map`);
    afs.push(...addressFamily(family === 4 ? "ipv4 unicast" : "ipv6 unicast", lines));
  }
  if (mapEntries.length > 0) maps.push(...routeMap(`${name}-import-map`, mapEntries, true));
  const evpn = [...families].sort().map((f) => `advertise ${f === 4 ? "ipv4" : "ipv6"} unicast`);
  return [`router bgp ${model.asn} vrf ${name}`, ` bgp router-id ${model.routerId}`, ...afs, ...addressFamily("l2vpn evpn", evpn), "exit", "!"];
}

export function renderFirewallFrr(model: FirewallFrrModel): string {
  const networks = model.networks.filter((n) => n.role !== "underlay").sort((a, b) => a.vrf - b.vrf);
  const leaks = firewallLeaks(model.networks);
  const uplinks = [...model.uplinks].sort(naturally);
  const lists: string[] = [];
  const maps: string[] = [];
  const vrfBlocks = networks.flatMap((n) => vrfBlock(model, n, leaks.filter((l) => l.target.id === n.id), lists, maps));
  const toFabric = ["redistribute connected route-map LOOPBACKS", "neighbor FABRIC route-map only-self-out out"];
  return joinConfig([
    ...FRR_HEADER,
    `hostname ${model.hostname}`,
    "log syslog informational",
    "service integrated-vtysh-config",
    "!",
    ...networks.flatMap((n) => [`vrf ${vrfName(n)}`, ` vni ${n.vrf}`, "exit-vrf", "!"]),
    ...uplinks.flatMap((u) => unnumberedInterface(u)),
    `router bgp ${model.asn}`,
    ` bgp router-id ${model.routerId}`,
    " bgp bestpath as-path multipath-relax",
    ...peerGroup("FABRIC"),
    ...uplinks.map((u) => ` neighbor ${u} interface peer-group FABRIC`),
    ...addressFamily("ipv4 unicast", toFabric),
    ...addressFamily("ipv6 unicast", ["neighbor FABRIC activate", ...toFabric]),
    ...addressFamily("l2vpn evpn", ["neighbor FABRIC activate", "advertise-all-vni"]),
    "exit",
    "!",
    ...vrfBlocks,
    ...lists,
    "!",
    ...onlySelfOut,
    ...maps,
    ...loopbacksOnly,
    "!",
    "line vty",
    "!",
  ]);
}
