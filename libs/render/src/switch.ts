// A leaf (or exit) switch's desired state, from the switch view (ports and their roles), the
// route-leak plan (imports per VRF) and the external BGP sessions of the peering plan: `frr.conf`
// for both flavours, and the flavour's own interface configuration — an ifupdown2 `interfaces`
// file on Cumulus (cumulus.ts), a CONFIG_DB document on SONiC (sonic.ts). Pure and deterministic.
import { renderCumulusInterfaces } from "./cumulus.js";
import { FRR_HEADER, addressFamily, familyOf, joinConfig, loopbacksOnly, naturally, peerGroup, permits, prefixList, routeMap, sortedPrefixes, unnumberedInterface, type PrefixEntry, type RouteMapEntry } from "./frr.js";
import { renderConfigDb } from "./sonic.js";
import { assignVlans } from "./vlans.js";

export type SwitchPortRole = "fabric" | "unprovisioned" | "machine" | "firewall";

export interface SwitchPortModel {
  name: string;
  role: SwitchPortRole;
  /** Administratively down ports are left out of BGP and the bridge, and kept down. */
  adminUp: boolean;
  /** Machine ports: the VRF of the machine's primary network. */
  vrf: number;
  /** Machine ports: what the machine may announce; firewall ports: the firewall's underlay /32s. */
  allowedPrefixes: string[];
  /** Firewall ports: the VNIs the firewall may receive. */
  firewallVnis: number[];
  /** The machine or firewall cabled there (for reports; not rendered). */
  machine?: string;
}

export interface SwitchVrfModel {
  vrf: number;
  /** The network's own prefixes. */
  prefixes: string[];
  /** Direct peers only: each source VRF with exactly the prefixes taken from it (and the peering, for reports). */
  imports: { fromVrf: number; prefixes: string[]; peering?: string }[];
}

export interface ExternalSessionModel {
  /** The peering (for reports; not rendered). */
  peering?: string;
  port: string;
  vrf: number;
  localAsn: number;
  /** With the link's prefix length, e.g. 172.16.0.1/30. */
  localAddress: string;
  remoteAsn: number;
  remoteAddress: string;
  /** The network's prefixes: all the session announces. */
  announcePrefixes: string[];
  /** What the peer may announce, each with its more specifics. */
  remotePrefixes: string[];
  /** Refused from the peer whatever it may announce (Bulkhead's own prefixes). */
  deniedPrefixes: string[];
  maximumPrefixes: number;
}

import type { SwitchFlavour } from "@bulkhead/api/switch-os";
export type { SwitchFlavour };

/** The switch's management interface (eth0, in the `mgmt` VRF) as its agent registered it. */
export interface ManagementModel {
  /** With its prefix length, e.g. 192.168.101.12/24. */
  address: string;
  gateway: string;
  /** Further prefixes reached through the gateway (the default route always is). */
  routes: string[];
}

export interface SwitchModel {
  hostname: string;
  flavour: SwitchFlavour;
  /** Unset: eth0 takes its address by DHCP (Cumulus' factory default). */
  management?: ManagementModel;
  /** The switch's own address on the PXE segment (the PXE VLAN's interface), with its length. */
  pxeAddress?: string;
  asn: number;
  /** The loopback address: router id and VTEP. */
  routerId: string;
  ports: SwitchPortModel[];
  vrfs: SwitchVrfModel[];
  externalSessions: ExternalSessionModel[];
  /** The VRF → VLAN assignment of the previous render (stable VLANs). */
  vlans: Readonly<Record<string, number>>;
}

/** The device paths of a switch's files. */
export const SWITCH_FILES = { frr: "frr/frr.conf", interfaces: "network/interfaces", configDb: "sonic/config_db.json" } as const;

export interface RenderedSwitch {
  /** By device path: `frr/frr.conf`, and `network/interfaces` (Cumulus) or `sonic/config_db.json` (SONiC). */
  files: Record<string, string>;
  /** The assignment to pass back in next time. */
  vlans: Record<string, number>;
}

export const PXE_VLAN = 4000;
export const PXE_VNI = 104000;
/** The most prefixes a machine's session may carry, whatever its filter could match. */
export const MACHINE_MAXIMUM_PREFIX = 24000;

/** What the flavours name differently: VRFs (SONiC requires the `Vrf` prefix) and the loopback. */
export const FLAVOURS: Record<SwitchFlavour, { vrfName: (vrf: number) => string; loopback: string }> = {
  cumulus: { vrfName: (vrf) => `vrf${vrf}`, loopback: "lo" },
  sonic: { vrfName: (vrf) => `Vrf${vrf}`, loopback: "Loopback0" },
};
const ipMatch = (family: 4 | 6) => (family === 4 ? "ip" : "ipv6");
const suffix = (family: 4 | 6) => (family === 4 ? "" : "6");
const afName = (family: 4 | 6) => (family === 4 ? "ipv4 unicast" : "ipv6 unicast") as "ipv4 unicast" | "ipv6 unicast";

export interface Vrf {
  vrf: number;
  prefixes: string[];
  imports: { fromVrf: number; prefixes: string[] }[];
  machinePorts: SwitchPortModel[];
  sessions: ExternalSessionModel[];
  families: Set<4 | 6>;
}

/** Every VRF the switch carries: its tenants', their peers' (to import from) and sessions'. */
export function vrfsOf(model: SwitchModel, ports: readonly SwitchPortModel[]): Vrf[] {
  const vrfs = new Map<number, Vrf>();
  const get = (vrf: number) => {
    let v = vrfs.get(vrf);
    if (!v) vrfs.set(vrf, (v = { vrf, prefixes: [], imports: [], machinePorts: [], sessions: [], families: new Set() }));
    return v;
  };
  for (const v of model.vrfs) {
    const entry = get(v.vrf);
    entry.prefixes = v.prefixes;
    entry.imports = [...v.imports].sort((a, b) => a.fromVrf - b.fromVrf);
    for (const i of v.imports) get(i.fromVrf);
  }
  for (const port of ports.filter((p) => p.role === "machine")) get(port.vrf).machinePorts.push(port);
  for (const session of [...model.externalSessions].sort((a, b) => naturally(a.port, b.port))) get(session.vrf).sessions.push(session);
  for (const v of vrfs.values()) {
    const texts = [...v.prefixes, ...v.imports.flatMap((i) => i.prefixes), ...v.machinePorts.flatMap((p) => p.allowedPrefixes), ...v.sessions.map((s) => s.localAddress)];
    for (const t of texts) v.families.add(familyOf(t));
  }
  return [...vrfs.values()].sort((a, b) => a.vrf - b.vrf);
}

/**
 * A regular expression over FRR's text of a route's extended communities ("RT:65000:12 ET:8
 * Rmac:…") that holds when every route-target names one of `vnis` (and there is at least one).
 */
export const onlyRouteTargets = (vnis: readonly number[]) => {
  const rt = `RT:[0-9.]+:(${vnis.join("|")})`;
  return `^(([^R ][^ ]*|R[^T ][^ ]*|RT[^:][^ ]*|${rt}) )*${rt}( ([^R ][^ ]*|R[^T ][^ ]*|RT[^:][^ ]*|${rt}))*$`;
};

/** A route map permitting what one prefix list allows, for one family; deny-all when it is empty. */
function filter(name: string, entries: PrefixEntry[], family: 4 | 6): { lists: string[]; maps: string[] } {
  if (entries.length === 0) return { lists: [], maps: routeMap(name, [{ action: "deny" }]) };
  return { lists: prefixList(name, entries), maps: routeMap(name, [{ action: "permit", match: [`${ipMatch(family)} address prefix-list ${name}`] }], true) };
}

function defaultVrf(model: SwitchModel, ports: readonly SwitchPortModel[], lists: string[], maps: string[]): string[] {
  const redistribute = `redistribute connected route-map ${model.flavour === "sonic" ? "DENY_MGMT" : "LOOPBACKS"}`;
  const fabric = ports.filter((p) => p.role === "fabric");
  const firewalls = ports.filter((p) => p.role === "firewall");
  const v4: string[] = [redistribute];
  const v6: string[] = [redistribute, "neighbor FABRIC activate"];
  const evpn: string[] = ["neighbor FABRIC activate", "neighbor FABRIC allowas-in 2"];
  if (firewalls.length > 0) {
    v4.push("neighbor FIREWALL allowas-in 2");
    evpn.push("neighbor FIREWALL activate", "neighbor FIREWALL allowas-in 2");
  }
  for (const port of firewalls) {
    // In: only the firewall's underlay address. EVPN out: only the VNIs it serves; EVPN in: only
    // routes of those VNIs whose route-targets are all of those VNIs (a firewall's OS is the
    // tenant's: it must not inject routes into another VRF or the PXE segment).
    const inbound = filter(`fw-${port.name}-in`, permits(port.allowedPrefixes, 4).map((e) => ({ ...e, exact: true })), 4);
    lists.push(...inbound.lists);
    maps.push(...inbound.maps);
    v4.push(`neighbor ${port.name} route-map fw-${port.name}-in in`);
    const vnis = [...new Set(port.firewallVnis)].sort((a, b) => a - b);
    maps.push(...routeMap(`fw-${port.name}-vni`, vnis.length > 0 ? vnis.map((vni) => ({ action: "permit" as const, match: [`evpn vni ${vni}`] })) : [{ action: "deny" }]));
    evpn.push(`neighbor ${port.name} route-map fw-${port.name}-vni out`);
    if (vnis.length > 0) lists.push(`bgp extcommunity-list expanded fw-${port.name}-rt permit ${onlyRouteTargets(vnis)}`);
    maps.push(...routeMap(`fw-${port.name}-evpn-in`, vnis.length > 0 ? vnis.map((vni) => ({ action: "permit" as const, match: [`evpn route-type prefix`, `evpn vni ${vni}`, `extcommunity fw-${port.name}-rt`] })) : [{ action: "deny" }], vnis.length > 0));
    evpn.push(`neighbor ${port.name} route-map fw-${port.name}-evpn-in in`);
  }
  evpn.push("advertise-all-vni");
  return [
    `router bgp ${model.asn}`,
    ` bgp router-id ${model.routerId}`,
    " bgp bestpath as-path multipath-relax",
    ...peerGroup("FABRIC"),
    ...(firewalls.length > 0 ? peerGroup("FIREWALL") : []),
    ...fabric.map((p) => ` neighbor ${p.name} interface peer-group FABRIC`),
    ...firewalls.map((p) => ` neighbor ${p.name} interface peer-group FIREWALL`),
    ...addressFamily("ipv4 unicast", v4),
    ...addressFamily("ipv6 unicast", v6),
    ...addressFamily("l2vpn evpn", evpn),
    "exit",
    "!",
  ];
}

/** How many routes a filter of `prefixes` (each with its more specifics) can admit, capped. */
function admissible(prefixes: readonly string[], cap: number): number {
  let total = 0;
  for (const p of sortedPrefixes(prefixes)) {
    const free = (p.prefix.family === 4 ? 32 : 128) - p.prefix.length;
    total += free >= 20 ? cap : 2 ** (free + 1) - 1;
    if (total >= cap) return cap;
  }
  return Math.max(total, 1);
}

/**
 * A tenant VRF: its machine ports as unnumbered neighbors, each with its own inbound filter of
 * exactly what that machine may announce and a maximum-prefix no larger than that filter can
 * admit (tighter than metal-stack's one filter per VRF); imports from its direct peers limited to
 * what the plan names; external sessions with their filters. No family is active by default:
 * every neighbor is activated, filtered and limited in each family it speaks, and only there.
 */
function tenantVrf(model: SwitchModel, v: Vrf, lists: string[], maps: string[]): string[] {
  const { vrfName } = FLAVOURS[model.flavour];
  const name = vrfName(v.vrf);
  const head = [`router bgp ${model.asn} vrf ${name}`, ` bgp router-id ${model.routerId}`, " no bgp default ipv4-unicast", " bgp bestpath as-path multipath-relax"];
  if (v.machinePorts.length > 0) head.push(...peerGroup("MACHINE"), ...v.machinePorts.map((p) => ` neighbor ${p.name} interface peer-group MACHINE`));
  for (const s of v.sessions) {
    const remote = s.remoteAddress.split("/")[0]!;
    head.push(` neighbor ${remote} remote-as ${s.remoteAsn}`);
    if (s.localAsn !== model.asn) head.push(` neighbor ${remote} local-as ${s.localAsn} no-prepend replace-as`);
    head.push(` neighbor ${remote} description external peering on ${s.port}`);
  }
  const families: string[] = [];
  const importMap: RouteMapEntry[] = [];
  for (const family of [4, 6] as const) {
    if (!v.families.has(family)) continue;
    const lines = ["redistribute connected"];
    for (const i of v.imports) {
      const entries = permits(i.prefixes, family);
      if (entries.length === 0) continue;
      const list = `${name}-import-from-${vrfName(i.fromVrf)}${family === 6 ? "-ipv6" : ""}`;
      lists.push(...prefixList(list, entries));
      importMap.push({ action: "permit", match: [`source-vrf ${vrfName(i.fromVrf)}`, `${ipMatch(family)} address prefix-list ${list}`] });
      lines.push(`import vrf ${vrfName(i.fromVrf)}`);
    }
    if (lines.length > 1) lines.push(`import vrf route-map ${name}-import`);
    if (v.machinePorts.length > 0) lines.push("neighbor MACHINE activate");
    for (const port of v.machinePorts) {
      const entries = permits(port.allowedPrefixes, family);
      const f = filter(`${port.name}-in${suffix(family)}`, entries, family);
      lists.push(...f.lists);
      maps.push(...f.maps);
      lines.push(`neighbor ${port.name} route-map ${port.name}-in${suffix(family)} in`, `neighbor ${port.name} maximum-prefix ${admissible(entries.map((e) => e.prefix), MACHINE_MAXIMUM_PREFIX)}`);
    }
    for (const s of v.sessions.filter((x) => familyOf(x.localAddress) === family)) {
      const remote = s.remoteAddress.split("/")[0]!;
      const out = filter(`ext-${s.port}-out`, permits(s.announcePrefixes, family), family);
      // In: what the peer may announce, never Bulkhead's own prefixes (no hijack).
      const denied = sortedPrefixes(s.deniedPrefixes)
        .filter((p) => p.prefix.family === family)
        .map((p) => ({ action: "deny" as const, prefix: p.text, exact: false }));
      const allowed = sortedPrefixes(s.remotePrefixes)
        .filter((p) => p.prefix.family === family)
        .map((p) => ({ action: "permit" as const, prefix: p.text, exact: false }));
      const inbound = filter(`ext-${s.port}-in`, allowed.length > 0 ? [...denied, ...allowed] : [], family);
      lists.push(...out.lists, ...inbound.lists);
      maps.push(...out.maps, ...inbound.maps);
      lines.push(`neighbor ${remote} activate`, `neighbor ${remote} route-map ext-${s.port}-in in`, `neighbor ${remote} route-map ext-${s.port}-out out`, `neighbor ${remote} maximum-prefix ${s.maximumPrefixes}`);
    }
    families.push(...addressFamily(afName(family), lines));
  }
  if (importMap.length > 0) maps.push(...routeMap(`${name}-import`, importMap, true));
  const evpn = [...v.families].sort().map((f) => `advertise ${afName(f)}`);
  return [...head, ...families, ...addressFamily("l2vpn evpn", evpn), "exit", "!"];
}

/**
 * Only the loopback's addresses are redistributed into the underlay. SONiC names its loopback
 * `Loopback0` and, as metal-core does there, the map first refuses the management interface.
 */
const underlayRedistribution = (flavour: SwitchFlavour) =>
  flavour === "sonic"
    ? routeMap("DENY_MGMT", [
        { action: "deny", match: ["interface eth0"] },
        { action: "permit", match: [`interface ${FLAVOURS.sonic.loopback}`] },
      ])
    : loopbacksOnly;

function frrConf(model: SwitchModel, ports: readonly SwitchPortModel[], vrfs: readonly Vrf[]): string {
  const { vrfName } = FLAVOURS[model.flavour];
  const lists: string[] = [];
  const maps: string[] = [];
  const out = [...FRR_HEADER, `hostname ${model.hostname}`, "log syslog informational", "service integrated-vtysh-config", "!"];
  const add = (lines: readonly string[]) => {
    for (const line of lines) out.push(line);
  };
  for (const v of vrfs) out.push(`vrf ${vrfName(v.vrf)}\n vni ${v.vrf}\nexit-vrf\n!`);
  for (const p of ports.filter((x) => x.role === "fabric" || x.role === "firewall")) add(unnumberedInterface(p.name));
  for (const p of ports.filter((x) => x.role === "machine")) add(unnumberedInterface(p.name, vrfName(p.vrf)));
  add(defaultVrf(model, ports, lists, maps));
  for (const v of vrfs) add(tenantVrf(model, v, lists, maps));
  add(lists);
  out.push("!");
  add(maps);
  add(underlayRedistribution(model.flavour));
  out.push("!", "line vty", "!");
  return joinConfig(out);
}

export function renderSwitch(model: SwitchModel): RenderedSwitch {
  const ports = model.ports.filter((p) => p.adminUp).sort((a, b) => naturally(a.name, b.name));
  const vrfs = vrfsOf(model, ports);
  const vlans = assignVlans(
    vrfs.map((v) => v.vrf),
    model.vlans,
  );
  const files: Record<string, string> = { [SWITCH_FILES.frr]: frrConf(model, ports, vrfs) };
  if (model.flavour === "sonic") files[SWITCH_FILES.configDb] = renderConfigDb(model, vrfs, vlans);
  else files[SWITCH_FILES.interfaces] = renderCumulusInterfaces(model, vrfs, vlans);
  return {
    files,
    vlans: Object.fromEntries([...vlans].map(([vrf, vlan]) => [String(vrf), vlan])),
  };
}
