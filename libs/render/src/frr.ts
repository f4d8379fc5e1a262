// Building blocks of FRR configuration shared by the leaf, firewall and machine renderers: prefix
// lists and route maps with stable sequence numbers, BGP peer groups, router-advertisement
// interface stanzas for BGP unnumbered. Pure.
import { comparePrefixes, formatPrefix, parsePrefix, type Prefix } from "@bulkhead/netaddr";

export const FRR_HEADER = ["frr version 8.4", "frr defaults datacenter"];

/** Natural order: swp2 before swp10, Ethernet4 before Ethernet12 (digit runs compare as numbers). */
export function naturally(a: string, b: string): number {
  let i = 0;
  let j = 0;
  const isDigit = (c: number) => c >= 48 && c <= 57;
  while (i < a.length && j < b.length) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(j);
    if (isDigit(x) && isDigit(y)) {
      let endA = i;
      let endB = j;
      while (endA < a.length && isDigit(a.charCodeAt(endA))) endA++;
      while (endB < b.length && isDigit(b.charCodeAt(endB))) endB++;
      const difference = Number(a.slice(i, endA)) - Number(b.slice(j, endB));
      if (difference !== 0) return difference;
      i = endA;
      j = endB;
    } else {
      if (x !== y) return x - y;
      i++;
      j++;
    }
  }
  return a.length - i - (b.length - j);
}

export interface PrefixInfo {
  prefix: Prefix;
  /** Canonical text: host bits cleared, IPv6 compressed. */
  text: string;
}

// Parsing and formatting bigint prefixes dominates rendering large configs, and the same prefixes
// recur across a switch's VRFs and a partition's switches: memoized (the results are immutable).
const infos = new Map<string, PrefixInfo>();
export function prefixInfo(text: string): PrefixInfo {
  let info = infos.get(text);
  if (!info) {
    if (infos.size > 100_000) infos.clear();
    const prefix = parsePrefix(text);
    if (!prefix) throw new Error(`${text} is not a prefix`);
    infos.set(text, (info = { prefix, text: formatPrefix(prefix) }));
  }
  return info;
}

/** Parsed, de-duplicated and sorted (IPv4 first). */
export function sortedPrefixes(texts: readonly string[]): PrefixInfo[] {
  const parsed = [...new Set(texts)].map(prefixInfo).sort((a, b) => comparePrefixes(a.prefix, b.prefix));
  return parsed.filter((p, i) => i === 0 || comparePrefixes(parsed[i - 1]!.prefix, p.prefix) !== 0);
}

export const familyOf = (text: string): 4 | 6 => (text.includes(":") ? 6 : 4);

export interface PrefixEntry {
  action: "permit" | "deny";
  prefix: string;
  /**
   * Exactly this prefix, or also anything more specific. By default a prefix covers its more
   * specifics and a default route (/0) only itself.
   */
  exact?: boolean;
}

/**
 * `ip prefix-list` or `ipv6 prefix-list` lines, sequence numbers from `start` in steps of 1 in the
 * given order (callers order entries deterministically).
 */
export function prefixList(name: string, entries: readonly PrefixEntry[], start = 10): string[] {
  return entries.map((e, i) => {
    const { prefix: p, text } = prefixInfo(e.prefix);
    const exact = e.exact ?? p.length === 0;
    return `${p.family === 4 ? "ip" : "ipv6"} prefix-list ${name} seq ${start + i} ${e.action} ${text}${exact ? "" : ` le ${p.family === 4 ? 32 : 128}`}`;
  });
}

/** Permit entries for the prefixes of one family, sorted. */
export const permits = (prefixes: readonly string[], family: 4 | 6): PrefixEntry[] =>
  sortedPrefixes(prefixes)
    .filter((p) => p.prefix.family === family)
    .map((p) => ({ action: "permit", prefix: p.text }));

export interface RouteMapEntry {
  action: "permit" | "deny";
  match?: string[];
  set?: string[];
}

/**
 * A route map, entries numbered 10, 20, …; `terminate` appends an explicit final deny. One
 * (multi-line) element per entry: configs are lists of lines joined at the end, and large ones are
 * cheaper to build from fewer, longer strings.
 */
export function routeMap(name: string, entries: readonly RouteMapEntry[], terminate = false): string[] {
  const all = terminate ? [...entries, { action: "deny" as const }] : entries;
  return all.map((e, i) => {
    let text = `route-map ${name} ${e.action} ${(i + 1) * 10}\n`;
    for (const m of e.match ?? []) text += ` match ${m}\n`;
    for (const s of e.set ?? []) text += ` set ${s}\n`;
    return `${text}exit`;
  });
}

/** Router advertisements every 6 s: what BGP unnumbered needs on an interface. */
export const unnumberedInterface = (name: string, vrf?: string) => [`interface ${name}${vrf ? ` vrf ${vrf}` : ""}\n ipv6 nd ra-interval 6\n no ipv6 nd suppress-ra\nexit\n!`];

/** A peer group of external unnumbered neighbors with fast timers. */
export const peerGroup = (name: string, remoteAs: "external" | "internal" = "external", timers = "2 8") => [
  ` neighbor ${name} peer-group`,
  ` neighbor ${name} remote-as ${remoteAs}`,
  ` neighbor ${name} timers ${timers}`,
];

/** An address-family block, or nothing when it would be empty. */
export const addressFamily = (family: "ipv4 unicast" | "ipv6 unicast" | "l2vpn evpn", lines: readonly string[]) =>
  lines.length === 0 ? [] : [" !", ` address-family ${family}`, ...lines.map((l) => `  ${l}`), " exit-address-family"];

/** Routes this router originated itself (empty AS path): all it announces upstream. */
export const onlySelfOut = ["bgp as-path access-list SELF seq 10 permit ^$", ...routeMap("only-self-out", [{ action: "permit", match: ["as-path SELF"] }], true)];

/** Only the loopback's addresses are redistributed: management and links stay out of BGP. */
export const loopbacksOnly = routeMap("LOOPBACKS", [{ action: "permit", match: ["interface lo"] }]);

export const joinConfig = (lines: readonly string[]) => `${lines.join("\n")}\n`;
