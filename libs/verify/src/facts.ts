// What the verifier checks configurations against: Bulkhead's records — networks, peerings,
// switches, allocated machines with their connections and addresses, and the addresses projects
// hold in shared and external networks — never the views or models the renderer consumed. From
// them, `FactIndex` derives what each port, VRF and firewall is entitled to: the verifier's own
// statement of Bulkhead's promise.
import { contains, formatPrefix, parseAddress, parsePrefix, type Prefix } from "@bulkhead/netaddr";
import { covering, exactly, type Range } from "./prefixes.js";

export type NetworkKind = "private" | "shared" | "external" | "underlay" | "super";

export interface NetworkFact {
  id: string;
  project: string;
  kind: NetworkKind;
  /** VRF id = L3 VNI; 0 for none. */
  vrf: number;
  prefixes: string[];
  /** What an external network (or a DMZ) routes to, e.g. 0.0.0.0/0. */
  destinationPrefixes: string[];
  nat: boolean;
  /** Child networks: their super network. */
  parent?: string;
  /** Super networks: further prefixes their children's machines may announce. */
  announceable?: string[];
}

export interface ExternalSessionFact {
  switch: string;
  port: string;
  localAddress: string;
  remoteAddress: string;
  /** What the peer may announce (each with its more specifics). */
  remotePrefixes: string[];
  maximumPrefixes: number;
}

export interface PeeringFact {
  id: string;
  network1: string;
  network2?: string;
  external?: ExternalSessionFact;
}

export interface MachineFact {
  id: string;
  project: string;
  role: "machine" | "firewall";
  /** Installed: its ports are bound. */
  installed: boolean;
  networks: string[];
  ips: { network: string; address: string }[];
  connections: { switch: string; port: string; nic: string }[];
}

export interface SwitchFact {
  id: string;
  role: "leaf" | "exit" | "spine";
  /** How the switch's OS is configured; undefined: an OS Bulkhead does not configure. */
  flavour?: "sonic" | "cumulus";
  routerId: string;
  uplinks: string[];
}

/** An address a project holds in a shared or external network, and the machine it is bound to (if any). */
export interface AddressFact {
  address: string;
  network: string;
  project: string;
  machine: string;
}

/** A rule of a policy in force on a firewall: new connections from (ingress) or to (egress) these peers on these ports. */
export interface RuleFact {
  /** No peers: any address. */
  peers: { cidr: string; except: string[] }[];
  /** Port 0: every port of the protocol. */
  ports: { protocol: "tcp" | "udp"; from: number; to: number }[];
}

export interface PolicyFact {
  firewall: string;
  name: string;
  ingress: RuleFact[];
  egress: RuleFact[];
}

export interface Facts {
  networks: NetworkFact[];
  /** Policies in force, per firewall: every forward accept must be one of their rules. */
  policies: PolicyFact[];
  peerings: PeeringFact[];
  switches: SwitchFact[];
  machines: MachineFact[];
  addresses: AddressFact[];
  /** VNIs the fabric itself uses (the PXE segment): never a tenant VRF's. */
  reservedVnis: number[];
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
  understood: "closed-world",
  identifiers: "identifier-hygiene",
  imports: "import-closure",
  ingress: "ingress-filtering",
  infrastructure: "infrastructure-separation",
  nftables: "nftables-policy",
  reachability: "end-to-end",
  differential: "differential",
} as const;

export const hostRoute = (address: string) => `${address}/${address.includes(":") ? 128 : 32}`;
const parsed = (texts: readonly string[]): Prefix[] => texts.map((t) => parsePrefix(t)).filter((p): p is Prefix => p !== undefined);
export const inside = (address: string, prefixes: readonly string[]) => {
  const a = parseAddress(address);
  return a !== undefined && parsed(prefixes).some((p) => p.family === a.family && contains(p, a));
};
const ranges = (list: readonly (Range | undefined)[]) => list.filter((r): r is Range => r !== undefined);

/** A machine port: the machine, its network, and the ranges it may announce. */
export interface MachinePort {
  machine: MachineFact;
  network: NetworkFact;
  allowed: Range[];
}

export interface FirewallPort {
  firewall: MachineFact;
  underlay: string[];
  vnis: number[];
}

export interface ExternalSession {
  peering: PeeringFact;
  session: ExternalSessionFact;
  network: NetworkFact;
}

/** How a network relates to a firewall it is attached to. */
export type FirewallRole = "primary" | "shared" | "external" | "underlay";

/** Lookups and entitlements derived from the facts, once per verification. */
export class FactIndex {
  readonly byId = new Map<string, NetworkFact>();
  readonly byVrf = new Map<number, NetworkFact>();
  private readonly peers = new Map<string, PeeringFact>();
  /** `primary|external` of each firewall and each external network it is attached to. */
  private readonly firewallExits = new Set<string>();
  readonly machinePorts = new Map<string, MachinePort>();
  /** The switches with a port of an installed machine of each network, by network id. */
  readonly switchesOfNetwork = new Map<string, Set<string>>();
  readonly firewallPorts = new Map<string, FirewallPort>();
  readonly firewalls = new Map<string, MachineFact>();
  /** External sessions by `switch|peer address`. */
  readonly sessions = new Map<string, ExternalSession>();
  readonly switches = new Map<string, SwitchFact>();
  /** The external networks. */
  readonly externals: NetworkFact[];
  /** Underlay prefixes: never in a tenant VRF. */
  readonly infrastructure: string[];
  /** Every prefix of Bulkhead's own networks: no external peer may announce them. */
  readonly owned: Range[];

  constructor(readonly facts: Facts) {
    for (const n of facts.networks) {
      this.byId.set(n.id, n);
      if (n.vrf > 0 && !this.byVrf.has(n.vrf)) this.byVrf.set(n.vrf, n);
    }
    for (const p of facts.peerings) {
      if (p.network2) this.peers.set(`${p.network1}|${p.network2}`, p).set(`${p.network2}|${p.network1}`, p);
      const n = this.byId.get(p.network1);
      if (p.external && n) this.sessions.set(`${p.external.switch}|${p.external.remoteAddress.split("/")[0]}`, { peering: p, session: p.external, network: n });
    }
    for (const s of facts.switches) this.switches.set(s.id, s);
    for (const m of facts.machines) {
      if (m.role === "firewall") this.firewalls.set(m.id, m);
      if (!m.installed) continue;
      for (const c of m.connections) {
        const key = `${c.switch}|${c.port}`;
        if (m.role === "firewall") {
          const underlay = m.ips.filter((i) => this.byId.get(i.network)?.kind === "underlay").map((i) => i.address);
          const vnis = m.networks.map((id) => this.byId.get(id)).filter((n): n is NetworkFact => n !== undefined && n.kind !== "underlay" && n.vrf > 0).map((n) => n.vrf);
          this.firewallPorts.set(key, { firewall: m, underlay, vnis: [...new Set(vnis)].sort((a, b) => a - b) });
        } else {
          const network = this.primaryOf(m);
          if (!network) continue;
          this.machinePorts.set(key, { machine: m, network, allowed: this.announceable(m, network) });
          const switches = this.switchesOfNetwork.get(network.id);
          if (switches) switches.add(c.switch);
          else this.switchesOfNetwork.set(network.id, new Set([c.switch]));
        }
      }
    }
    for (const fw of this.firewalls.values()) {
      const primary = this.primaryOf(fw);
      if (primary) for (const e of fw.networks.filter((id) => this.byId.get(id)?.kind === "external")) this.firewallExits.add(`${primary.id}|${e}`);
    }
    this.externals = facts.networks.filter((n) => n.kind === "external");
    this.infrastructure = facts.networks.filter((n) => n.kind === "underlay").flatMap((n) => n.prefixes);
    this.owned = ranges(facts.networks.filter((n) => n.kind !== "private" && n.kind !== "shared").flatMap((n) => n.prefixes.map((p) => covering(p, false))));
  }

  /** The external session a switch has with the peer at `address`. */
  sessionTo(device: string, address: string): ExternalSession | undefined {
    return this.sessions.get(`${device}|${address}`);
  }

  /** The external sessions of a switch. */
  sessionsOf(device: string): ExternalSession[] {
    return [...this.sessions.values()].filter((s) => s.session.switch === device);
  }

  /** Whether a local peering joins `a` and `b` (and no firewall between them governs instead). */
  peered(a: string, b: string): boolean {
    return this.peers.has(`${a}|${b}`) && !this.firewalled(a, b);
  }

  /**
   * Whether a firewall of one (its primary) is attached to the other, an external network: the
   * firewall then governs the way between them, and a peering of the two stands aside.
   */
  firewalled(a: string, b: string): boolean {
    return this.firewallExits.has(`${a}|${b}`) || this.firewallExits.has(`${b}|${a}`);
  }

  /**
   * Whether a firewall may be the exit of a DMZ: a shared NAT network with destinations of the
   * firewall's own project (another project's firewall never takes a DMZ's default route).
   */
  servesDmz(firewall: MachineFact, network: NetworkFact): boolean {
    return this.roleOn(firewall, network) === "shared" && network.nat && network.destinationPrefixes.length > 0 && network.project === firewall.project;
  }

  /** The network of a VRF name `vrf<N>`. */
  networkOfVrf(name: string): NetworkFact | undefined {
    const m = /^vrf(\d+)$/.exec(name);
    return m ? this.byVrf.get(Number(m[1])) : undefined;
  }

  /** A machine's own network: a private (or shared) network of its project. */
  primaryOf(m: MachineFact): NetworkFact | undefined {
    const attached = m.networks.map((id) => this.byId.get(id)).filter((n): n is NetworkFact => n !== undefined);
    return attached.find((n) => n.kind === "private" && n.project === m.project) ?? attached.find((n) => n.kind === "shared" && n.project === m.project);
  }

  /** What the project holds in a network, not bound to a firewall (its published addresses there). */
  published(project: string, network: string): string[] {
    return this.facts.addresses.filter((a) => a.project === project && a.network === network && !this.firewalls.has(a.machine)).map((a) => a.address);
  }

  /**
   * What a machine may announce: its network's prefixes, its super's announceable prefixes, its own
   * addresses, and its project's addresses in shared and external networks — never another private network's.
   */
  private announceable(m: MachineFact, network: NetworkFact): Range[] {
    const parent = network.parent ? this.byId.get(network.parent) : undefined;
    const elsewhere = this.facts.addresses.filter((a) => a.project === m.project && !this.firewalls.has(a.machine)).map((a) => a.address);
    return ranges([...network.prefixes.map((p) => covering(p, false)), ...(parent?.announceable ?? []).map((p) => covering(p, false)), ...[...m.ips.map((i) => i.address), ...elsewhere].map(exactly)]);
  }

  /** How a network relates to a firewall: its primary (own private network), shared, external or underlay. */
  roleOn(firewall: MachineFact, network: NetworkFact): FirewallRole | undefined {
    if (!firewall.networks.includes(network.id)) return undefined;
    if (network.kind === "underlay") return "underlay";
    if (network.kind === "external") return "external";
    return this.primaryOf(firewall)?.id === network.id ? "primary" : "shared";
  }

  /** What a switch VRF `to` may take from `from`: nothing unless peered. */
  switchImport(to: NetworkFact, from: NetworkFact): Range[] {
    if (!this.peered(to.id, from.id)) return [];
    if (from.kind === "external") return ranges(from.destinationPrefixes.map((p) => covering(p)));
    if (to.kind === "external") return ranges(this.published(from.project, to.id).map(exactly));
    return ranges(from.prefixes.map((p) => covering(p)));
  }

  /**
   * What a firewall's VRF `to` may take from `from` (both attached to it), marked no-export or not.
   * The primary takes externals' destinations and prefixes and shared networks' prefixes and
   * destinations; a shared network the primary's prefixes and, from an external network, the
   * destinations they share and its prefixes; an external network the project's published
   * addresses there, and — no-export only — the primary's prefixes (and NAT shared networks').
   */
  firewallImport(firewall: MachineFact, to: NetworkFact, from: NetworkFact): { export: Range[]; noExport: Range[] } {
    const roleTo = this.roleOn(firewall, to);
    const roleFrom = this.roleOn(firewall, from);
    const all = (texts: readonly string[]) => ranges(texts.map((p) => covering(p)));
    const none = { export: [] as Range[], noExport: [] as Range[] };
    if (!roleTo || !roleFrom || to.id === from.id) return none;
    if (roleTo === "primary" && (roleFrom === "external" || roleFrom === "shared")) return { export: all([...from.destinationPrefixes, ...from.prefixes]), noExport: [] };
    if (roleTo === "shared" && roleFrom === "primary") return { export: all(from.prefixes), noExport: [] };
    if (roleTo === "shared" && roleFrom === "external") {
      if (!this.servesDmz(firewall, to)) return none;
      const same = (a: string, b: string) => parsePrefix(a) !== undefined && formatPrefix(parsePrefix(a)!) === formatPrefix(parsePrefix(b) ?? parsePrefix(a)!) && parsePrefix(b) !== undefined;
      const common = to.destinationPrefixes.filter((d) => from.destinationPrefixes.some((x) => same(x, d)));
      return common.length > 0 ? { export: all([...common, ...from.prefixes]), noExport: [] } : none;
    }
    if (roleTo === "external" && roleFrom === "primary") return { export: ranges(this.published(firewall.project, to.id).map(exactly)), noExport: all(from.prefixes) };
    if (roleTo === "external" && roleFrom === "shared" && this.servesDmz(firewall, from)) return { export: [], noExport: all(from.prefixes) };
    return none;
  }
}
