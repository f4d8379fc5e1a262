// What the firewall compiler needs to know: the firewall's networks, its policies and options.
// Plain data, so renderers stay pure and tests build it by hand.

/** How a network relates to the firewall (metal-stack's classification). */
export type NetworkRole = "primary" | "shared" | "external" | "underlay";

export interface FirewallNetwork {
  id: string;
  role: NetworkRole;
  /** VRF id = L3 VNI; the network's interfaces on the firewall are `vrf<N>` and `vlan<N>`. */
  vrf: number;
  prefixes: string[];
  /** What the network routes to, e.g. 0.0.0.0/0 for the internet. */
  destinationPrefixes: string[];
  /** Private sources leaving through this network are masqueraded (IPv4). */
  nat: boolean;
  /**
   * A DMZ the firewall may be the exit of: a shared NAT network with destinations, of the
   * firewall's own project (another project's firewall never takes a DMZ's default route).
   */
  dmz: boolean;
  /** The firewall's own addresses in the network. */
  ips: string[];
  /**
   * The addresses the firewall's project holds in the network, besides firewalls' (public and
   * load-balancer addresses of its machines): all an external network learns from the primary.
   */
  projectIps: string[];
}

export type Protocol = "tcp" | "udp";

/** `port` 0 means every port of the protocol; `endPort` > 0 makes a range. */
export interface PortMatch {
  protocol: Protocol;
  port: number;
  endPort: number;
}

export interface Peer {
  cidr: string;
  except: string[];
}

/** No peers means any address; no ports means every TCP and UDP port. */
export interface PolicyRule {
  peers: Peer[];
  ports: PortMatch[];
}

export interface Policy {
  id: string;
  name: string;
  /** New connections into the primary network. */
  ingress: PolicyRule[];
  /** New connections out of the primary network. */
  egress: PolicyRule[];
}

export interface FirewallOptions {
  rateLimits: { network: string; bytesPerSecond: number }[];
  logAcceptedConnections: boolean;
  /** Where SSH to the firewall is accepted from; empty means no SSH. */
  sshAllowedFrom: string[];
  /** SNAT to these addresses instead of masquerading, per network. */
  snat: { network: string; ips: string[] }[];
}

export interface FirewallModel {
  id: string;
  networks: FirewallNetwork[];
  policies: Policy[];
  options: FirewallOptions;
}

export const noOptions: FirewallOptions = { rateLimits: [], logAcceptedConnections: false, sshAllowedFrom: [], snat: [] };

/** The interface names a network's traffic crosses on the firewall. */
export const interfacesOf = (n: Pick<FirewallNetwork, "vrf">) => [`vlan${n.vrf}`, `vrf${n.vrf}`];

/** The fabric-facing interfaces (BGP unnumbered, VXLAN). */
export const fabricInterfaces = ["lan0", "lan1"];
