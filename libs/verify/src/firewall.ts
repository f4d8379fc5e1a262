// A firewall's configuration against the records: its VRFs are exactly its attached networks,
// each takes from the others only what the leak rules entitle it to (no-export where the routes
// must stay on the firewall), it announces to the fabric only its own routes, its interfaces
// match its addresses, and its ruleset drops by default, accepts only new connections of its
// primary network (and a DMZ it is the exit of), NATs only its own sources out of its own
// networks, and accepts VXLAN from every VTEP of the partition.
import { parsePrefix } from "@bulkhead/netaddr";
import type { FrrConfig } from "./frr.js";
import { P, hostRoute, inside, type FactIndex, type MachineFact, type NetworkFact, type PolicyFact, type RuleFact } from "./facts.js";
import type { Interfaces } from "./interfaces.js";
import type { NftChain, NftRule, Nftables } from "./nft.js";
import { covering, overlapping, withinAny } from "./prefixes.js";
import { readRouteMap } from "./routemaps.js";
import { checkImports, checkRouteMapInventory, type Report } from "./common.js";

const ifacesOf = (n: NetworkFact) => [`vlan${n.vrf}`, `vrf${n.vrf}`];

export function checkFirewallFrr(device: string, config: FrrConfig, fw: MachineFact, facts: FactIndex, report: Report): void {
  const attached = fw.networks.map((id) => facts.byId.get(id)).filter((n): n is NetworkFact => n !== undefined);
  const vrfs = new Map(attached.filter((n) => n.kind !== "underlay" && n.vrf > 0).map((n) => [`vrf${n.vrf}`, n]));
  for (const [name, v] of config.vrfs) if (!vrfs.has(name)) report(P.imports, v.line, `vrf ${name}`, `${name} is not the VRF of a network attached to firewall ${device}`);
  const nics = new Set(fw.connections.map((c) => c.nic));
  const primary = facts.primaryOf(fw);
  for (const bgp of config.bgp) {
    const tenant = bgp.vrf === "default" ? undefined : vrfs.get(bgp.vrf);
    if (bgp.vrf !== "default" && !tenant) {
      report(P.imports, bgp.line, `router bgp ${bgp.asn} vrf ${bgp.vrf}`, `${bgp.vrf} is not attached to firewall ${device}`);
      continue;
    }
    for (const n of bgp.neighbors.values()) {
      if (bgp.vrf === "default" && ((n.isGroup && n.name === "FABRIC") || (n.peerGroup === "FABRIC" && n.unnumbered && nics.has(n.name)))) continue;
      report(P.ingress, n.line, `neighbor ${n.name}`, `a BGP session in ${bgp.vrf} of firewall ${device} that no record accounts for`);
    }
    for (const af of bgp.families.values()) {
      if (af.name === "l2vpn evpn") {
        if (tenant && (af.activated.size + af.routeMaps.length > 0 || af.advertiseAllVni)) report(P.understood, af.line, `address-family l2vpn evpn in ${bgp.vrf}`, "a tenant VRF's EVPN family only advertises its routes");
        if (!tenant && (af.routeMaps.length > 0 || af.imports.length > 0)) report(P.understood, af.line, "address-family l2vpn evpn", "EVPN filters or imports on a firewall's default VRF");
        continue;
      }
      for (const r of af.redistribute) {
        if (r.what !== "connected") report(P.infrastructure, r.line, `redistribute ${r.what}`, `redistributes ${r.what} routes in ${bgp.vrf}`);
        else if (!tenant && !r.routeMap) report(P.infrastructure, r.line, "redistribute connected", "the underlay redistributes every connected network without a route map");
        else if (!tenant) checkRouteMapInventory(config, r.routeMap!, r.line, "loopbacks", report);
        else if (r.routeMap) report(P.understood, r.line, `redistribute connected route-map ${r.routeMap}`, "a tenant VRF redistributes its connected routes unfiltered");
      }
      if (!tenant) {
        for (const i of af.imports) report(P.infrastructure, i.line, `import vrf ${i.vrf}`, `the default VRF imports ${i.vrf}`);
        const out = af.routeMaps.find((r) => r.direction === "out" && r.neighbor === "FABRIC");
        const activeFabric = af.activated.has("FABRIC") || (af.name === "ipv4 unicast" && !bgp.noDefaultIpv4);
        if (activeFabric && !out) report(P.infrastructure, af.line, `neighbor FABRIC (${af.name})`, "the firewall announces every route it knows to the fabric (no outbound route map)");
        if (out) checkRouteMapInventory(config, out.name, out.line, "self-only", report);
        for (const r of af.routeMaps.filter((x) => x !== out)) report(P.understood, r.line, `neighbor ${r.neighbor} route-map ${r.name} ${r.direction}`, "a route map the firewall's default VRF never has");
        continue;
      }
      checkImports(device, bgp, af, config, tenant, (from) => facts.firewallImport(fw, tenant, from), facts, report);
      // One default route per family into the primary: egress never rests on BGP tie-breaking.
      if (tenant.id === primary?.id && af.importRouteMap) {
        const sources = new Set<string>();
        for (const p of readRouteMap(config, af.importRouteMap.name).permits) for (const a of p.admitted ?? []) if (a.range.prefix.length === 0 && a.range.min === 0 && p.entry.sourceVrf && af.imports.some((i) => i.vrf === p.entry.sourceVrf)) sources.add(p.entry.sourceVrf);
        if (sources.size > 1) report(P.imports, af.importRouteMap.line, `import vrf route-map ${af.importRouteMap.name}`, `the primary network takes a default route from ${[...sources].join(" and ")}: which one carries egress depends on BGP tie-breaking`);
      }
    }
  }
}

export function checkFirewallInterfaces(device: string, ifaces: Interfaces, fw: MachineFact, facts: FactIndex, report: Report): void {
  const attached = fw.networks.map((id) => facts.byId.get(id)).filter((n): n is NetworkFact => n !== undefined);
  const underlayIps = fw.ips.filter((i) => facts.byId.get(i.network)?.kind === "underlay").map((i) => i.address);
  const nics = new Set(fw.connections.map((c) => c.nic));
  const svis = new Map([...ifaces.ifaces.values()].filter((i) => i.kind === "svi").map((i) => [i.vlanId, i]));
  for (const i of ifaces.ifaces.values()) {
    const object = `iface ${i.name}`;
    if (i.kind === "loopback") {
      if (i.addresses.some((a) => !underlayIps.map(hostRoute).includes(a)) || !underlayIps.includes(i.tunnelIp ?? "")) report(P.identifiers, i.line, object, `the loopback (${i.addresses.join(", ")}; VTEP ${i.tunnelIp ?? "none"}) is not the firewall's underlay address ${underlayIps.join(", ")}`);
    } else if (i.kind === "port") {
      if (!nics.has(i.name) || i.vrf || i.addresses.length > 0 || i.bridgeAccess !== undefined) report(P.infrastructure, i.line, object, `${i.name} is not one of the firewall's uplinks as a plain routed port`);
    } else if (i.kind === "vrf") {
      if (!attached.some((n) => `vrf${n.vrf}` === i.name && n.kind !== "underlay")) report(P.imports, i.line, object, `${i.name} is not the VRF of a network attached to ${device}`);
    } else if (i.kind === "svi") {
      const n = attached.find((x) => `vlan${x.vrf}` === i.name && x.kind !== "underlay");
      const own = fw.ips.filter((x) => x.network === n?.id).map((x) => hostRoute(x.address));
      if (!n || i.vrf !== `vrf${n.vrf}`) report(P.identifiers, i.line, object, `SVI ${i.name} is not in the VRF of an attached network (${i.vrf ?? "none"})`);
      else if (i.addresses.some((a) => !own.includes(a))) report(P.identifiers, i.line, object, `SVI ${i.name} carries ${i.addresses.join(", ")}, the firewall's addresses in ${n.id} are ${own.join(", ") || "none"}`);
    } else if (i.kind === "vxlan") {
      const svi = i.bridgeAccess !== undefined ? svis.get(i.bridgeAccess) : undefined;
      if (!svi || svi.name !== `vlan${i.vxlanId}`) report(P.identifiers, i.line, object, `VXLAN device ${i.name} (VNI ${i.vxlanId}) is not bridged to the SVI of the network with that VRF`);
    }
  }
}

/** The chains reachable from a base chain, by jump or goto. */
function reachable(all: NftChain[], base: NftChain, report: Report): NftRule[] {
  const rules: NftRule[] = [];
  const seen = new Set<string>();
  const walk = (c: NftChain) => {
    if (seen.has(c.name)) return;
    seen.add(c.name);
    for (const r of c.rules) {
      rules.push(r);
      if (r.verdict === "jump" || r.verdict === "goto") {
        const target = all.find((x) => x.table === c.table && x.name === r.target);
        if (!target) report(P.nftables, r.line, r.text, `jumps to chain ${r.target}, which does not exist`);
        else walk(target);
      }
    }
  };
  walk(base);
  return rules;
}

export function checkNftables(device: string, nft: Nftables, fw: MachineFact, facts: FactIndex, report: Report): void {
  const attached = fw.networks.map((id) => facts.byId.get(id)).filter((n): n is NetworkFact => n !== undefined);
  const primary = facts.primaryOf(fw);
  const byIface = new Map(attached.filter((n) => n.vrf > 0).flatMap((n) => ifacesOf(n).map((i) => [i, n] as const)));
  const externals = attached.filter((n) => n.kind === "external");
  const dmzs = attached.filter((n) => facts.servesDmz(fw, n)).map((d) => ({ dmz: d, out: externals.filter((e) => e.destinationPrefixes.some((x) => d.destinationPrefixes.includes(x))) })).filter((d) => d.out.length > 0);
  const foreign = facts.facts.networks.filter((n) => !attached.includes(n) && (n.kind === "private" || n.kind === "shared")).flatMap((n) => n.prefixes);
  const filters = nft.chains.filter((c) => c.type === "filter" && (c.hook === "input" || c.hook === "forward"));
  if (!filters.some((c) => c.hook === "forward")) report(P.nftables, 0, "chain forward", "no forward base chain: forwarding is not filtered");
  if (!filters.some((c) => c.hook === "input")) report(P.nftables, 0, "chain input", "no input base chain: the firewall itself is not protected");
  for (const chain of nft.chains.filter((c) => c.hook && !["input", "forward", "postrouting"].includes(c.hook))) report(P.nftables, chain.line, `chain ${chain.name}`, `a base chain on hook ${chain.hook}, which the ruleset never has`);
  for (const chain of filters) {
    if (chain.policy !== "drop") report(P.nftables, chain.line, `chain ${chain.name}`, `base chain ${chain.name} (hook ${chain.hook}) has policy ${chain.policy}, not drop`);
    let established = false;
    for (const rule of reachable(nft.chains, chain, report)) {
      const ct = rule.ctState?.join(",");
      if (ct !== undefined && !((ct === "established,related" || ct === "related,established") && rule.verdict === "accept") && !(ct === "invalid" && rule.verdict === "drop")) report(P.nftables, rule.line, rule.text, `a conntrack match (ct state ${ct} ${rule.verdict ?? ""}) outside the two the ruleset has`);
      if (ct !== undefined && rule.verdict === "accept") established = true;
      if (rule.limit === "over" && rule.verdict === "drop" && established && chain.hook === "forward") report(P.nftables, rule.line, rule.text, "a rate limit after the accept of established connections limits only new connections");
      if (rule.verdict !== "accept" || ct !== undefined) continue;
      if (chain.hook === "input") checkInputAccept(rule, report);
      else checkForwardAccept(rule, byIface, primary, dmzs, foreign, facts.facts.policies.filter((x) => x.firewall === device), report);
    }
    if (chain.hook === "input") checkVxlan(device, chain, nft, fw, facts, report);
    else checkAntiSpoofing(chain, nft, attached.filter((n) => n.vrf > 0 && (n.kind === "private" || n.kind === "shared")), report);
  }
  for (const chain of nft.chains.filter((c) => c.type === "nat")) {
    for (const rule of chain.rules) {
      if (rule.verdict !== "masquerade" && rule.verdict !== "snat") continue;
      const out = (rule.oifnames ?? []).map((name) => byIface.get(name));
      if (!rule.oifnames?.length || out.some((n) => !n)) report(P.nftables, rule.line, rule.text, `NAT out of ${rule.oifnames?.join(", ") || "any interface"}: only attached networks may be NAT targets`);
      else if (out.some((n) => n!.kind === "private")) report(P.nftables, rule.line, rule.text, `NAT into the private network ${out.find((n) => n!.kind === "private")!.id} would let other networks reach it as the firewall`);
      const sources = rule.addresses.filter((a) => a.field === "saddr" && !a.negated).flatMap((a) => a.values);
      if (sources.length === 0) report(P.nftables, rule.line, rule.text, "NAT for every source address");
      const behind = attached.filter((n) => n.kind !== "external" && n.kind !== "underlay").flatMap((n) => n.prefixes);
      for (const s of sources) if (!withinAny(covering(s, false)!, behind.map((p) => covering(p, false)!))) report(P.nftables, rule.line, rule.text, `NAT for ${s}, outside the networks behind this firewall`);
      const own = fw.ips.map((i) => i.address);
      for (const to of rule.snatTo) if (!own.includes(to)) report(P.nftables, rule.line, rule.text, `SNAT to ${to}, which is not one of the firewall's addresses`);
    }
  }
}

/** What enters from a network behind the firewall must come from it: a drop of any other source, per family. */
function checkAntiSpoofing(chain: NftChain, nft: Nftables, networks: NetworkFact[], report: Report): void {
  const rules = reachable(nft.chains, chain, () => {}).filter((r) => r.verdict === "drop");
  for (const n of networks) {
    const own = new Set(ifacesOf(n));
    const guards = rules.filter((r) => r.iifnames?.length && r.iifnames.every((i) => own.has(i)));
    for (const family of [4, 6] as const) {
      const guarded = guards.some((r) => r.addresses.some((a) => a.family === family && a.field === "saddr" && a.negated) || r.nfproto === (family === 4 ? "ipv4" : "ipv6"));
      if (!guarded) report(P.nftables, chain.line, `chain ${chain.name}`, `IPv${family} sources entering from ${n.id} are not checked: a machine could send as any address (no anti-spoofing)`);
    }
  }
}

function checkInputAccept(rule: NftRule, report: Report): void {
  const lo = rule.iifnames?.length === 1 && rule.iifnames[0] === "lo";
  const sourced = rule.addresses.some((a) => a.field === "saddr" && !a.negated);
  const port = rule.dports?.values.join(",");
  const ok = lo || rule.icmp || (sourced && rule.dports && ["179", "4789", "22"].includes(port ?? ""));
  if (!ok) report(P.nftables, rule.line, rule.text, "accepts connections to the firewall itself beyond loopback, ICMP, BGP, VXLAN and SSH from given sources");
}

/** The addresses a rule matches in one field (its positive values minus its negated ones), covered by a policy rule's peers. */
function addressesCovered(rule: NftRule, field: "saddr" | "daddr", peers: RuleFact["peers"]): boolean {
  if (peers.length === 0) return true;
  const matches = rule.addresses.filter((a) => a.field === field);
  const positive = matches.filter((a) => !a.negated).flatMap((a) => a.values);
  const negated = matches.filter((a) => a.negated).flatMap((a) => a.values);
  if (positive.length === 0) return false; // any address, where the policy names some
  const range = (text: string) => covering(text.includes("/") ? text : hostRoute(text), false)!;
  return positive.every((v) => peers.some((p) => withinAny(range(v), [range(p.cidr)]) && p.except.every((e) => !overlapping(range(e), range(v)) || negated.some((n) => withinAny(range(e), [range(n)])))));
}

/** The ports a rule matches, covered by a policy rule's ports. */
function portsCovered(rule: NftRule, ports: RuleFact["ports"]): boolean {
  const allOf = (protocol: string) => ports.some((p) => p.protocol === protocol && p.from === 0);
  if (rule.dports) {
    return rule.dports.values.every((v) => {
      const [from, to = from] = v.split("-").map(Number);
      return ports.some((p) => p.protocol === rule.dports!.protocol && (p.from === 0 || (from! >= p.from && to! <= p.to)));
    });
  }
  if (rule.l4proto) return rule.l4proto.every((proto) => allOf(proto));
  return false; // every protocol: no policy rule allows that
}

/** Whether some rule of the firewall's policies (in that direction) allows everything the accept lets through. */
function allowedByPolicy(rule: NftRule, direction: "ingress" | "egress", policies: PolicyFact[]): boolean {
  const field = direction === "ingress" ? "saddr" : "daddr";
  return policies.some((p) => p[direction].some((r) => addressesCovered(rule, field, r.peers) && portsCovered(rule, r.ports)));
}

function checkForwardAccept(rule: NftRule, byIface: Map<string, NetworkFact>, primary: NetworkFact | undefined, dmzs: { dmz: NetworkFact; out: NetworkFact[] }[], foreign: string[], policies: PolicyFact[], report: Report): void {
  const iif = rule.iifnames ?? [];
  const oif = rule.oifnames ?? [];
  if (iif.length === 0 && oif.length === 0 && rule.addresses.length === 0) {
    report(P.nftables, rule.line, rule.text, "accepts every forwarded packet");
    return;
  }
  for (const name of [...iif, ...oif]) if (!byIface.has(name)) report(P.nftables, rule.line, rule.text, `accepts traffic on ${name}, which is no network attached to this firewall`);
  const of = (names: string[]) => new Set(names.map((n) => byIface.get(n)?.id));
  const into = of(oif);
  const from = of(iif);
  const isPrimary = (set: Set<string | undefined>) => primary !== undefined && set.size === 1 && set.has(primary.id);
  const ingress = isPrimary(into);
  const egress = isPrimary(from);
  const dmzEgress = dmzs.some((d) => from.size === 1 && from.has(d.dmz.id) && into.size > 0 && [...into].every((n) => d.out.some((e) => e.id === n)));
  if (!ingress && !egress && !dmzEgress) report(P.nftables, rule.line, rule.text, `accepts traffic ${iif.join(",") || "from anywhere"} → ${oif.join(",") || "anywhere"}: neither into nor out of the primary network, nor out of a DMZ this firewall is the exit of`);
  else if (!allowedByPolicy(rule, ingress ? "ingress" : "egress", policies)) report(P.nftables, rule.line, rule.text, `accepts more than any ${ingress ? "ingress" : "egress"} rule of the firewall's policies allows`);
  for (const a of rule.addresses.filter((x) => !x.negated)) {
    for (const v of a.values) {
      const p = parsePrefix(v.includes("/") ? v : hostRoute(v));
      if (p && foreign.some((f) => inside(v.split("/")[0]!, [f]) || (p.length === 0 ? false : inside(f.split("/")[0]!, [v])))) report(P.nftables, rule.line, rule.text, `accepts traffic of ${v}, a network not behind this firewall`);
    }
  }
}

/** Every VTEP of the partition (switches' router ids, other firewalls' underlay addresses) may send VXLAN to the firewall. */
function checkVxlan(device: string, chain: NftChain, nft: Nftables, fw: MachineFact, facts: FactIndex, report: Report): void {
  const vteps = [
    ...facts.facts.switches.filter((s) => s.role !== "spine").map((s) => ({ who: `switch ${s.id}`, address: s.routerId })),
    ...[...facts.firewalls.values()].filter((f) => f.id !== fw.id && f.installed).flatMap((f) => f.ips.filter((i) => facts.byId.get(i.network)?.kind === "underlay").map((i) => ({ who: `firewall ${f.id}`, address: i.address }))),
  ];
  const rules = reachable(nft.chains, chain, () => {}).filter((r) => r.verdict === "accept" && r.dports?.protocol === "udp" && r.dports.values.includes("4789"));
  for (const v of vteps) {
    const ok = rules.some((r) => r.addresses.some((a) => a.field === "saddr" && !a.negated && a.values.some((x) => inside(v.address, [x.includes("/") ? x : hostRoute(x)]))));
    if (!ok) report(P.reachability, chain.line, `VXLAN from ${v.address}`, `firewall ${device} drops VXLAN from ${v.who} (${v.address}): every tenant route through it is a black hole there`);
  }
}
