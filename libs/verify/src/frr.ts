// A reader of FRR's integrated configuration, as far as isolation depends on it: VRFs and their
// VNIs, interfaces in VRFs, BGP instances with their neighbors, imports and filters, prefix lists
// and route maps. Every object keeps the line it was read from. Unknown lines are ignored: the
// checks treat anything they need and do not find as missing.

export interface PrefixEntry {
  seq: number;
  action: "permit" | "deny";
  /** `any` is read as the family's default route with `le` its full length. */
  prefix: string;
  ge?: number;
  le?: number;
  line: number;
}

export interface RouteMapEntry {
  action: "permit" | "deny";
  seq: number;
  prefixLists: string[];
  sourceVrf?: string;
  /** Other `match` clauses, verbatim. */
  otherMatches: string[];
  line: number;
}

export interface AddressFamily {
  /** `ipv4 unicast`, `ipv6 unicast`, `l2vpn evpn`. */
  name: string;
  line: number;
  imports: { vrf: string; line: number }[];
  importRouteMap?: { name: string; line: number };
  /** neighbor (or peer group) → route map per direction. */
  routeMaps: { neighbor: string; name: string; direction: "in" | "out"; line: number }[];
  maximumPrefix: Map<string, { limit: number; line: number }>;
  activated: Set<string>;
  redistribute: { what: string; routeMap?: string; line: number }[];
}

export interface Neighbor {
  name: string;
  peerGroup?: string;
  isGroup: boolean;
  line: number;
}

export interface BgpInstance {
  asn: string;
  vrf: string;
  line: number;
  neighbors: Map<string, Neighbor>;
  families: Map<string, AddressFamily>;
}

export interface FrrConfig {
  hostname: string;
  vrfs: Map<string, { vni?: number; line: number }>;
  interfaces: Map<string, { vrf: string; line: number }>;
  bgp: BgpInstance[];
  prefixLists: Map<string, { family: 4 | 6; entries: PrefixEntry[] }>;
  routeMaps: Map<string, RouteMapEntry[]>;
}

const family = (name: string): AddressFamily => ({ name, line: 0, imports: [], routeMaps: [], maximumPrefix: new Map(), activated: new Set(), redistribute: [] });

export function parseFrr(text: string): FrrConfig {
  const config: FrrConfig = { hostname: "", vrfs: new Map(), interfaces: new Map(), bgp: [], prefixLists: new Map(), routeMaps: new Map() };
  let vrf: { vni?: number; line: number } | undefined;
  let bgp: BgpInstance | undefined;
  let af: AddressFamily | undefined;
  let routeMap: RouteMapEntry | undefined;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const words = lines[i]!.trim().split(/\s+/);
    const [w0, w1, w2, w3] = words;
    if (!w0 || w0 === "!" || w0.startsWith("#")) continue;
    // Leaving a block.
    if (w0 === "exit-vrf") vrf = undefined;
    else if (w0 === "exit-address-family") af = undefined;
    else if (w0 === "exit") {
      if (af) af = undefined;
      else {
        bgp = undefined;
        routeMap = undefined;
        vrf = undefined;
      }
    }
    // Top level.
    else if (w0 === "hostname") config.hostname = w1 ?? "";
    else if (w0 === "vrf" && w1 && !bgp) {
      vrf = { line };
      config.vrfs.set(w1, vrf);
    } else if (w0 === "vni" && vrf && w1) vrf.vni = Number(w1);
    else if (w0 === "interface" && w1) {
      config.interfaces.set(w1, { vrf: w2 === "vrf" && w3 ? w3 : "default", line });
      bgp = undefined;
    } else if (w0 === "router" && w1 === "bgp" && w2) {
      bgp = { asn: w2, vrf: words[3] === "vrf" && words[4] ? words[4] : "default", line, neighbors: new Map(), families: new Map() };
      config.bgp.push(bgp);
      af = undefined;
    } else if ((w0 === "ip" || w0 === "ipv6") && w1 === "prefix-list" && w2) readPrefixEntry(config, w0 === "ip" ? 4 : 6, w2, words.slice(3), line);
    else if (w0 === "route-map" && w1 && (w2 === "permit" || w2 === "deny")) {
      routeMap = { action: w2, seq: Number(w3), prefixLists: [], otherMatches: [], line };
      const entries = config.routeMaps.get(w1) ?? [];
      entries.push(routeMap);
      config.routeMaps.set(w1, entries);
      bgp = undefined;
    } else if (w0 === "match" && routeMap) {
      if ((w1 === "ip" || w1 === "ipv6") && w2 === "address" && w3 === "prefix-list" && words[4]) routeMap.prefixLists.push(words[4]);
      else if (w1 === "source-vrf" && w2) routeMap.sourceVrf = w2;
      else routeMap.otherMatches.push(words.slice(1).join(" "));
    }
    // Inside `router bgp`.
    else if (bgp && w0 === "address-family" && w1) {
      const name = w2 ? `${w1} ${w2}` : w1;
      af = bgp.families.get(name) ?? family(name);
      af.line = line;
      bgp.families.set(name, af);
    } else if (bgp && w0 === "neighbor" && w1) readNeighbor(bgp, af, words, line);
    else if (af && w0 === "import" && w1 === "vrf" && w2 === "route-map" && w3) af.importRouteMap = { name: w3, line };
    else if (af && w0 === "import" && w1 === "vrf" && w2) af.imports.push({ vrf: w2, line });
    else if (af && w0 === "redistribute" && w1) af.redistribute.push({ what: w1, routeMap: w2 === "route-map" ? w3 : undefined, line });
  }
  return config;
}

function readPrefixEntry(config: FrrConfig, fam: 4 | 6, name: string, rest: string[], line: number): void {
  let seq = 0;
  let k = 0;
  if (rest[0] === "seq") {
    seq = Number(rest[1]);
    k = 2;
  }
  const action = rest[k];
  if (action !== "permit" && action !== "deny") return;
  const entry: PrefixEntry = { seq, action, prefix: rest[k + 1] ?? "", line };
  if (entry.prefix === "any") {
    entry.prefix = fam === 4 ? "0.0.0.0/0" : "::/0";
    entry.le = fam === 4 ? 32 : 128;
  }
  for (let j = k + 2; j + 1 < rest.length; j += 2) {
    if (rest[j] === "ge") entry.ge = Number(rest[j + 1]);
    if (rest[j] === "le") entry.le = Number(rest[j + 1]);
  }
  const list = config.prefixLists.get(name) ?? { family: fam, entries: [] };
  list.entries.push(entry);
  config.prefixLists.set(name, list);
}

function readNeighbor(bgp: BgpInstance, af: AddressFamily | undefined, words: string[], line: number): void {
  const name = words[1]!;
  const rest = words.slice(2);
  if (!af) {
    const neighbor = bgp.neighbors.get(name) ?? { name, isGroup: false, line };
    if (rest.length === 1 && rest[0] === "peer-group") neighbor.isGroup = true;
    else if (rest[0] === "interface" && rest[1] === "peer-group" && rest[2]) neighbor.peerGroup = rest[2];
    else if (rest[0] === "peer-group" && rest[1]) neighbor.peerGroup = rest[1];
    bgp.neighbors.set(name, neighbor);
    return;
  }
  if (rest[0] === "route-map" && rest[1] && (rest[2] === "in" || rest[2] === "out")) af.routeMaps.push({ neighbor: name, name: rest[1], direction: rest[2], line });
  else if (rest[0] === "maximum-prefix" && rest[1]) af.maximumPrefix.set(name, { limit: Number(rest[1]), line });
  else if (rest[0] === "activate") af.activated.add(name);
}
