// A leaf's or exit switch's configuration against the records: every port, neighbor, filter,
// import and VRF accounted for. What a port may carry comes from the connection map and the
// allocations; what a VRF may import from the peerings; what an external peer may announce from
// its peering record.
import type { AddressFamily, BgpInstance, FrrConfig } from "./frr.js";
import { P, hostRoute, type FactIndex } from "./facts.js";
import { MGMT_VRF, type Interfaces } from "./interfaces.js";
import { admitsForbidden, covering, rangeText, withinAny, exactly, type Range } from "./prefixes.js";
import { readRouteMap } from "./routemaps.js";
import { checkImports, checkRouteMapInventory, type Report } from "./common.js";

const MACHINE = "MACHINE";
const FABRIC = "FABRIC";
const FIREWALL = "FIREWALL";
const isTenantVrf = (vrf: string) => /^vrf\d+$/.test(vrf);
const ranges = (list: (Range | undefined)[]) => list.filter((r): r is Range => r !== undefined);

/** A neighbor's setting in a family: its own, else its peer group's. */
function setting<T>(af: AddressFamily, bgp: BgpInstance, neighbor: string, get: (name: string) => T | undefined): T | undefined {
  return get(neighbor) ?? (bgp.neighbors.get(neighbor)?.peerGroup ? get(bgp.neighbors.get(neighbor)!.peerGroup!) : undefined);
}

/** Whether a neighbor exchanges routes in an IP family: activated (itself or its group), or IPv4 by default. */
function active(af: AddressFamily, bgp: BgpInstance, neighbor: string): boolean {
  if (setting(af, bgp, neighbor, (n) => (af.activated.has(n) ? true : undefined))) return true;
  return af.name === "ipv4 unicast" && !bgp.noDefaultIpv4;
}

const familyOfAf = (af: AddressFamily) => (af.name === "ipv6 unicast" ? 6 : 4);

/** The inbound (or outbound) filter of a neighbor in a family, checked to admit only `allowed` and nothing `forbidden`. */
function checkFilter(config: FrrConfig, bgp: BgpInstance, af: AddressFamily, neighbor: string, direction: "in" | "out", allowed: Range[], forbidden: Range[], who: string, report: Report): void {
  const binding = setting(af, bgp, neighbor, (n) => af.routeMaps.find((r) => r.neighbor === n && r.direction === direction));
  if (!binding) {
    report(P.ingress, af.line, `neighbor ${neighbor} (${af.name})`, `no ${direction === "in" ? "inbound" : "outbound"} filter: ${who} ${direction === "in" ? "could announce" : "would be sent"} anything`);
    return;
  }
  const rm = readRouteMap(config, binding.name);
  if (!rm.exists) report(P.ingress, binding.line, `route-map ${binding.name}`, `the ${direction === "in" ? "inbound" : "outbound"} route map of ${neighbor} is not defined`);
  for (const u of rm.undefinedLists) report(P.ingress, u.line, `prefix-list ${u.name}`, `route map ${binding.name} matches a prefix list that is not defined (or of the other family)`);
  for (const p of rm.permits) {
    const e = p.entry;
    if (e.sourceVrf || e.evpnVni !== undefined || e.extcommunity || e.interface || e.asPath || e.noExport || e.weight !== undefined) report(P.understood, e.line, `route-map ${binding.name} permit ${e.seq}`, "a condition or action a session filter never has");
    if (!p.admitted) {
      report(P.ingress, e.line, `route-map ${binding.name} permit ${e.seq}`, `permits everything ${direction === "in" ? `${who} announces` : `towards ${who}`}`);
      continue;
    }
    for (const a of p.admitted) {
      if (a.range.prefix.family !== familyOfAf(af)) continue;
      if (!withinAny(a.range, allowed)) report(P.ingress, a.line, rangeText(a.range), `${neighbor} ${direction === "in" ? `accepts ${rangeText(a.range)} from` : `sends ${rangeText(a.range)} to`} ${who}, outside ${allowed.map(rangeText).join(", ") || "nothing"}`);
      else if (admitsForbidden(a, forbidden)) report(P.ingress, a.line, rangeText(a.range), `${neighbor} accepts ${rangeText(a.range)} from ${who} without first refusing Bulkhead's own prefixes: a hijack`);
    }
  }
}

/** The regular expression the renderer uses for "every route-target of one of these VNIs", read back; undefined when it is not of that form. */
export function routeTargetVnis(regex: string): number[] | undefined {
  const m = /^\^\(\(\[\^R \]\[\^ \]\*\|R\[\^T \]\[\^ \]\*\|RT\[\^:\]\[\^ \]\*\|RT:\[0-9\.\]\+:\(([\d|]+)\)\) \)\*RT:\[0-9\.\]\+:\(([\d|]+)\)\( \(\[\^R \]\[\^ \]\*\|R\[\^T \]\[\^ \]\*\|RT\[\^:\]\[\^ \]\*\|RT:\[0-9\.\]\+:\(([\d|]+)\)\)\)\*\$$/.exec(regex);
  if (!m || m[1] !== m[2] || m[2] !== m[3]) return undefined;
  return m[1]!.split("|").map(Number);
}

function checkFirewallEvpn(config: FrrConfig, evpn: AddressFamily, port: string, vnis: number[], owner: string, report: Report): void {
  const out = evpn.routeMaps.find((r) => r.direction === "out" && r.neighbor === port);
  if (!out) report(P.ingress, evpn.line, `neighbor ${port} (l2vpn evpn)`, `no outbound VNI filter: ${owner} would receive every tenant's routes`);
  else
    for (const p of readRouteMap(config, out.name).permits) {
      const e = p.entry;
      if (e.evpnVni === undefined) report(P.ingress, e.line, `route-map ${out.name} permit ${e.seq}`, `sends ${owner} routes of every VNI`);
      else if (!vnis.includes(e.evpnVni)) report(P.ingress, e.line, `route-map ${out.name} permit ${e.seq}`, `sends ${owner} the routes of VNI ${e.evpnVni}, which it does not serve`);
    }
  const inbound = evpn.routeMaps.find((r) => r.direction === "in" && r.neighbor === port);
  if (!inbound) {
    report(P.ingress, evpn.line, `neighbor ${port} (l2vpn evpn)`, `no inbound EVPN filter: ${owner} (its OS is the tenant's) could inject routes into any VRF or the PXE segment`);
    return;
  }
  for (const p of readRouteMap(config, inbound.name).permits) {
    const e = p.entry;
    const object = `route-map ${inbound.name} permit ${e.seq}`;
    if (e.evpnRouteType !== "prefix") report(P.ingress, e.line, object, `accepts EVPN routes other than type 5 from ${owner}`);
    if (e.evpnVni === undefined || !vnis.includes(e.evpnVni)) report(P.ingress, e.line, object, `accepts routes of ${e.evpnVni === undefined ? "every VNI" : `VNI ${e.evpnVni}, which ${owner} does not serve`}`);
    const list = e.extcommunity ? config.extcommunityLists.get(e.extcommunity) : undefined;
    const allowed = list && list.length === 1 ? routeTargetVnis(list[0]!.regex) : undefined;
    if (!allowed) report(P.ingress, e.line, object, `does not limit the route-targets ${owner} may set (no extcommunity list of the VNIs it serves): routes could be imported into any VRF`);
    else if (allowed.some((v) => !vnis.includes(v))) report(P.ingress, list![0]!.line, `bgp extcommunity-list ${e.extcommunity}`, `admits route-targets of VNIs ${allowed.filter((v) => !vnis.includes(v)).join(", ")}, which ${owner} does not serve`);
    if (p.admitted) report(P.understood, e.line, object, "an EVPN filter that also matches prefix lists");
  }
}

export function checkSwitch(device: string, config: FrrConfig, ifaces: Interfaces | undefined, facts: FactIndex, report: Report, reportIfaces: Report): void {
  const sw = facts.switches.get(device);
  if (!sw) report(P.understood, 0, `switch ${device}`, "no switch of this partition has this name");
  const uplinks = new Set(sw?.uplinks ?? []);
  const portOwner = (port: string) => facts.machinePorts.get(`${device}|${port}`);
  const firewallOn = (port: string) => facts.firewallPorts.get(`${device}|${port}`);

  // Interfaces in VRFs.
  for (const [name, i] of config.interfaces) {
    const m = portOwner(name);
    if (m && i.vrf !== `vrf${m.network.vrf}`) report(P.ingress, i.line, `interface ${name}`, `machine ${m.machine.id} on ${name} is in ${i.vrf}, its network ${m.network.id} is in vrf${m.network.vrf}`);
    if (!m && isTenantVrf(i.vrf)) report(P.ingress, i.line, `interface ${name}`, `${name} is in ${i.vrf}, but no installed machine of that network is cabled there`);
    if (uplinks.has(name) && i.vrf !== "default") report(P.infrastructure, i.line, `interface ${name}`, `fabric port ${name} is in ${i.vrf}`);
  }

  for (const bgp of config.bgp) {
    const tenant = bgp.vrf === "default" ? undefined : facts.networkOfVrf(bgp.vrf);
    if (bgp.vrf !== "default" && !tenant) report(P.identifiers, bgp.line, `router bgp ${bgp.asn} vrf ${bgp.vrf}`, `${bgp.vrf} belongs to no network`);
    for (const n of bgp.neighbors.values()) {
      if (n.isGroup) {
        const known = bgp.vrf === "default" ? [FABRIC, FIREWALL] : [MACHINE];
        if (!known.includes(n.name)) report(P.understood, n.line, `neighbor ${n.name} peer-group`, `an unknown peer group in ${bgp.vrf}`);
        continue;
      }
      if (n.peerGroup === FABRIC && bgp.vrf === "default" && uplinks.has(n.name)) continue;
      if (n.peerGroup === FIREWALL && bgp.vrf === "default" && firewallOn(n.name)) continue;
      const m = portOwner(n.name);
      if (n.peerGroup === MACHINE && m && tenant?.id === m.network.id) continue;
      const session = facts.sessionTo(device, n.name);
      if (!n.peerGroup && session && tenant?.id === session.network.id) continue;
      report(P.ingress, n.line, `neighbor ${n.name}`, m ? `machine ${m.machine.id} on ${n.name} belongs in vrf${m.network.vrf} (MACHINE group), not ${bgp.vrf}${n.peerGroup ? ` (${n.peerGroup})` : ""}` : `a BGP session in ${bgp.vrf} on ${n.name}, which no record accounts for (no installed machine, firewall, uplink or external peering there)`);
    }
    for (const af of bgp.families.values()) {
      if (af.name === "l2vpn evpn") {
        if (bgp.vrf !== "default") {
          if (af.activated.size + af.routeMaps.length + af.imports.length > 0 || af.advertiseAllVni) report(P.understood, af.line, `address-family l2vpn evpn in ${bgp.vrf}`, "a tenant VRF's EVPN family only advertises its routes");
          continue;
        }
        for (const [name, line] of af.activated) if (name !== FABRIC && name !== FIREWALL && !uplinks.has(name) && !firewallOn(name)) report(P.ingress, line, `neighbor ${name} activate (l2vpn evpn)`, "EVPN with a neighbor that is neither fabric nor firewall");
        for (const [key, fw] of [...facts.firewallPorts].filter(([k]) => k.startsWith(`${device}|`))) checkFirewallEvpn(config, af, key.split("|")[1]!, fw.vnis, `firewall ${fw.firewall.id}`, report);
        continue;
      }
      for (const r of af.redistribute) {
        if (r.what !== "connected") report(P.infrastructure, r.line, `redistribute ${r.what}`, `redistributes ${r.what} routes in ${bgp.vrf}`);
        else if (bgp.vrf === "default") {
          if (!r.routeMap) report(P.infrastructure, r.line, "redistribute connected", `the underlay redistributes every connected network (${af.name}) without a route map`);
          else checkRouteMapInventory(config, r.routeMap, r.line, "loopbacks", report);
        } else if (r.routeMap) report(P.understood, r.line, `redistribute connected route-map ${r.routeMap}`, "a tenant VRF redistributes its connected routes unfiltered or not at all");
      }
      if (bgp.vrf === "default") {
        for (const i of af.imports) report(P.infrastructure, i.line, `import vrf ${i.vrf}`, `the default VRF imports ${i.vrf}: tenant routes would reach the underlay`);
        for (const [key, fw] of [...facts.firewallPorts].filter(([k]) => k.startsWith(`${device}|`))) {
          const port = key.split("|")[1]!;
          if (!bgp.neighbors.has(port) || !active(af, bgp, port)) continue;
          checkFilter(config, bgp, af, port, "in", ranges(fw.underlay.map(exactly)), [], `firewall ${fw.firewall.id}`, report);
        }
        continue;
      }
      if (!tenant) continue;
      checkImports(device, bgp, af, config, tenant, (from) => ({ export: facts.switchImport(tenant, from), noExport: [] }), facts, report);
      // Every neighbor active in this family: filtered to its entitlement and bounded.
      for (const n of bgp.neighbors.values()) {
        if (n.isGroup || !active(af, bgp, n.name)) continue;
        const m = portOwner(n.name);
        const session = facts.sessionTo(device, n.name);
        if (m) {
          checkFilter(config, bgp, af, n.name, "in", m.allowed, [], `machine ${m.machine.id}`, report);
          if (!setting(af, bgp, n.name, (x) => af.maximumPrefix.get(x))) report(P.ingress, af.line, `neighbor ${n.name} (${af.name})`, `no maximum-prefix on the session of machine ${m.machine.id}`);
        } else if (session) {
          if (session.session.remoteAddress.includes(":") !== (familyOfAf(af) === 6)) {
            report(P.ingress, af.line, `neighbor ${n.name} (${af.name})`, `the external session ${n.name} is active in ${af.name}, a family it does not carry (the peer's announcements there are unfiltered)`);
            continue;
          }
          checkFilter(config, bgp, af, n.name, "in", ranges(session.session.remotePrefixes.map((p) => covering(p, false))), [...facts.owned, ...tenantRanges(facts)], `the external peer ${n.name}`, report);
          checkFilter(config, bgp, af, n.name, "out", ranges(session.network.prefixes.map((p) => covering(p))), [], `the external peer ${n.name}`, report);
          const max = af.maximumPrefix.get(n.name);
          if (!max) report(P.ingress, af.line, `neighbor ${n.name} (${af.name})`, "no maximum-prefix on an external session");
          else if (max.limit > session.session.maximumPrefixes) report(P.ingress, max.line, `neighbor ${n.name} maximum-prefix ${max.limit}`, `more than the ${session.session.maximumPrefixes} the peering allows`);
        }
      }
    }
  }
  if (ifaces) checkSwitchInterfaces(device, config, ifaces, facts, reportIfaces);
}

const tenantRanges = (facts: FactIndex) => ranges(facts.facts.networks.filter((n) => n.kind === "private" || n.kind === "shared").flatMap((n) => n.prefixes.map((p) => covering(p, false))));

export const PXE_VNIS = (facts: FactIndex) => new Set(facts.facts.reservedVnis);

function checkSwitchInterfaces(device: string, config: FrrConfig, ifaces: Interfaces, facts: FactIndex, report: Report): void {
  const sw = facts.switches.get(device);
  const uplinks = new Set(sw?.uplinks ?? []);
  const reserved = PXE_VNIS(facts);
  const sessions = facts.sessionsOf(device);
  const svis = new Map([...ifaces.ifaces.values()].filter((i) => i.kind === "svi" && i.vlanId !== undefined).map((i) => [i.vlanId!, i]));
  const vrfOfVni = new Map([...config.vrfs].filter(([, v]) => v.vni !== undefined).map(([name, v]) => [v.vni!, name]));
  const pxeVlans = new Set<number>();
  for (const i of ifaces.ifaces.values()) {
    if (i.kind === "management" && i.vrf !== MGMT_VRF) report(P.infrastructure, i.line, `iface ${i.name}`, `the management interface is in ${i.vrf ?? "the default VRF"}, not ${MGMT_VRF}: the management network would be reachable from the fabric`);
    else if (i.kind !== "management" && i.vrf === MGMT_VRF) report(P.infrastructure, i.line, `iface ${i.name}`, `${i.name} is in the management VRF`);
    if (i.kind === "vrf" && i.vxlanId !== undefined && config.vrfs.get(i.name)?.vni !== i.vxlanId) report(P.identifiers, i.line, `vrf ${i.name}`, `${i.name} carries VNI ${i.vxlanId} in the interface configuration and ${config.vrfs.get(i.name)?.vni ?? "none"} in frr.conf`);
    if (i.kind === "loopback") {
      if (sw && !i.addresses.every((a) => a === hostRoute(sw.routerId))) report(P.identifiers, i.line, "iface lo", `the loopback carries ${i.addresses.join(", ")}, the switch's router id is ${sw.routerId}`);
      if (sw && i.tunnelIp !== sw.routerId) report(P.identifiers, i.line, "iface lo", `the VTEP address ${i.tunnelIp ?? "(none)"} is not the switch's router id ${sw.routerId}`);
    } else if (i.kind === "vxlan") {
      if (i.vxlanId === undefined || i.bridgeAccess === undefined) {
        report(P.identifiers, i.line, `iface ${i.name}`, `VXLAN device ${i.name} has no VNI or no VLAN`);
        continue;
      }
      const svi = svis.get(i.bridgeAccess);
      const vrf = vrfOfVni.get(i.vxlanId);
      if (reserved.has(i.vxlanId)) {
        pxeVlans.add(i.bridgeAccess);
        if (vrf) report(P.identifiers, config.vrfs.get(vrf)!.line, `vrf ${vrf}`, `${vrf} uses VNI ${i.vxlanId}, which the fabric reserves (PXE)`);
        if (svi?.vrf) report(P.identifiers, svi.line, `iface ${svi.name}`, `the PXE VLAN's SVI is in ${svi.vrf}`);
      } else if (!vrf) report(P.identifiers, i.line, `iface ${i.name}`, `VNI ${i.vxlanId} is no VRF's here (a layer-2 segment outside the records)`);
      else if (!svi || svi.vrf !== vrf) report(P.identifiers, svi?.line ?? i.line, `iface ${svi?.name ?? i.name}`, `VLAN ${i.bridgeAccess} carries VNI ${i.vxlanId} (${vrf}) but its SVI is in ${svi?.vrf ?? "no VRF"}`);
    }
  }
  const vlanUsers = new Map<number, number>();
  for (const i of ifaces.ifaces.values()) if (i.kind === "vxlan" && i.bridgeAccess !== undefined) vlanUsers.set(i.bridgeAccess, (vlanUsers.get(i.bridgeAccess) ?? 0) + 1);
  for (const [vlan, count] of vlanUsers) if (count > 1) report(P.identifiers, svis.get(vlan)?.line ?? 0, `vlan ${vlan}`, `VLAN ${vlan} carries ${count} VNIs`);
  for (const i of ifaces.ifaces.values()) {
    if (i.kind !== "port") continue;
    const m = facts.machinePorts.get(`${device}|${i.name}`);
    const fw = facts.firewallPorts.get(`${device}|${i.name}`);
    const session = sessions.find((s) => s.session.port === i.name);
    const object = `iface ${i.name}`;
    if (i.down) continue;
    if (uplinks.has(i.name) || fw) {
      if (i.vrf || i.bridgeAccess !== undefined || i.addresses.length > 0) report(P.infrastructure, i.line, object, `${uplinks.has(i.name) ? "fabric" : "firewall"} port ${i.name} is not a plain routed port of the default VRF`);
    } else if (m) {
      if (i.vrf !== `vrf${m.network.vrf}`) report(P.ingress, i.line, object, `machine ${m.machine.id} on ${i.name} is in ${i.vrf ?? "no VRF"}, its network ${m.network.id} is in vrf${m.network.vrf}`);
      if (i.bridgeAccess !== undefined) report(P.ingress, i.line, object, `installed machine ${m.machine.id} on ${i.name} is a bridge port of VLAN ${i.bridgeAccess}`);
    } else if (session) {
      if (i.vrf !== `vrf${session.network.vrf}` || i.addresses.join() !== session.session.localAddress) report(P.ingress, i.line, object, `the external session port ${i.name} is not in vrf${session.network.vrf} with ${session.session.localAddress}`);
    } else if (i.vrf || i.addresses.length > 0) report(P.ingress, i.line, object, `${i.name} is in ${i.vrf ?? "the default VRF with an address"}, but no record puts anything there`);
    else if (i.bridgeAccess !== undefined && !pxeVlans.has(i.bridgeAccess)) report(P.ingress, i.line, object, `${i.name} is an access port of VLAN ${i.bridgeAccess}, not of the PXE segment`);
  }
}

