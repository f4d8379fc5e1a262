// A closed-world reader of FRR's integrated configuration: the statements Bulkhead renders are
// read into a model, each with its line; every other statement is returned in `unknown` — the
// checks report those as findings, because a statement nobody understands may change what a
// tenant's VRF learns or announces.

export interface PrefixEntry {
  seq: number;
  action: "permit" | "deny";
  /** Canonical `address/length`; `any` is the family's default route with `le` its full length. */
  prefix: string;
  ge?: number;
  le?: number;
  line: number;
}

export interface PrefixList {
  family: 4 | 6;
  entries: PrefixEntry[];
}

export interface RouteMapEntry {
  action: "permit" | "deny";
  seq: number;
  prefixLists: { family: 4 | 6; name: string }[];
  sourceVrf?: string;
  evpnVni?: number;
  evpnRouteType?: string;
  extcommunity?: string;
  interface?: string;
  asPath?: string;
  noExport: boolean;
  /** `set weight N` (machines' on-host speakers only). */
  weight?: number;
  line: number;
}

export interface AddressFamily {
  /** `ipv4 unicast`, `ipv6 unicast`, `l2vpn evpn`. */
  name: string;
  line: number;
  imports: { vrf: string; line: number }[];
  importRouteMap?: { name: string; line: number };
  routeMaps: { neighbor: string; name: string; direction: "in" | "out"; line: number }[];
  maximumPrefix: Map<string, { limit: number; line: number }>;
  activated: Map<string, number>;
  allowasIn: Set<string>;
  redistribute: { what: string; routeMap?: string; line: number }[];
  advertiseAllVni: boolean;
  advertise: Set<string>;
}

export interface Neighbor {
  name: string;
  peerGroup?: string;
  isGroup: boolean;
  /** Interface (unnumbered) neighbor. */
  unnumbered: boolean;
  remoteAs?: string;
  localAs?: string;
  line: number;
}

export interface BgpInstance {
  asn: string;
  vrf: string;
  line: number;
  /** `no bgp default ipv4-unicast`: no neighbor is active in IPv4 unless activated. */
  noDefaultIpv4: boolean;
  neighbors: Map<string, Neighbor>;
  families: Map<string, AddressFamily>;
  listenRanges: { range: string; group: string; line: number }[];
}

export interface FrrConfig {
  hostname: string;
  vrfs: Map<string, { vni?: number; line: number }>;
  interfaces: Map<string, { vrf: string; line: number }>;
  bgp: BgpInstance[];
  prefixLists: Map<string, PrefixList>;
  routeMaps: Map<string, RouteMapEntry[]>;
  asPathLists: Map<string, { regex: string; line: number }[]>;
  extcommunityLists: Map<string, { regex: string; line: number }[]>;
  /** Statements outside the rendered subset: each is a finding. */
  unknown: { line: number; text: string }[];
}

const family = (name: string, line: number): AddressFamily => ({ name, line, imports: [], routeMaps: [], maximumPrefix: new Map(), activated: new Map(), allowasIn: new Set(), redistribute: [], advertiseAllVni: false, advertise: new Set() });

type Block = "top" | "vrf" | "interface" | "bgp" | "af" | "route-map" | "line";

export function parseFrr(text: string): FrrConfig {
  const config: FrrConfig = { hostname: "", vrfs: new Map(), interfaces: new Map(), bgp: [], prefixLists: new Map(), routeMaps: new Map(), asPathLists: new Map(), extcommunityLists: new Map(), unknown: [] };
  let block: Block = "top";
  let vrf: { vni?: number; line: number } | undefined;
  let bgp: BgpInstance | undefined;
  let af: AddressFamily | undefined;
  let entry: RouteMapEntry | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i]!;
    const t = raw.trim();
    if (!t || t === "!" || t.startsWith("#")) continue;
    const w = t.split(/\s+/);
    const unknown = () => config.unknown.push({ line, text: t });
    // An unindented statement ends any open block, as in FRR's own reader.
    if (block !== "top" && !raw.startsWith(" ") && !["exit", "exit-vrf", "exit-address-family"].includes(t)) block = "top";
    // Leaving blocks.
    if (t === "exit-vrf" && block === "vrf") block = "top";
    else if (t === "exit-address-family" && block === "af") block = "bgp";
    else if (t === "exit") block = block === "af" ? "bgp" : "top";
    else if (block === "vrf") {
      if (w[0] === "vni" && /^\d+$/.test(w[1] ?? "") && w.length === 2) vrf!.vni = Number(w[1]);
      else unknown();
    } else if (block === "interface") {
      const ok = (w[0] === "ipv6" && w[1] === "nd" && w[2] === "ra-interval" && w.length === 4) || t === "no ipv6 nd suppress-ra";
      if (!ok) unknown();
    } else if (block === "route-map") {
      if (!readRouteMapLine(entry!, w)) unknown();
    } else if (block === "bgp" || block === "af") {
      if (block === "bgp" && w[0] === "address-family") {
        const name = w.slice(1).join(" ");
        if (!["ipv4 unicast", "ipv6 unicast", "l2vpn evpn"].includes(name)) unknown();
        af = bgp!.families.get(name) ?? family(name, line);
        bgp!.families.set(name, af);
        block = "af";
      } else if (!(block === "bgp" ? readBgpLine(bgp!, w, line) : readFamilyLine(af!, w, line))) unknown();
    } else if (block === "line") unknown();
    // Top level.
    else if (t.startsWith("frr version ") || t === "frr defaults datacenter" || t === "service integrated-vtysh-config" || /^log syslog( \w+)?$/.test(t)) continue;
    else if (w[0] === "hostname" && w.length === 2) config.hostname = w[1]!;
    else if (w[0] === "vrf" && w.length === 2) {
      vrf = { line };
      config.vrfs.set(w[1]!, vrf);
      block = "vrf";
    } else if (w[0] === "interface" && (w.length === 2 || (w.length === 4 && w[2] === "vrf"))) {
      config.interfaces.set(w[1]!, { vrf: w[3] ?? "default", line });
      block = "interface";
    } else if (w[0] === "router" && w[1] === "bgp" && /^\d+$/.test(w[2] ?? "") && (w.length === 3 || (w.length === 5 && w[3] === "vrf"))) {
      bgp = { asn: w[2]!, vrf: w[4] ?? "default", line, noDefaultIpv4: false, neighbors: new Map(), families: new Map(), listenRanges: [] };
      config.bgp.push(bgp);
      block = "bgp";
    } else if ((w[0] === "ip" || w[0] === "ipv6") && w[1] === "prefix-list" && w[2]) {
      if (!readPrefixEntry(config, w[0] === "ip" ? 4 : 6, w[2], w.slice(3), line)) unknown();
    } else if (w[0] === "route-map" && w[1] && (w[2] === "permit" || w[2] === "deny") && /^\d+$/.test(w[3] ?? "") && w.length === 4) {
      entry = { action: w[2], seq: Number(w[3]), prefixLists: [], noExport: false, line };
      config.routeMaps.set(w[1], [...(config.routeMaps.get(w[1]) ?? []), entry]);
      block = "route-map";
    } else if (w[0] === "bgp" && w[1] === "as-path" && w[2] === "access-list" && w[3] && w[4] === "seq" && w[6] === "permit" && w.length === 8) {
      config.asPathLists.set(w[3], [...(config.asPathLists.get(w[3]) ?? []), { regex: w[7]!, line }]);
    } else if (w[0] === "bgp" && w[1] === "extcommunity-list" && w[2] === "expanded" && w[3] && w[4] === "permit" && w.length >= 6) {
      config.extcommunityLists.set(w[3], [...(config.extcommunityLists.get(w[3]) ?? []), { regex: w.slice(5).join(" "), line }]);
    } else if (t === "line vty") block = "line";
    else unknown();
  }
  return config;
}

function readRouteMapLine(entry: RouteMapEntry, w: string[]): boolean {
  const rest = w.slice(1);
  if (w[0] === "match") {
    if ((rest[0] === "ip" || rest[0] === "ipv6") && rest[1] === "address" && rest[2] === "prefix-list" && rest[3] && rest.length === 4) entry.prefixLists.push({ family: rest[0] === "ip" ? 4 : 6, name: rest[3] });
    else if (rest[0] === "source-vrf" && rest[1] && rest.length === 2) entry.sourceVrf = rest[1];
    else if (rest[0] === "evpn" && rest[1] === "vni" && /^\d+$/.test(rest[2] ?? "") && rest.length === 3) entry.evpnVni = Number(rest[2]);
    else if (rest[0] === "evpn" && rest[1] === "route-type" && rest[2] && rest.length === 3) entry.evpnRouteType = rest[2];
    else if (rest[0] === "extcommunity" && rest[1] && rest.length === 2) entry.extcommunity = rest[1];
    else if (rest[0] === "interface" && rest[1] && rest.length === 2) entry.interface = rest[1];
    else if (rest[0] === "as-path" && rest[1] && rest.length === 2) entry.asPath = rest[1];
    else return false;
    return true;
  }
  if (w[0] === "set") {
    if (rest.join(" ") === "community no-export additive") entry.noExport = true;
    else if (rest[0] === "weight" && /^\d+$/.test(rest[1] ?? "") && rest.length === 2) entry.weight = Number(rest[1]);
    else return false;
    return true;
  }
  return false;
}

function readBgpLine(bgp: BgpInstance, w: string[], line: number): boolean {
  const t = w.join(" ");
  if (w[0] === "bgp" && w[1] === "router-id" && w.length === 3) return true;
  if (t === "bgp bestpath as-path multipath-relax") return true;
  if (t === "no bgp default ipv4-unicast") return (bgp.noDefaultIpv4 = true);
  if (w[0] === "bgp" && w[1] === "listen" && w[2] === "range" && w[4] === "peer-group" && w.length === 6) {
    bgp.listenRanges.push({ range: w[3]!, group: w[5]!, line });
    return true;
  }
  if (w[0] !== "neighbor" || !w[1]) return false;
  const name = w[1];
  const rest = w.slice(2);
  const n = bgp.neighbors.get(name) ?? { name, isGroup: false, unnumbered: false, line };
  bgp.neighbors.set(name, n);
  if (rest.length === 1 && rest[0] === "peer-group") n.isGroup = true;
  else if (rest[0] === "interface" && rest[1] === "peer-group" && rest[2] && rest.length === 3) {
    n.peerGroup = rest[2];
    n.unnumbered = true;
  } else if (rest[0] === "remote-as" && rest[1] && rest.length === 2) n.remoteAs = rest[1];
  else if (rest[0] === "timers" && rest.length === 3) return true;
  else if (rest[0] === "local-as" && rest[1] && rest.slice(2).join(" ") === "no-prepend replace-as") n.localAs = rest[1];
  else if (rest[0] === "description") return true;
  else return false;
  return true;
}

function readFamilyLine(af: AddressFamily, w: string[], line: number): boolean {
  const t = w.join(" ");
  if (w[0] === "import" && w[1] === "vrf" && w[2] === "route-map" && w[3] && w.length === 4) af.importRouteMap = { name: w[3], line };
  else if (w[0] === "import" && w[1] === "vrf" && w[2] && w.length === 3) af.imports.push({ vrf: w[2], line });
  else if (w[0] === "redistribute" && w[1] && (w.length === 2 || (w.length === 4 && w[2] === "route-map"))) af.redistribute.push({ what: w[1], routeMap: w[3], line });
  else if (t === "advertise-all-vni") af.advertiseAllVni = true;
  else if (w[0] === "advertise" && (t === "advertise ipv4 unicast" || t === "advertise ipv6 unicast")) af.advertise.add(`${w[1]} ${w[2]}`);
  else if (w[0] === "neighbor" && w[1]) {
    const rest = w.slice(2);
    if (rest.length === 1 && rest[0] === "activate") af.activated.set(w[1], line);
    else if (rest[0] === "route-map" && rest[1] && (rest[2] === "in" || rest[2] === "out") && rest.length === 3) af.routeMaps.push({ neighbor: w[1], name: rest[1], direction: rest[2], line });
    else if (rest[0] === "maximum-prefix" && /^\d+$/.test(rest[1] ?? "") && rest.length === 2) af.maximumPrefix.set(w[1], { limit: Number(rest[1]), line });
    else if (rest[0] === "allowas-in" && /^\d+$/.test(rest[1] ?? "") && rest.length === 2) af.allowasIn.add(w[1]);
    else return false;
  } else return false;
  return true;
}

function readPrefixEntry(config: FrrConfig, fam: 4 | 6, name: string, rest: string[], line: number): boolean {
  let k = 0;
  let seq = 0;
  if (rest[0] === "seq") {
    if (!/^\d+$/.test(rest[1] ?? "")) return false;
    seq = Number(rest[1]);
    k = 2;
  }
  const action = rest[k];
  if (action !== "permit" && action !== "deny") return false;
  const entry: PrefixEntry = { seq, action, prefix: rest[k + 1] ?? "", line };
  if (entry.prefix === "any") {
    entry.prefix = fam === 4 ? "0.0.0.0/0" : "::/0";
    entry.le = fam === 4 ? 32 : 128;
  }
  const extra = rest.slice(k + 2);
  for (let j = 0; j < extra.length; j += 2) {
    const value = Number(extra[j + 1]);
    if ((extra[j] !== "ge" && extra[j] !== "le") || !Number.isInteger(value)) return false;
    if (extra[j] === "ge") entry.ge = value;
    else entry.le = value;
  }
  const list = config.prefixLists.get(name) ?? { family: fam, entries: [] };
  if (list.family !== fam) return false;
  list.entries.push(entry);
  config.prefixLists.set(name, list);
  return true;
}
