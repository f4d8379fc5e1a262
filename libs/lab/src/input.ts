// What the lab runs and what it proves against. The configurations are exactly what the reconciler
// would push (device files) plus each machine's FRR; the records are the facts the oracle reads —
// never the renderer's model. Plain data, so callers build it from the services or by hand.

/** A device Bulkhead configures, with its files by the paths the reconciler stores them under. */
export interface LabDevice {
  id: string;
  kind: "leaf" | "exit" | "firewall";
  /** `frr/frr.conf`, `network/interfaces` (SONiC: `sonic/config_db.json`), and for firewalls `nftables/bulkhead.nft`. */
  files: Record<string, string>;
  /** Switch ports cabled to the spines (fabric uplinks). */
  uplinks?: string[];
}

/** An allocated, installed machine: its FRR and the addresses it holds (placed on its loopback). */
export interface LabMachine {
  id: string;
  frr: string;
  addresses: string[];
}

/** One cable of the connection map: a switch port and the machine NIC (or firewall NIC) on it. */
export interface LabCable {
  switch: string;
  port: string;
  machine: string;
  nic: string;
}

/** A switch Bulkhead does not configure: its uplink ports are cabled to these, in order. */
export interface LabSpine {
  id: string;
  asn: number;
  routerId: string;
}

export type NetworkKind = "private" | "shared" | "external" | "underlay";

export interface RecordNetwork {
  id: string;
  project: string;
  kind: NetworkKind;
  /** VRF id = L3 VNI; 0 for none. */
  vrf: number;
  prefixes: string[];
  /** What an external (or a DMZ) network routes to, e.g. 0.0.0.0/0. */
  destinationPrefixes: string[];
  nat: boolean;
}

export interface RecordExternalSession {
  switch: string;
  port: string;
  localAsn: number;
  /** With the link's length, e.g. 172.16.0.1/30. */
  localAddress: string;
  remoteAsn: number;
  remoteAddress: string;
  /** What the peer may announce; the lab's stand-in for the peer announces exactly these unless told otherwise. */
  remotePrefixes: string[];
}

export interface RecordPeering {
  id: string;
  network1: string;
  /** Local peerings: the other network. */
  network2?: string;
  /** External peerings: the BGP session on an exit switch. */
  external?: RecordExternalSession;
}

export interface RecordMachine {
  id: string;
  project: string;
  role: "machine" | "firewall";
  /** The networks it is attached to. */
  networks: string[];
  /** Its addresses, by network. */
  ips: { network: string; address: string }[];
}

export interface PortRange {
  protocol: "tcp" | "udp";
  /** 0: every port of the protocol. */
  from: number;
  /** Inclusive; equal to `from` for one port. */
  to: number;
}

export interface RecordRule {
  /** No peers: any address. */
  peers: { cidr: string; except: string[] }[];
  /** No ports: every TCP and UDP port. */
  ports: PortRange[];
}

/** A policy as it applies to one firewall: new connections into (ingress) and out of (egress) the firewall's networks. */
export interface RecordPolicy {
  firewall: string;
  name: string;
  ingress: RecordRule[];
  egress: RecordRule[];
}

export interface LabRecords {
  networks: RecordNetwork[];
  peerings: RecordPeering[];
  machines: RecordMachine[];
  policies: RecordPolicy[];
}

export interface LabInput {
  partition: string;
  devices: LabDevice[];
  machines: LabMachine[];
  cables: LabCable[];
  spines: LabSpine[];
  records: LabRecords;
  /**
   * What the stand-in of an external peer announces, by `<switch>/<port>`, instead of the record's
   * remote prefixes — to play a peer that misbehaves.
   */
  announce?: Record<string, string[]>;
  /**
   * What a machine announces besides its own addresses, by machine id — a tenant controls its
   * machine's OS: each prefix becomes a blackhole route in its kernel, which its FRR redistributes.
   */
  hostile?: Record<string, string[]>;
}

export const FILES = { frr: "frr/frr.conf", interfaces: "network/interfaces", configDb: "sonic/config_db.json", nftables: "nftables/bulkhead.nft" } as const;
