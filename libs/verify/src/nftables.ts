// Property 5 over a firewall's ruleset: the filter base chains drop by default, every accept rule
// stays within the networks attached to this firewall, and NAT only sends the firewall's own
// networks out through its own networks.
import { formatPrefix } from "@bulkhead/netaddr";
import { prefixesOf, touches, within, type FactIndex, type NetworkFact } from "./facts.js";
import type { NftChain, NftRule } from "./nft.js";

type Report = (line: number, object: string, message: string) => void;

/** The interface names (`vlan<N>`, `vrf<N>`) of the attached networks, by network. */
function interfacesOf(networks: NetworkFact[]): Map<string, NetworkFact> {
  const names = new Map<string, NetworkFact>();
  for (const n of networks) if (n.vrf > 0) for (const name of [`vlan${n.vrf}`, `vrf${n.vrf}`]) names.set(name, n);
  return names;
}

export function checkNftables(device: string, chains: NftChain[], facts: FactIndex, report: Report): void {
  const attached = [...(facts.firewalls.get(device) ?? [])].map((id) => facts.byId.get(id)).filter((n): n is NetworkFact => n !== undefined);
  const ifaces = interfacesOf(attached);
  const attachedPrefixes = prefixesOf(attached.flatMap((n) => [...n.prefixes, ...n.destinationPrefixes]));
  const foreign = prefixesOf(facts.facts.networks.filter((n) => !attached.includes(n) && n.kind !== "external" && n.kind !== "underlay").flatMap((n) => n.prefixes));
  const filters = chains.filter((c) => c.type === "filter" && (c.hook === "input" || c.hook === "forward"));
  if (!filters.some((c) => c.hook === "forward")) report(0, "chain forward", "no forward base chain: forwarding is not filtered");
  for (const chain of filters) {
    if (chain.policy !== "drop") report(chain.line, `chain ${chain.name}`, `base chain ${chain.name} (hook ${chain.hook}) has policy ${chain.policy}, not drop`);
    if (chain.hook !== "forward") continue;
    for (const rule of chain.rules) if (rule.verdict === "accept" && !rule.established) checkAccept(rule, ifaces, foreign, report);
  }
  for (const chain of chains.filter((c) => c.type === "nat")) {
    for (const rule of chain.rules) {
      if (rule.verdict !== "masquerade" && rule.verdict !== "snat") continue;
      const out = rule.oifnames.map((name) => ifaces.get(name));
      if (rule.oifnames.length === 0 || out.some((n) => !n)) report(rule.line, rule.text, `NAT out of ${rule.oifnames.join(", ") || "any interface"}: only attached networks may be NAT targets`);
      else if (out.some((n) => n!.kind === "private")) report(rule.line, rule.text, `NAT into the private network ${out.find((n) => n!.kind === "private")!.id} would let other networks reach it as the firewall`);
      const sources = prefixesOf(rule.saddr);
      if (sources.length === 0) report(rule.line, rule.text, "NAT for every source address");
      for (const s of sources) if (!within(s, attachedPrefixes)) report(rule.line, rule.text, `NAT for ${formatPrefix(s)}, outside the networks behind this firewall`);
    }
  }
}

function checkAccept(rule: NftRule, ifaces: Map<string, unknown>, foreign: ReturnType<typeof prefixesOf>, report: Report): void {
  const names = [...rule.iifnames, ...rule.oifnames];
  if (names.length === 0 && rule.saddr.length === 0 && rule.daddr.length === 0) {
    report(rule.line, rule.text, "accepts every forwarded packet");
    return;
  }
  if (names.length === 0) report(rule.line, rule.text, "accepts forwarded packets from and to any interface");
  for (const name of names) if (!ifaces.has(name)) report(rule.line, rule.text, `accepts traffic on ${name}, which is no network attached to this firewall`);
  for (const a of prefixesOf([...rule.saddr, ...rule.daddr])) if (touches(a, foreign)) report(rule.line, rule.text, `accepts traffic of ${formatPrefix(a)}, a network not behind this firewall`);
}

