// What the verifier checks the configurations against: Bulkhead's records (IPAM, the connection
// map, peerings), never the renderer's model. And what it answers.
import { contains, overlaps, parsePrefix, type Prefix } from "@bulkhead/netaddr";

export interface NetworkFact {
  id: string;
  project: string;
  /** VRF id = L3 VNI; 0 for none (underlay). */
  vrf: number;
  prefixes: string[];
  /** External networks: what may be routed through them (e.g. 0.0.0.0/0). */
  destinationPrefixes: string[];
  kind: "private" | "shared" | "external" | "underlay";
}

/** A machine cabled to a switch port: what it may announce. */
export interface MachinePortFact {
  switch: string;
  port: string;
  machine: string;
  network: string;
  allowed: string[];
}

/** A firewall cabled to a switch port: its underlay addresses and the VNIs it serves. */
export interface FirewallPortFact {
  switch: string;
  port: string;
  firewall: string;
  underlay: string[];
  vnis: number[];
}

export interface Facts {
  networks: NetworkFact[];
  /** Network pairs that may exchange routes (local peerings), by network id, either order. */
  peerings: [string, string][];
  machinePorts: MachinePortFact[];
  firewallPorts: FirewallPortFact[];
  /** Firewalls and the networks attached to them. */
  firewalls: { id: string; networks: string[] }[];
  /** Loopbacks, underlay, management: never reachable from a tenant VRF. */
  infrastructure: string[];
}

export interface DeviceConfig {
  device: string;
  kind: "switch" | "firewall";
  /** Paths as the reconciler stores them: frr/frr.conf, network/interfaces, nftables/bulkhead.nft. */
  files: { path: string; content: string }[];
}

export interface Finding {
  property: string;
  device: string;
  path: string;
  line: number;
  object: string;
  message: string;
}

/** Property names, as findings carry them. */
export const P = {
  identifiers: "identifier-hygiene",
  imports: "import-closure",
  ingress: "ingress-filtering",
  infrastructure: "infrastructure-separation",
  nftables: "nftables-policy",
  reachability: "end-to-end",
  differential: "differential",
} as const;

export const prefixesOf = (texts: readonly string[]): Prefix[] => texts.map((t) => parsePrefix(t)).filter((p): p is Prefix => p !== undefined);
/** Whether `p` lies inside one of `allowed`. */
export const within = (p: Prefix, allowed: readonly Prefix[]): boolean => allowed.some((a) => a.family === p.family && contains(a, p));
export const touches = (p: Prefix, others: readonly Prefix[]): boolean => others.some((o) => o.family === p.family && overlaps(o, p));

/** Lookups over the facts, built once per verification. */
export class FactIndex {
  readonly byVrf = new Map<number, NetworkFact>();
  readonly byId = new Map<string, NetworkFact>();
  private readonly peers = new Set<string>();
  readonly machinePorts = new Map<string, MachinePortFact>();
  readonly firewallPorts = new Map<string, FirewallPortFact>();
  readonly firewalls = new Map<string, Set<string>>();
  readonly infrastructure: Prefix[];

  constructor(readonly facts: Facts) {
    for (const n of facts.networks) {
      this.byId.set(n.id, n);
      if (n.vrf > 0 && !this.byVrf.has(n.vrf)) this.byVrf.set(n.vrf, n);
    }
    for (const [a, b] of facts.peerings) {
      this.peers.add(`${a}|${b}`);
      this.peers.add(`${b}|${a}`);
    }
    for (const m of facts.machinePorts) this.machinePorts.set(`${m.switch}|${m.port}`, m);
    for (const f of facts.firewallPorts) this.firewallPorts.set(`${f.switch}|${f.port}`, f);
    for (const f of facts.firewalls) this.firewalls.set(f.id, new Set(f.networks));
    this.infrastructure = prefixesOf(facts.infrastructure);
  }

  peered(a: string, b: string): boolean {
    return this.peers.has(`${a}|${b}`);
  }

  /** The network of a VRF name `vrf<N>`. */
  networkOfVrf(name: string): NetworkFact | undefined {
    const m = /^vrf(\d+)$/.exec(name);
    return m ? this.byVrf.get(Number(m[1])) : undefined;
  }

  /** What routes of a network may look like: its prefixes and, if external, its destinations. */
  routesOf(n: NetworkFact): Prefix[] {
    return prefixesOf([...n.prefixes, ...n.destinationPrefixes]);
  }
}
