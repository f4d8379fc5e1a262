// Compiles a firewall's networks, policies and options into one self-contained nftables file.
// The file declares its table, deletes it and defines it again, so `nft -f` applies it in one
// transaction; the same model always gives the same bytes (everything sorted and de-duplicated).
import { comparePrefixes, contains, formatPrefix, parsePrefix, type Prefix } from "@bulkhead/netaddr";
import { fabricInterfaces, interfacesOf, type FirewallModel, type FirewallNetwork, type Policy, type PolicyRule, type PortMatch } from "./firewall-model.js";

export const TABLE = "bulkhead";
export const LOG_INPUT_DROPPED = "bulkhead-input-dropped: ";
export const LOG_FORWARD_DROPPED = "bulkhead-forward-dropped: ";
export const LOG_ACCEPTED = "bulkhead-accepted: ";

const unique = <T>(items: readonly T[]) => [...new Set(items)];

/** `x` for one element, `{ a, b }` for several. */
const set = (items: readonly string[]) => (items.length === 1 ? items[0]! : `{ ${items.join(", ")} }`);
const quoted = (names: readonly string[]) => set([...names].sort().map((n) => `"${n}"`));

/** Parses, de-duplicates and sorts prefixes (IPv4 first, then by address and length). */
function prefixes(texts: readonly string[]): Prefix[] {
  const parsed = unique(texts).map((t) => parsePrefix(t)!);
  return parsed.sort(comparePrefixes).filter((p, i) => i === 0 || comparePrefixes(parsed[i - 1]!, p) !== 0);
}

const family = (p: Prefix) => (p.family === 4 ? "ip" : "ip6");
const byFamily = (texts: readonly string[]) => {
  const all = prefixes(texts);
  return [all.filter((p) => p.family === 4), all.filter((p) => p.family === 6)].filter((group) => group.length > 0);
};

/** The port part of a rule: one match per protocol, or both protocols when ports are omitted. */
function portMatches(ports: readonly PortMatch[]): string[] {
  if (ports.length === 0) return ["meta l4proto { tcp, udp }"];
  const matches: string[] = [];
  for (const protocol of ["tcp", "udp"] as const) {
    const mine = ports.filter((p) => p.protocol === protocol);
    if (mine.length === 0) continue;
    if (mine.some((p) => p.port === 0)) {
      matches.push(`meta l4proto ${protocol}`);
      continue;
    }
    const values = unique(mine.map((p) => (p.endPort > 0 ? `${p.port}-${p.endPort}` : String(p.port)))).sort((a, b) => parseInt(a) - parseInt(b) || a.length - b.length);
    matches.push(`${protocol} dport ${set(values)}`);
  }
  return matches;
}

/**
 * The address part of a rule: peers without exceptions grouped per family into one set, each
 * peer with exceptions on its own. No peers means any address (of either family).
 */
function peerMatches(rule: PolicyRule, direction: "saddr" | "daddr"): string[] {
  if (rule.peers.length === 0) return [""];
  const matches: string[] = [];
  for (const group of byFamily(rule.peers.filter((p) => p.except.length === 0).map((p) => p.cidr))) {
    matches.push(`${family(group[0]!)} ${direction} ${set(group.map(formatPrefix))}`);
  }
  for (const peer of rule.peers.filter((p) => p.except.length > 0)) {
    const cidr = parsePrefix(peer.cidr)!;
    matches.push(`${family(cidr)} ${direction} ${formatPrefix(cidr)} ${family(cidr)} ${direction} != ${set(prefixes(peer.except).map(formatPrefix))}`);
  }
  return unique(matches).sort();
}

/**
 * A DMZ this firewall is the exit of (`FirewallNetwork.dmz`), and the external networks it shares
 * (some of) its destinations with. New connections out of it are egress like the primary's.
 */
function servedDmzs(networks: readonly FirewallNetwork[]): { dmz: FirewallNetwork; externals: FirewallNetwork[] }[] {
  const externals = networks.filter((n) => n.role === "external");
  const same = (a: string, b: string) => formatPrefix(parsePrefix(a)!) === formatPrefix(parsePrefix(b)!);
  return networks
    .filter((n) => n.dmz)
    .map((dmz) => ({ dmz, externals: externals.filter((e) => e.destinationPrefixes.some((d) => dmz.destinationPrefixes.some((x) => same(d, x)))) }))
    .filter((d) => d.externals.length > 0)
    .sort((a, b) => a.dmz.vrf - b.dmz.vrf);
}

function policyLines(policy: Policy, networks: readonly FirewallNetwork[], logAccepted: boolean): string[] {
  const primary = networks.find((n) => n.role === "primary");
  if (!primary) return [];
  const inside = quoted(interfacesOf(primary));
  // Keyed by everything but the comment: a rule repeated within a policy is emitted once.
  const lines = new Map<string, string>();
  const directions: (readonly [string, readonly PolicyRule[], string, "saddr" | "daddr"])[] = [
    ["ingress", policy.ingress, `oifname ${inside}`, "saddr"],
    ["egress", policy.egress, `iifname ${inside}`, "daddr"],
    // Egress out of a DMZ this firewall serves: only towards the external networks it exits to.
    ...servedDmzs(networks).map(({ dmz, externals }) => ["egress", policy.egress, `iifname ${quoted(interfacesOf(dmz))} oifname ${quoted(externals.flatMap(interfacesOf))}`, "daddr"] as const),
  ];
  for (const [direction, rules, iface, address] of directions) {
    rules.forEach((rule, index) => {
      for (const peer of peerMatches(rule, address)) {
        for (const port of portMatches(rule.ports)) {
          const rule = [iface, peer, port, logAccepted ? `log prefix "${LOG_ACCEPTED}" level info` : "", "counter accept"].filter(Boolean).join(" ");
          if (!lines.has(rule)) lines.set(rule, `${rule} comment "${policy.name}: ${direction} ${index}"`);
        }
      }
    });
  }
  return [...lines.values()];
}

/**
 * Anti-spoofing: what enters from a network behind the firewall (the primary, shared networks)
 * must come from that network — the primary also from the addresses its project publishes
 * elsewhere (public and load-balancer addresses its machines announce).
 */
function antiSpoofing(networks: readonly FirewallNetwork[]): string[] {
  const lines: string[] = [];
  const published = networks.flatMap((n) => n.projectIps.filter((ip) => !n.prefixes.some((p) => contains(parsePrefix(p)!, parsePrefix(`${ip}/${ip.includes(":") ? 128 : 32}`)!))));
  for (const n of networks.filter((x) => x.role === "primary" || x.role === "shared").sort((a, b) => a.vrf - b.vrf)) {
    const sources = [...n.prefixes, ...(n.role === "primary" ? published.map((ip) => `${ip}/${ip.includes(":") ? 128 : 32}`) : [])];
    const iface = `iifname ${quoted(interfacesOf(n))}`;
    for (const [fam, nfproto] of [[4, "ipv4"], [6, "ipv6"]] as const) {
      const own = prefixes(sources).filter((p) => p.family === fam);
      const field = fam === 4 ? "ip saddr" : "ip6 saddr";
      lines.push(own.length > 0 ? `${iface} ${field} != ${set(own.map(formatPrefix))} counter drop comment "spoofed source from ${n.id}"` : `${iface} meta nfproto ${nfproto} counter drop comment "spoofed source from ${n.id}"`);
    }
  }
  return lines;
}

function inputChain(model: FirewallModel): string[] {
  const underlay = model.networks.filter((n) => n.role === "underlay").flatMap((n) => n.prefixes);
  const fabric = quoted(fabricInterfaces);
  const lines = [
    "type filter hook input priority filter; policy drop;",
    "ct state established,related accept",
    "ct state invalid drop",
    'iifname "lo" accept',
    "meta l4proto icmp icmp type { destination-unreachable, time-exceeded, parameter-problem } accept",
    "meta l4proto icmp icmp type echo-request limit rate 10/second burst 5 packets accept",
    "meta l4proto ipv6-icmp icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem, nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert } accept",
    "meta l4proto ipv6-icmp icmpv6 type echo-request limit rate 10/second burst 5 packets accept",
    `iifname ${fabric} ip6 saddr fe80::/10 tcp dport 179 accept comment "BGP unnumbered from the fabric"`,
  ];
  for (const group of byFamily(underlay)) lines.push(`iifname ${fabric} ${family(group[0]!)} saddr ${set(group.map(formatPrefix))} udp dport 4789 accept comment "VXLAN from the VTEPs"`);
  for (const group of byFamily(model.options.sshAllowedFrom)) lines.push(`${family(group[0]!)} saddr ${set(group.map(formatPrefix))} tcp dport 22 accept comment "SSH"`);
  lines.push(`limit rate 10/minute burst 5 packets log prefix "${LOG_INPUT_DROPPED}" level warn`, "counter drop");
  return lines;
}

function forwardChain(model: FirewallModel, policies: readonly Policy[]): string[] {
  const lines = ["type filter hook forward priority filter; policy drop;"];
  // Rate limits first: they cap every packet a network sends, established connections included.
  const byId = new Map(model.networks.map((n) => [n.id, n]));
  const limits = [...model.options.rateLimits].filter((l) => byId.has(l.network)).sort((a, b) => byId.get(a.network)!.vrf - byId.get(b.network)!.vrf);
  for (const limit of limits) {
    lines.push(`iifname ${quoted(interfacesOf(byId.get(limit.network)!))} limit rate over ${limit.bytesPerSecond} bytes/second counter drop comment "rate limit of ${limit.network}"`);
  }
  lines.push(...antiSpoofing(model.networks), "ct state established,related accept", "ct state invalid drop");
  for (const policy of policies) lines.push(...policyLines(policy, model.networks, model.options.logAcceptedConnections));
  lines.push(`limit rate 10/second burst 20 packets log prefix "${LOG_FORWARD_DROPPED}" level warn`, "counter drop");
  return lines;
}

/**
 * Private sources leaving through a NAT network are masqueraded (or SNATed to the configured
 * addresses): the primary network's IPv4 prefixes and, as metal-stack does, those of a DMZ the
 * firewall is the exit of.
 */
function postroutingChain(model: FirewallModel): string[] {
  const lines = ["type nat hook postrouting priority srcnat; policy accept;"];
  const natNetworks = model.networks.filter((n) => n.nat && n.role !== "primary" && n.role !== "underlay").sort((a, b) => a.vrf - b.vrf);
  for (const out of natNetworks) {
    const sources = model.networks.filter((n) => n.role === "primary" || (n.dmz && n.id !== out.id)).flatMap((n) => n.prefixes);
    const v4 = prefixes(sources).filter((p) => p.family === 4);
    if (v4.length === 0) continue;
    const match = `oifname ${quoted(interfacesOf(out))} ip saddr ${set(v4.map(formatPrefix))}`;
    const to = unique(model.options.snat.find((s) => s.network === out.id)?.ips ?? []).sort();
    if (to.length === 0) lines.push(`${match} masquerade random`);
    else if (to.length === 1) lines.push(`${match} snat ip to ${to[0]}`);
    else lines.push(`${match} snat ip to jhash ip daddr mod ${to.length} map { ${to.map((ip, i) => `${i} : ${ip}`).join(", ")} }`);
  }
  return lines;
}

const chain = (name: string, lines: readonly string[]) => [`\tchain ${name} {`, ...lines.map((l) => `\t\t${l}`), "\t}"];

/** The firewall's complete ruleset. Policies are compiled in name order. */
export function compileFirewall(model: FirewallModel): string {
  const policies = [...model.policies].sort((a, b) => (a.name === b.name ? (a.id < b.id ? -1 : 1) : a.name < b.name ? -1 : 1));
  return [
    `# nftables ruleset of firewall ${model.id}, generated by Bulkhead: do not edit.`,
    `# policies: ${policies.map((p) => `${p.name} (${p.id})`).join(", ") || "none"}`,
    `table inet ${TABLE}`,
    `delete table inet ${TABLE}`,
    `table inet ${TABLE} {`,
    ...chain("input", inputChain(model)),
    ...chain("forward", forwardChain(model, policies)),
    ...chain("postrouting", postroutingChain(model)),
    "}",
    "",
  ].join("\n");
}

/**
 * Why a policy cannot be compiled for this firewall, if it cannot: the firewall needs a primary
 * network, and every peer must lie in what the firewall's other networks route (their prefixes and
 * destination prefixes) — a rule for addresses no network of the firewall reaches would never
 * match, and is rejected rather than silently ignored.
 */
export function policyProblems(policy: Policy, networks: readonly FirewallNetwork[]): string[] {
  if (!networks.some((n) => n.role === "primary")) return ["the firewall has no private primary network"];
  const reach = networks.filter((n) => n.role === "shared" || n.role === "external").flatMap((n) => [...n.prefixes, ...n.destinationPrefixes]);
  const reachable = prefixes(reach);
  const problems: string[] = [];
  for (const [direction, rules] of [["ingress", policy.ingress], ["egress", policy.egress]] as const) {
    rules.forEach((rule, index) => {
      for (const peer of rule.peers) {
        const cidr = parsePrefix(peer.cidr)!;
        if (!reachable.some((r) => contains(r, cidr))) {
          problems.push(`${direction} ${index}: ${peer.cidr} is outside the networks the firewall reaches (${reachable.map(formatPrefix).join(", ") || "none"})`);
        }
      }
    });
  }
  return problems;
}
