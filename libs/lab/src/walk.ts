// Follows a packet through the real routers' routing tables, hop by hop: longest-prefix match in
// the VRF it is in; a next hop in another VRF (a leak) continues there; a next hop over the SVI of
// an L3VNI is an EVPN hop to the router owning that VTEP, into its VRF of the same VNI; a next hop
// on a cabled port continues at the router on the other end. Crossing VRFs on a firewall asks its
// nftables ruleset (forward hook), and NAT rewrites the source as its postrouting chain says;
// VXLAN into a firewall asks its input hook. Ends delivered, dropped, or at an external peer.
import { addressOf, familyOf, longestMatch, plainAddress } from "./addresses.js";
import type { Nexthop, LabRun, Route } from "./run.js";
import type { LabPlan, RouterPlan } from "./plan.js";
import { Ruleset } from "./nft.js";
import type { Packet } from "./oracle.js";

export interface Hop {
  router: string;
  vrf: string;
  /** What the router did: the route it used, or why it stopped. */
  note: string;
}

export interface Walk {
  result: "delivered" | "dropped";
  /** Where it was delivered (a machine, an external peer, a router's own address), or dropped. */
  at: string;
  path: Hop[];
  reason: string;
}

interface State {
  router: RouterPlan;
  vrf: string;
  iif: string;
  packet: Packet;
  path: Hop[];
}

const MAX_HOPS = 32;

export class Walker {
  private readonly routers = new Map<string, RouterPlan>();
  private readonly byVtep = new Map<string, RouterPlan>();
  private readonly rulesets = new Map<string, Ruleset>();
  /** Lab errors met while walking (things the walker could not interpret). */
  readonly errors = new Set<string>();

  constructor(
    plan: LabPlan,
    private readonly run: LabRun,
    private readonly isOutside: (address: string) => boolean,
  ) {
    for (const r of plan.routers) {
      this.routers.set(r.name, r);
      if (r.vtep) this.byVtep.set(r.vtep, r);
    }
    for (const [fw, json] of Object.entries(run.nft)) this.rulesets.set(fw, new Ruleset(json));
  }

  /** Walks a packet from a router (a machine or an external peer), in its default VRF. */
  walk(from: string, packet: Packet): Walk {
    const router = this.routers.get(from)!;
    const results = this.step({ router, vrf: "default", iif: "lo", packet, path: [] }, new Set());
    return results.find((r) => r.result === "delivered") ?? results[0] ?? { result: "dropped", at: from, path: [], reason: "no path" };
  }

  private table(r: RouterPlan, vrf: string): Record<string, Route[]> {
    return this.run.routers[r.name]?.routes[vrf] ?? {};
  }

  private ownsAddress(r: RouterPlan, address: string): boolean {
    return r.loopback.some((a) => plainAddress(a) === plainAddress(address));
  }

  private step(s: State, seen: Set<string>): Walk[] {
    const { router: r, vrf, packet } = s;
    const here = (note: string): Hop[] => [...s.path, { router: r.name, vrf, note }];
    const dropped = (reason: string): Walk[] => [{ result: "dropped", at: `${r.name} ${vrf}`, path: here(reason), reason: `${r.name} (${vrf}): ${reason}` }];
    if (s.path.length > MAX_HOPS) return dropped("too many hops");
    const key = `${r.name}|${vrf}|${packet.src}|${packet.dst}`;
    if (seen.has(key)) return dropped("routing loop");
    seen = new Set(seen).add(key);
    // An external peer delivers what is outside; what it has a route back for (a published
    // address), it sends back in, as the internet would.
    if (r.kind === "external" && s.path.length > 0 && this.isOutside(packet.dst)) return [{ result: "delivered", at: r.name, path: here("to the outside"), reason: "" }];
    // A router's loopback answers in its default VRF only; in a VRF, its addresses are connected routes there.
    if (vrf === "default" && this.ownsAddress(r, packet.dst) && s.path.length > 0) {
      return [{ result: "delivered", at: r.name, path: here("its own address"), reason: "" }];
    }
    if (r.kind === "machine" && s.path.length > 0) return dropped(`a machine does not forward (${packet.dst} is not its address)`);
    const routes = this.table(r, vrf);
    const prefix = longestMatch(packet.dst, Object.keys(routes));
    const route = prefix ? routes[prefix]!.find((x) => x.selected) ?? routes[prefix]![0] : undefined;
    if (!route) return dropped(`no route to ${packet.dst}`);
    const nexthops = route.nexthops.filter((n) => n.active !== false);
    if (nexthops.length === 0 || route.nexthops.some((n) => n.blackhole || n.unreachable || n.reject)) return dropped(`${prefix} has no usable next hop`);
    return nexthops.flatMap((nh) => this.follow(s, route, nh, here(`${route.prefix} (${route.protocol})${nh.vrf && nh.vrf !== vrf ? ` leaked from ${nh.vrf}` : ""}`), seen));
  }

  private follow(s: State, route: Route, nh: Nexthop, path: Hop[], seen: Set<string>): Walk[] {
    const r = s.router;
    const vrf = nh.vrf ?? s.vrf;
    let packet = s.packet;
    const dropped = (reason: string): Walk[] => [{ result: "dropped", at: `${r.name} ${vrf}`, path, reason: `${r.name} (${vrf}): ${reason}` }];
    const iface = nh.interfaceName ?? "";
    // Leaving a VRF for another on a firewall: its forward hook decides.
    if (r.kind === "firewall" && vrf !== s.vrf) {
      const rules = this.rulesets.get(r.name);
      if (!rules) return dropped("no ruleset to decide the crossing");
      const p = { iif: s.iif, oif: iface || `vrf-${vrf}`, family: familyOf(packet.dst), saddr: packet.src, daddr: packet.dst, protocol: packet.protocol, dport: packet.port };
      const v = rules.verdict("forward", p);
      if (v.verdict === "unknown") {
        this.errors.add(`${r.name}: nftables ${v.what} is not understood by the lab`);
        return dropped(`the ruleset has ${v.what}, which the lab does not understand`);
      }
      path = [...path.slice(0, -1), { ...path.at(-1)!, note: `${path.at(-1)!.note}; forward ${s.iif} → ${p.oif}: ${v.verdict} (${v.rule})` }];
      if (v.verdict === "drop") return dropped(`the firewall drops ${s.iif} → ${p.oif} (${v.rule})`);
      const nat = rules.snat(p);
      if (nat) packet = { ...packet, src: "to" in nat ? nat.to : (this.sviAddress(r, vrf, iface, familyOf(packet.dst)) ?? packet.src) };
    }
    if (nh.directlyConnected) {
      if (iface === "lo" || this.ownsAddress(r, packet.dst)) return [{ result: "delivered", at: r.name, path, reason: "" }];
      const end = r.ports[iface];
      if (end?.peer) return this.next(this.routers.get(end.peer.router)!, this.routers.get(end.peer.router)!.ports[end.peer.port]?.vrf ?? "default", end.peer.port, packet, path, seen);
      return dropped(`${packet.dst} is on ${iface}, where no router is`);
    }
    const vni = this.run.routers[r.name]?.vnis.find((v) => v.vrf === vrf);
    if (vni && iface === vni.sviIntf && nh.ip) {
      const vtep = plainAddress(nh.ip);
      const remote = this.byVtep.get(vtep);
      if (!remote) return dropped(`EVPN next hop ${vtep} is no router's VTEP`);
      if (!longestMatch(vtep, Object.keys(this.table(r, "default")))) return dropped(`the underlay has no route to VTEP ${vtep}`);
      const remoteVrf = this.run.routers[remote.name]?.vnis.find((v) => v.vni === vni.vni);
      if (!remoteVrf) return dropped(`${remote.name} has no VRF for VNI ${vni.vni}`);
      if (remote.kind === "firewall") {
        const rules = this.rulesets.get(remote.name);
        const uplink = Object.entries(remote.ports).find(([, e]) => e.peer)?.[0] ?? "lan0";
        const v = rules?.verdict("input", { iif: uplink, oif: "", family: familyOf(r.vtep ?? "0.0.0.0"), saddr: r.vtep ?? "", daddr: vtep, protocol: "udp", dport: 4789 });
        if (!v || v.verdict !== "accept") return dropped(`firewall ${remote.name} drops VXLAN from ${r.vtep} (${v && "rule" in v ? v.rule : v && "what" in v ? v.what : "no ruleset"})`);
      }
      return this.next(remote, remoteVrf.vrf, remoteVrf.sviIntf, packet, path, seen);
    }
    const end = r.ports[iface];
    if (end?.peer) {
      const peer = this.routers.get(end.peer.router)!;
      return this.next(peer, peer.ports[end.peer.port]?.vrf ?? "default", end.peer.port, packet, path, seen);
    }
    this.errors.add(`${r.name} ${vrf}: next hop ${nh.ip ?? "-"} via ${iface || "-"} of ${route.prefix} is not understood by the lab`);
    return dropped(`next hop ${nh.ip ?? "-"} via ${iface || "-"} is not understood`);
  }

  private next(router: RouterPlan, vrf: string, iif: string, packet: Packet, path: Hop[], seen: Set<string>): Walk[] {
    return this.step({ router, vrf, iif, packet, path }, seen);
  }

  /** A firewall's address on the SVI it sends out of (what masquerading uses). */
  private sviAddress(r: RouterPlan, vrf: string, iface: string, family: 4 | 6): string | undefined {
    void iface;
    const table = this.table(r, vrf);
    for (const routes of Object.values(table)) {
      for (const route of routes) {
        if (route.protocol !== "connected" && route.protocol !== "local") continue;
        const nh = route.nexthops[0];
        const address = route.prefix.split("/")[0]!;
        if (nh?.interfaceName && familyOf(address) === family && addressOf(address)) return address;
      }
    }
    return undefined;
  }
}
