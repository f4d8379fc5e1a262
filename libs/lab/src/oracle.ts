// The oracle: from the records alone — networks, projects, peerings, firewall attachments and
// policies, external networks and NAT — which packets may be delivered. It never sees the
// renderer or its model; it is Bulkhead's promise written as code, and the README says the same
// in words:
//
// - A machine reaches its own network (every address in it, and the addresses its network's
//   machines hold elsewhere, e.g. public ones they announce).
// - A local peering of two private/shared networks: each reaches the other's prefixes.
// - A local peering of a private network S with an external network E: S reaches E's destinations
//   (the outside) and E's own prefixes; into E goes nothing of S but the addresses S's machines
//   hold in E. So E never carries a tenant's private prefix, and two networks peered with E meet
//   only at their public addresses, like any two hosts on the internet. When a firewall of S (its
//   primary) is attached to E, the firewall governs S's way to E and the peering stands aside.
// - A firewall F with primary network P: P reaches each other network D attached to F (and, for
//   an external D, the outside behind it) where an egress rule of F admits the packet; D reaches P
//   where an ingress rule admits it. Through F, private sources leave a NAT network as F.
// - A DMZ: a shared NAT network D with destinations, attached to a firewall F2 of D's own project
//   together with an external network E of the same destinations: D (its machines, and what
//   comes through another firewall into D) reaches E's outside where F2's egress admits.
// - From the outside behind E: only addresses in E that are published — held by a machine whose
//   network peers with E, or admitted by an ingress rule of the machine's firewall.
// Nothing else: no transitivity, nothing across projects that a record does not name.
import { inAny, longestMatch, prefixOf, within } from "./addresses.js";
import type { LabRecords, PortRange, RecordMachine, RecordNetwork, RecordPolicy, RecordRule } from "./input.js";
import { primaryOf } from "./plan.js";

export interface Packet {
  src: string;
  dst: string;
  protocol: "tcp" | "udp";
  port: number;
}

/** Where a flow starts: a machine in its network, or the outside behind an external network. */
export type Source = { kind: "machine"; machine: string; network: string } | { kind: "outside"; network: string };

export interface Verdict {
  allowed: boolean;
  why: string;
}

const ruleAdmits = (rule: RecordRule, peer: string, p: Packet) =>
  (rule.peers.length === 0 || rule.peers.some((x) => within(peer, x.cidr) && !inAny(peer, x.except))) &&
  (rule.ports.length === 0 || rule.ports.some((r: PortRange) => r.protocol === p.protocol && (r.from === 0 || (p.port >= r.from && p.port <= r.to))));

export class Oracle {
  readonly networks = new Map<string, RecordNetwork>();
  private readonly peers = new Set<string>();
  private readonly machines = new Map<string, RecordMachine>();
  /** Address → the machine holding it. */
  private readonly holders = new Map<string, RecordMachine>();
  private readonly policies = new Map<string, RecordPolicy[]>();

  constructor(readonly records: LabRecords) {
    for (const n of records.networks) this.networks.set(n.id, n);
    for (const p of records.peerings) if (p.network2) this.peers.add(`${p.network1}|${p.network2}`).add(`${p.network2}|${p.network1}`);
    for (const m of records.machines) {
      this.machines.set(m.id, m);
      for (const ip of m.ips) this.holders.set(ip.address, m);
    }
    for (const p of records.policies) this.policies.set(p.firewall, [...(this.policies.get(p.firewall) ?? []), p]);
  }

  /** Whether a local peering joins `a` and `b`, and no firewall of one governs its way to the other (external). */
  peered(a: string, b: string): boolean {
    return this.peers.has(`${a}|${b}`) && !this.firewallExit(a, b) && !this.firewallExit(b, a);
  }

  /** Whether a firewall whose primary is `network` is attached to the external network `e`. */
  private firewallExit(network: string, e: string): boolean {
    return this.networks.get(e)?.kind === "external" && this.firewallsOf(network, "primary").some((fw) => fw.networks.includes(e));
  }

  /** The firewalls that are the exit of DMZ `d` towards external network `e`: of D's project, attached to both. */
  private dmzExits(d: RecordNetwork, e: RecordNetwork): RecordMachine[] {
    const isDmz = d.kind === "shared" && d.nat && d.destinationPrefixes.length > 0 && [...d.destinationPrefixes].sort().join() === [...e.destinationPrefixes].sort().join();
    return isDmz ? this.firewallsOf(d.id, "attached").filter((fw) => fw.project === d.project && fw.networks.includes(e.id)) : [];
  }

  /** The network whose prefixes hold the address (most specific), if any. */
  zoneOf(address: string): RecordNetwork | undefined {
    const byPrefix = new Map<string, RecordNetwork>();
    for (const n of this.networks.values()) for (const p of n.prefixes) byPrefix.set(p, n);
    const hit = longestMatch(address, byPrefix.keys());
    return hit ? byPrefix.get(hit) : undefined;
  }

  /** The external network whose outside holds the address: in none of Bulkhead's prefixes, in its destinations (most specific). */
  outsideOf(address: string): RecordNetwork | undefined {
    if (this.zoneOf(address)) return undefined;
    const byDestination = new Map<string, RecordNetwork>();
    for (const n of this.networks.values()) if (n.kind === "external") for (const p of n.destinationPrefixes) byDestination.set(p, n);
    const hit = longestMatch(address, byDestination.keys());
    return hit ? byDestination.get(hit) : undefined;
  }

  /** Whether the address is outside everything Bulkhead manages (where an external peer may deliver it). */
  isOutside(address: string): boolean {
    return !this.zoneOf(address);
  }

  private firewallsOf(network: string, role: "primary" | "attached"): RecordMachine[] {
    return [...this.machines.values()].filter((m) => m.role === "firewall" && (role === "primary" ? this.primary(m)?.id === network : m.networks.includes(network) && this.primary(m)?.id !== network));
  }

  primary(m: RecordMachine): RecordNetwork | undefined {
    return primaryOf(m, this.networks);
  }

  private admits(firewall: string, direction: "ingress" | "egress", peer: string, p: Packet): string | undefined {
    for (const policy of this.policies.get(firewall) ?? []) {
      const index = policy[direction].findIndex((rule) => ruleAdmits(rule, peer, p));
      if (index >= 0) return `${policy.name}: ${direction} ${index}`;
    }
    return undefined;
  }

  /** The firewall's own address in a network (what masquerading makes of a source). */
  private addressIn(firewall: RecordMachine, network: string): string | undefined {
    return firewall.ips.find((i) => i.network === network && !i.address.includes(":"))?.address;
  }

  /** Whether `p` from network `s` reaches network `e` (an external one), and how its source looks there. */
  private reachesExternal(s: RecordNetwork, e: RecordNetwork, p: Packet): { why: string; src: string } | undefined {
    if (this.peered(s.id, e.id)) return { why: `${s.id} is peered with ${e.id}`, src: p.src };
    for (const fw of this.firewallsOf(s.id, "primary")) {
      if (!fw.networks.includes(e.id)) continue;
      const rule = this.admits(fw.id, "egress", p.dst, p);
      if (rule) return { why: `firewall ${fw.id} (${rule})`, src: e.nat && !p.src.includes(":") ? (this.addressIn(fw, e.id) ?? p.src) : p.src };
    }
    for (const edge of this.dmzExits(s, e)) {
      const rule = this.admits(edge.id, "egress", p.dst, p);
      if (rule) return { why: `${s.id} is a DMZ, firewall ${edge.id} (${rule})`, src: e.nat && !p.src.includes(":") ? (this.addressIn(edge, e.id) ?? p.src) : p.src };
    }
    return this.throughDmz(s, e, p);
  }

  /** Whether an address in external network `e`, held by a machine, is published there for `src`. */
  private published(e: RecordNetwork, dst: string, src: string, p: Packet): string | undefined {
    const holder = this.holders.get(dst);
    if (!holder) return undefined;
    if (holder.role === "firewall") return `${dst} is firewall ${holder.id}'s own address`;
    const home = this.primary(holder);
    if (!home) return undefined;
    if (this.peered(home.id, e.id)) return `${holder.id}'s network ${home.id} is peered with ${e.id}`;
    for (const fw of this.firewallsOf(home.id, "primary")) {
      if (!fw.networks.includes(e.id)) continue;
      const rule = this.admits(fw.id, "ingress", src, { ...p, src });
      if (rule) return `firewall ${fw.id} admits it (${rule})`;
    }
    return undefined;
  }

  allowed(source: Source, p: Packet): Verdict {
    const zone = this.zoneOf(p.dst);
    const outside = this.outsideOf(p.dst);
    const holder = this.holders.get(p.dst);
    const home = holder ? this.primary(holder) : undefined;
    if (source.kind === "outside") {
      const e = this.networks.get(source.network)!;
      // A private network's own external peer reaches that network.
      if (e.kind !== "external") return zone?.id === e.id || home?.id === e.id ? { allowed: true, why: `the external peer of ${e.id}` } : { allowed: false, why: `an external peer of ${e.id} reaches only ${e.id}` };
      if (zone?.id === e.id) {
        const why = this.published(e, p.dst, p.src, p);
        if (why) return { allowed: true, why };
      }
      return { allowed: false, why: `nothing publishes ${p.dst} to the outside of ${e.id}` };
    }
    const s = this.networks.get(source.network)!;
    // Same network, and what the network's own machines hold elsewhere.
    if (zone?.id === s.id || (home?.id === s.id && holder?.role === "machine")) return { allowed: true, why: `same network ${s.id}` };
    if (zone && zone.kind !== "external" && zone.kind !== "underlay") {
      if (this.peered(s.id, zone.id)) return { allowed: true, why: `${s.id} is peered with ${zone.id}` };
      // Through a firewall of the source: into a network attached to it.
      for (const fw of this.firewallsOf(s.id, "primary")) {
        if (!fw.networks.includes(zone.id)) continue;
        const rule = this.admits(fw.id, "egress", p.dst, p);
        if (rule) return { allowed: true, why: `firewall ${fw.id} (${rule})` };
      }
      // Through a firewall of the destination: from a network attached to it.
      for (const fw of this.firewallsOf(zone.id, "primary")) {
        if (!fw.networks.includes(s.id)) continue;
        const rule = this.admits(fw.id, "ingress", p.src, p);
        if (rule) return { allowed: true, why: `firewall ${fw.id} (${rule})` };
      }
      return { allowed: false, why: `${zone.id} is neither ${s.id} nor peered with it, and no firewall admits it` };
    }
    if (zone?.kind === "external") {
      const reach = this.reachesExternal(s, zone, p);
      const why = reach ? this.published(zone, p.dst, reach.src, p) : undefined;
      if (reach && why) return { allowed: true, why: `${reach.why}; ${why}` };
      return { allowed: false, why: reach ? `${p.dst} is not published in ${zone.id}` : `${s.id} does not reach ${zone.id}` };
    }
    if (outside) {
      const reach = this.reachesExternal(s, outside, p);
      if (reach) return { allowed: true, why: reach.why };
      return { allowed: false, why: `${s.id} does not reach the outside of ${outside.id}` };
    }
    return { allowed: false, why: `${p.dst} belongs to no network` };
  }

  /** Out through a firewall of `s` into a DMZ, and from the DMZ out through the DMZ's firewall; the source as it arrives in `e`. */
  private throughDmz(s: RecordNetwork, e: RecordNetwork, p: Packet): { why: string; src: string } | undefined {
    for (const fw of this.firewallsOf(s.id, "primary")) {
      for (const dmz of fw.networks.map((n) => this.networks.get(n)).filter((n): n is RecordNetwork => n !== undefined)) {
        const edges = this.dmzExits(dmz, e).filter((edge) => edge.id !== fw.id);
        const first = edges.length > 0 ? this.admits(fw.id, "egress", p.dst, p) : undefined;
        if (!first) continue;
        const src = this.addressIn(fw, dmz.id) ?? p.src;
        for (const edge of edges) {
          const second = this.admits(edge.id, "egress", p.dst, { ...p, src });
          if (second) return { why: `firewall ${fw.id} (${first}) into ${dmz.id}, firewall ${edge.id} (${second}) out to ${e.id}`, src: e.nat ? (this.addressIn(edge, e.id) ?? src) : src };
        }
      }
    }
    return undefined;
  }

  /**
   * Whether a prefix may be in the routing table of a network's VRF on a device: what the network
   * may reach (its own, its peers', through its firewalls), or for an external network its own
   * prefixes and the outside; on a firewall also what its attached networks exchange.
   */
  expected(network: RecordNetwork, prefix: string, device: { firewall?: RecordMachine }): boolean {
    const p = prefixOf(prefix);
    if (!p) return false;
    // A default route is expected as itself; it does not make every more specific route expected.
    const inside = (list: readonly string[]) => list.some((x) => {
      const q = prefixOf(x);
      return q !== undefined && q.family === p.family && q.length <= p.length && (q.length > 0 || p.length === 0) && within(prefix.split("/")[0]!, x);
    });
    const nets = [...this.networks.values()];
    const ownAddresses = [...this.holders.entries()].filter(([, m]) => m.role === "machine" && this.primary(m)?.id === network.id).map(([a]) => a);
    if (inside(network.prefixes) || ownAddresses.some((a) => within(a, prefix) && p.length === (a.includes(":") ? 128 : 32))) return true;
    const reachable: string[] = [];
    // A network's own external peers: what they may announce, and the link to them.
    for (const x of this.records.peerings) if (x.external && x.network1 === network.id) reachable.push(...x.external.remotePrefixes, x.external.localAddress);
    for (const other of nets) {
      if (!this.peered(network.id, other.id)) continue;
      if (other.kind === "external") reachable.push(...other.prefixes, ...other.destinationPrefixes);
      else if (network.kind !== "external") reachable.push(...other.prefixes);
      else reachable.push(...this.addressesOf(other, network));
    }
    if (network.kind === "external") reachable.push(...network.destinationPrefixes.filter((d) => !this.overlapsTenants(d) || prefixOf(d)!.length === 0));
    const fw = device.firewall;
    if (fw && fw.networks.includes(network.id)) for (const n of fw.networks) reachable.push(...(this.networks.get(n)?.prefixes ?? []), ...(this.networks.get(n)?.destinationPrefixes ?? []));
    for (const f of this.firewallsOf(network.id, "primary")) for (const n of f.networks) reachable.push(...(this.networks.get(n)?.prefixes ?? []), ...(this.networks.get(n)?.destinationPrefixes ?? []));
    for (const f of this.firewallsOf(network.id, "attached")) {
      const primary = this.primary(f);
      if (!primary) continue;
      // A shared network takes the firewall's primary fabric-wide; an external one only on the
      // firewall itself (no-export), and elsewhere only what the project publishes there.
      if (network.kind !== "external" || device.firewall?.id === f.id) reachable.push(...primary.prefixes);
      else reachable.push(...this.addressesOf(primary, network));
    }
    for (const e of nets.filter((x) => x.kind === "external" && this.dmzExits(network, x).length > 0)) reachable.push(...e.prefixes, ...e.destinationPrefixes);
    return inside(reachable) || (network.kind === "external" && !this.overlapsTenants(prefix));
  }

  /** The addresses `holderNetwork`'s machines hold in `e`. */
  private addressesOf(holderNetwork: RecordNetwork, e: RecordNetwork): string[] {
    return [...this.holders.entries()].filter(([a, m]) => m.role === "machine" && this.primary(m)?.id === holderNetwork.id && inAny(a, e.prefixes)).map(([a]) => a);
  }

  private overlapsTenants(prefix: string): boolean {
    const p = prefixOf(prefix);
    if (!p) return false;
    return [...this.networks.values()].filter((n) => n.kind !== "external").some((n) => n.prefixes.some((x) => {
      const q = prefixOf(x);
      return q !== undefined && q.family === p.family && (within(x.split("/")[0]!, prefix) || within(prefix.split("/")[0]!, x));
    }));
  }
}
