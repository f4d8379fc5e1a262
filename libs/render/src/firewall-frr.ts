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
const isDefault = (prefixes: readonly string[]) => prefixes.some((p) => prefixInfo(p).prefix.length === 0);
const sameSet = (a: readonly string[], b: readonly string[]) => sortedPrefixes(a).map((p) => p.text).join() === sortedPrefixes(b).map((p) => p.text).join();
const permitAll = (prefixes: readonly string[]): PrefixEntry[] => sortedPrefixes(prefixes).map((p) => ({ action: "permit", prefix: p.text }));

/** The firewall's own addresses in an external network: never imported back as routes. */
const ownAddresses = (n: FirewallNetwork): PrefixEntry[] => n.ips.map((ip) => ({ action: "deny", prefix: `${ip}/${familyOf(ip) === 4 ? 32 : 128}`, exact: true }));

/**
 * metal-stack's leak rules:
 * - the private primary imports every external network's destinations and prefixes (not the
 *   firewall's own addresses there) and every shared network's prefixes and destinations;
 * - a shared network imports the primary's prefixes, and an external network whose destinations
 *   are its own (the DMZ firewall: the DMZ takes the internet's default route);
 * - an external network imports from the primary its own prefixes (load-balancer addresses), and,
 *   marked no-export, the primary's prefixes (and, when it carries a default route, the NAT shared
 *   networks' — the DMZ) so replies find their way without the routes ever leaving;
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
    for (const e of externals) add(primary, e, [...ownAddresses(e), ...permitAll(e.destinationPrefixes), ...permitAll(e.prefixes)]);
    for (const s of shared) add(primary, s, [...permitAll(s.prefixes), ...permitAll(s.destinationPrefixes)]);
    for (const s of shared) {
      add(s, primary, permitAll(primary.prefixes));
      for (const e of externals.filter((x) => s.destinationPrefixes.length > 0 && sameSet(x.destinationPrefixes, s.destinationPrefixes))) {
        add(s, e, [...ownAddresses(e), ...permitAll(e.destinationPrefixes), ...permitAll(e.prefixes)]);
      }
    }
    for (const e of externals) {
      add(e, primary, permitAll(e.prefixes));
      add(e, primary, permitAll(primary.prefixes), true);
      if (isDefault(e.destinationPrefixes)) for (const s of shared.filter((x) => x.nat)) add(e, s, permitAll(s.prefixes), true);
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
