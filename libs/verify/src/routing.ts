// Properties 2–4 over one device's FRR configuration: what may enter each tenant VRF (imports),
// what machines and firewalls may announce (ingress), and that the infrastructure stays out of
// tenant VRFs.
import type { BgpInstance, FrrConfig } from "./frr.js";
import { P, prefixesOf, touches, within, type FactIndex } from "./facts.js";
import { readRouteMap } from "./routemaps.js";

const FRR = "frr/frr.conf";
const isTenantVrf = (vrf: string) => /^vrf\d+$/.test(vrf);

type Report = (property: string, line: number, object: string, message: string) => void;

/** Property 2: imports only from networks allowed to exchange routes, only their own routes, through a route map. */
export function checkImports(device: string, kind: "switch" | "firewall", config: FrrConfig, facts: FactIndex, report: Report): void {
  for (const bgp of config.bgp) {
    for (const af of bgp.families.values()) {
      if (af.imports.length === 0) continue;
      if (!isTenantVrf(bgp.vrf)) {
        for (const i of af.imports) report(P.infrastructure, i.line, `import vrf ${i.vrf}`, `the ${bgp.vrf} VRF imports ${i.vrf}: tenant routes would reach the underlay`);
        continue;
      }
      const own = facts.networkOfVrf(bgp.vrf);
      for (const i of af.imports) {
        if (i.vrf === "default" || !isTenantVrf(i.vrf)) {
          report(P.infrastructure, i.line, `import vrf ${i.vrf}`, `${bgp.vrf} imports the ${i.vrf} VRF: the underlay would reach a tenant`);
          continue;
        }
        const source = facts.networkOfVrf(i.vrf);
        const allowed = own && source && (kind === "switch" ? facts.peered(own.id, source.id) : facts.firewalls.get(device)?.has(own.id) && facts.firewalls.get(device)?.has(source.id));
        if (!allowed) report(P.imports, i.line, `import vrf ${i.vrf}`, `${bgp.vrf} (${own?.id ?? "unknown network"}) imports ${i.vrf} (${source?.id ?? "unknown network"}), which it is not ${kind === "switch" ? "peered with" : "attached with on this firewall"}`);
      }
      if (!af.importRouteMap) {
        report(P.imports, af.imports[0]!.line, `import vrf in ${bgp.vrf} ${af.name}`, `${bgp.vrf} imports without a route map: every route of the imported VRFs enters, including what they imported themselves`);
        continue;
      }
      const rm = readRouteMap(config, af.importRouteMap.name);
      if (!rm.exists) report(P.imports, af.importRouteMap.line, `route-map ${af.importRouteMap.name}`, `the import route map of ${bgp.vrf} is not defined`);
      for (const e of rm.unconditional) report(P.imports, e.line, `route-map ${af.importRouteMap.name} permit ${e.seq}`, `permits ${e.sourceVrf ? `every route of ${e.sourceVrf}` : "every imported route"} without a prefix list`);
      for (const p of rm.prefixes) {
        const source = p.sourceVrf ? facts.networkOfVrf(p.sourceVrf) : undefined;
        if (!p.sourceVrf) {
          report(P.imports, p.line, p.text, `${bgp.vrf} permits ${p.text} from any imported VRF (no match source-vrf)`);
          continue;
        }
        if (!af.imports.some((i) => i.vrf === p.sourceVrf)) continue; // matches nothing that is imported
        // A firewall's VRF also gets its own routes back from the networks it leaks them into.
        const limit = source ? [...facts.routesOf(source), ...(kind === "firewall" && own ? facts.routesOf(own) : [])] : [];
        if (!within(p.prefix, limit)) report(P.imports, p.line, p.text, `${bgp.vrf} lets ${p.text} in from ${p.sourceVrf}, which is not ${source?.id ?? "a known network"}'s own: a transitive or foreign leak`);
        if (touches(p.prefix, facts.infrastructure) && !(source && source.destinationPrefixes.length > 0 && within(p.prefix, facts.routesOf(source)))) report(P.infrastructure, p.line, p.text, `${bgp.vrf} lets infrastructure addresses (${p.text}) in`);
      }
    }
  }
}

const groupOf = (bgp: BgpInstance, neighbor: string) => bgp.neighbors.get(neighbor)?.peerGroup;

/** Property 3: every machine-facing session filters inbound to the machine's allocation and has a maximum-prefix; firewall ports likewise to the firewall's underlay addresses and VNIs. */
export function checkIngress(device: string, config: FrrConfig, facts: FactIndex, report: Report): void {
  for (const bgp of config.bgp) {
    for (const neighbor of bgp.neighbors.values()) {
      if (neighbor.isGroup || neighbor.peerGroup === "FABRIC") continue;
      const machine = facts.machinePorts.get(`${device}|${neighbor.name}`);
      const firewall = facts.firewallPorts.get(`${device}|${neighbor.name}`);
      if (!machine && !firewall) {
        if (isTenantVrf(bgp.vrf) && !/^\d|:/.test(neighbor.name)) report(P.ingress, neighbor.line, `neighbor ${neighbor.name}`, `a BGP session in ${bgp.vrf} on ${neighbor.name}, where no allocated machine is cabled`);
        continue;
      }
      if (machine) {
        const network = facts.byId.get(machine.network);
        if (!network || `vrf${network.vrf}` !== bgp.vrf) report(P.ingress, neighbor.line, `neighbor ${neighbor.name}`, `machine ${machine.machine} on ${neighbor.name} is in ${bgp.vrf}, its network ${machine.network} is in vrf${network?.vrf ?? "?"}`);
      }
      if (firewall && bgp.vrf !== "default") report(P.ingress, neighbor.line, `neighbor ${neighbor.name}`, `firewall ${firewall.firewall} on ${neighbor.name} has a session in ${bgp.vrf}, not in the underlay`);
      const allowed = machine ? machine.allowed : firewall!.underlay;
      const owner = machine ? `machine ${machine.machine}` : `firewall ${firewall!.firewall}`;
      for (const af of bgp.families.values()) {
        if (!af.name.startsWith("ipv")) continue;
        const activated = af.activated.has(neighbor.name) || af.activated.has(groupOf(bgp, neighbor.name) ?? "") || af.name === "ipv4 unicast";
        if (!activated) continue;
        const inbound = af.routeMaps.find((r) => r.direction === "in" && (r.neighbor === neighbor.name || r.neighbor === groupOf(bgp, neighbor.name)));
        if (!inbound) {
          report(P.ingress, af.line, `neighbor ${neighbor.name} (${af.name})`, `no inbound filter: ${owner} could announce anything`);
          continue;
        }
        const rm = readRouteMap(config, inbound.name);
        if (!rm.exists) report(P.ingress, inbound.line, `route-map ${inbound.name}`, `the inbound route map of ${neighbor.name} is not defined`);
        for (const e of rm.unconditional) report(P.ingress, e.line, `route-map ${inbound.name} permit ${e.seq}`, `permits everything ${owner} announces`);
        const allowedPrefixes = allowed.map((a) => (a.includes("/") ? a : `${a}/${a.includes(":") ? 128 : 32}`));
        const limit = prefixesOf(allowedPrefixes);
        for (const p of rm.prefixes) if (!within(p.prefix, limit)) report(P.ingress, p.line, p.text, `${neighbor.name} accepts ${p.text} from ${owner}, outside what it may announce (${allowedPrefixes.join(", ") || "nothing"})`);
        if (machine && !af.maximumPrefix.has(neighbor.name) && !af.maximumPrefix.has(groupOf(bgp, neighbor.name) ?? "")) report(P.ingress, af.line, `neighbor ${neighbor.name} (${af.name})`, `no maximum-prefix on the session of ${owner}`);
      }
      if (firewall) checkFirewallVnis(config, bgp, neighbor.name, firewall.vnis, owner, report);
    }
  }
}

function checkFirewallVnis(config: FrrConfig, bgp: BgpInstance, neighbor: string, vnis: number[], owner: string, report: Report): void {
  const evpn = bgp.families.get("l2vpn evpn");
  if (!evpn) return;
  const outbound = evpn.routeMaps.find((r) => r.direction === "out" && r.neighbor === neighbor);
  if (!outbound) {
    report(P.ingress, evpn.line, `neighbor ${neighbor} (l2vpn evpn)`, `no outbound VNI filter: ${owner} would receive every tenant's routes`);
    return;
  }
  for (const e of config.routeMaps.get(outbound.name) ?? []) {
    if (e.action !== "permit") continue;
    const vni = e.otherMatches.map((m) => /^evpn vni (\d+)$/.exec(m)?.[1]).find(Boolean);
    if (!vni) report(P.ingress, e.line, `route-map ${outbound.name} permit ${e.seq}`, `sends ${owner} routes of every VNI`);
    else if (!vnis.includes(Number(vni))) report(P.ingress, e.line, `route-map ${outbound.name} permit ${e.seq}`, `sends ${owner} the routes of VNI ${vni}, which it does not serve`);
  }
}

/** Property 4: the default VRF announces only loopbacks; no interface of the fabric in a tenant VRF. */
export function checkInfrastructure(config: FrrConfig, report: Report): void {
  const fabricPorts = new Set<string>();
  for (const bgp of config.bgp) {
    if (bgp.vrf !== "default") continue;
    for (const n of bgp.neighbors.values()) if (n.peerGroup === "FABRIC") fabricPorts.add(n.name);
    for (const af of bgp.families.values()) {
      for (const r of af.redistribute) if (r.what === "connected" && !r.routeMap) report(P.infrastructure, r.line, "redistribute connected", `the underlay redistributes every connected network (${af.name}) without a route map`);
    }
  }
  for (const [name, iface] of config.interfaces) {
    if (fabricPorts.has(name) && iface.vrf !== "default") report(P.infrastructure, iface.line, `interface ${name}`, `fabric port ${name} is in ${iface.vrf}`);
  }
}

export const FRR_PATH = FRR;
