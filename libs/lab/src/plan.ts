// Pure planning of an emulated partition: one network namespace per router and per VRF of a
// router (FRR's netns VRF backend), a veth per cable named after the ports it joins, the rendered
// interfaces translated into `ip` commands, and the FRR configuration of every router. Routers the
// lab adds itself — spines and the stand-ins of external BGP peers — get small configs owned by
// the lab (`spineConfig`, `externalPeerConfig`).
import { createHash } from "node:crypto";
import { FILES, type LabInput, type RecordMachine, type RecordNetwork } from "./input.js";
import { readConfigDb } from "./configdb.js";
import { readInterfaces, type InterfacesLayout } from "./ifupdown.js";

export type RouterKind = "leaf" | "exit" | "firewall" | "machine" | "spine" | "external";

/** Where a router's port leads. */
export interface PortEnd {
  /** Namespace the port lives in. */
  ns: string;
  /** The VRF the port is in (`default` unless the interfaces file puts it in one). */
  vrf: string;
  peer?: { router: string; port: string };
}

export interface RouterPlan {
  name: string;
  kind: RouterKind;
  /** Namespace of the router's default VRF. */
  ns: string;
  /** VRF name → namespace. */
  vrfs: Record<string, string>;
  pathspace: string;
  config: string;
  ports: Record<string, PortEnd>;
  /** Addresses on the loopback (router id, VTEP, a machine's addresses). */
  loopback: string[];
  vtep?: string;
  /** VRF → its L3VNI, the VNI's SVI and VXLAN device and the SVI's MAC (the router MAC EVPN advertises). */
  evpn: Record<string, { vni: number; svi: string; vxlan: string; mac: string }>;
  /** BGP neighbors (interface names or addresses) that have a router at the other end. */
  live: string[];
  /** The VRF of the management interface (eth0), if the device has one. */
  management?: string;
}

export interface PingPlan {
  from: string;
  ns: string;
  source: string;
  destination: string;
  to: string;
  expect: boolean;
  why: string;
}

export interface LabPlan {
  prefix: string;
  namespaces: string[];
  /** argv lists, run in order. */
  commands: string[][];
  routers: RouterPlan[];
  nft: { router: string; ns: string; ruleset: string }[];
  pings: PingPlan[];
  /** What could not be reproduced; a plan with errors is not run. */
  errors: string[];
}

const ip = (ns: string, ...args: string[]) => ["ip", "-n", ns, ...args];
const familyFlag = (address: string) => (address.includes(":") ? ["-6"] : []);
const withLength = (address: string) => (address.includes("/") ? address : `${address}/${address.includes(":") ? 128 : 32}`);
const sysctl = (ns: string, settings: Record<string, string>) => ["ip", "netns", "exec", ns, "sh", "-c", Object.entries(settings).map(([k, v]) => `echo ${v} > /proc/sys/${k.replaceAll(".", "/")}`).join(" && ")];

/** The lab's spines: route servers of the underlay and the EVPN routes, nothing else. */
export function spineConfig(hostname: string, asn: number, routerId: string, ports: readonly string[]): string {
  return [
    "frr defaults datacenter",
    `hostname ${hostname}`,
    `router bgp ${asn}`,
    ` bgp router-id ${routerId}`,
    " bgp bestpath as-path multipath-relax",
    " neighbor FABRIC peer-group",
    " neighbor FABRIC remote-as external",
    " neighbor FABRIC timers 2 8",
    ...ports.map((p) => ` neighbor ${p} interface peer-group FABRIC`),
    " address-family ipv4 unicast",
    "  redistribute connected",
    " exit-address-family",
    " address-family ipv6 unicast",
    "  neighbor FABRIC activate",
    " exit-address-family",
    " address-family l2vpn evpn",
    "  neighbor FABRIC activate",
    " exit-address-family",
    "exit",
    "",
  ].join("\n");
}

/** The stand-in of an external BGP peer: announces `announce` to the exit switch, in the session's family only. */
export function externalPeerConfig(hostname: string, asn: number, address: string, neighbor: string, neighborAsn: number, announce: readonly string[]): string {
  const v6 = neighbor.includes(":");
  const family = v6 ? "ipv6 unicast" : "ipv4 unicast";
  const routerId = v6 ? "192.0.2.254" : address.split("/")[0]!;
  return [
    "frr defaults datacenter",
    `hostname ${hostname}`,
    `router bgp ${asn}`,
    ` bgp router-id ${routerId}`,
    " no bgp default ipv4-unicast",
    " no bgp network import-check",
    " no bgp ebgp-requires-policy",
    ` neighbor ${neighbor} remote-as ${neighborAsn}`,
    ` neighbor ${neighbor} timers 2 8`,
    ` address-family ${family}`,
    `  neighbor ${neighbor} activate`,
    ...announce.filter((p) => p.includes(":") === v6).map((p) => `  network ${p}`),
    " exit-address-family",
    "exit",
    "",
  ].join("\n");
}

/**
 * A fixed, locally administered MAC for a bridge: a Linux bridge otherwise takes its lowest
 * port's MAC and changes it as ports come and go, and an SVI's MAC is the router MAC that EVPN
 * advertises — on a switch it never changes.
 */
const bridgeMac = (router: string, bridge: string) => `02:${createHash("sha256").update(`${router}/${bridge}`).digest("hex").slice(0, 10).match(/../g)!.join(":")}`;

/** A short, namespace-safe name. */
const safe = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, "_");

/** The machine's own network: a private network of its project, else a shared one of its project. */
export function primaryOf(machine: RecordMachine, networks: ReadonlyMap<string, RecordNetwork>): RecordNetwork | undefined {
  const own = machine.networks.map((n) => networks.get(n)).filter((n): n is RecordNetwork => n !== undefined && n.project === machine.project);
  return own.find((n) => n.kind === "private") ?? own.find((n) => n.kind === "shared");
}

export function planLab(input: LabInput, prefix: string): LabPlan {
  const errors: string[] = [];
  const namespaces: string[] = [];
  const commands: string[][] = [];
  const routers: RouterPlan[] = [];
  const byName = new Map<string, RouterPlan>();
  const layouts = new Map<string, InterfacesLayout>();
  const nft: LabPlan["nft"] = [];

  const router = (name: string, kind: RouterKind, config: string, vrfs: string[] = []): RouterPlan => {
    const ns = `${prefix}-${safe(name)}`;
    const r: RouterPlan = { name, kind, ns, vrfs: Object.fromEntries(vrfs.map((v) => [v, `${ns}.${v}`])), pathspace: `${prefix}-${safe(name)}`, config, ports: {}, loopback: [], evpn: {}, live: [] };
    for (const n of [ns, ...Object.values(r.vrfs)]) {
      namespaces.push(n);
      commands.push(["ip", "netns", "add", n], ip(n, "link", "set", "lo", "up"));
      // No duplicate address detection: link-local addresses (BGP unnumbered) are usable at once.
      commands.push(sysctl(n, { "net.ipv6.conf.all.accept_dad": "0", "net.ipv6.conf.default.accept_dad": "0", "net.ipv4.ip_forward": kind === "machine" ? "0" : "1", "net.ipv6.conf.all.forwarding": kind === "machine" ? "0" : "1" }));
    }
    routers.push(r);
    byName.set(name, r);
    return r;
  };

  // Devices Bulkhead configures: their interfaces decide which namespace each port lives in.
  for (const d of input.devices) {
    const frr = d.files[FILES.frr];
    // A SONiC switch's interfaces are its CONFIG_DB document; everything else has an interfaces file.
    const path = d.files[FILES.configDb] !== undefined ? FILES.configDb : FILES.interfaces;
    const ifaces = d.files[path];
    if (frr === undefined) errors.push(`${d.id}: no ${FILES.frr}`);
    if (ifaces === undefined) errors.push(`${d.id}: no ${FILES.interfaces}`);
    const layout = path === FILES.configDb ? readConfigDb(ifaces!) : readInterfaces(ifaces ?? "");
    errors.push(...layout.errors.map((e) => `${d.id} ${path} ${e}`));
    layouts.set(d.id, layout);
    const r = router(d.id, d.kind, frr ?? "", layout.vrfs);
    r.loopback = layout.loopback.map(withLength);
    r.vtep = layout.vtep;
    if (d.kind === "firewall") {
      const ruleset = d.files[FILES.nftables];
      if (ruleset === undefined) errors.push(`${d.id}: no ${FILES.nftables}`);
      else nft.push({ router: d.id, ns: `${r.ns}.nft`, ruleset });
    }
  }
  const networks = new Map(input.records.networks.map((n) => [n.id, n]));
  const machineRecords = new Map(input.records.machines.map((m) => [m.id, m]));
  for (const m of input.machines) {
    const r = router(m.id, "machine", m.frr);
    r.loopback = m.addresses.map(withLength);
  }

  const portEnd = (r: RouterPlan, port: string): PortEnd => {
    const vrf = layouts.get(r.name)?.ports.get(port)?.vrf;
    if (vrf && !r.vrfs[vrf]) errors.push(`${r.name}: port ${port} is in ${vrf}, which has no namespace`);
    return (r.ports[port] ??= { ns: vrf ? (r.vrfs[vrf] ?? r.ns) : r.ns, vrf: vrf ?? "default" });
  };
  const cable = (a: RouterPlan, aPort: string, b: RouterPlan, bPort: string) => {
    const ea = portEnd(a, aPort);
    const eb = portEnd(b, bPort);
    if (ea.peer || eb.peer) {
      errors.push(`${a.name} ${aPort} or ${b.name} ${bPort} is cabled twice`);
      return;
    }
    ea.peer = { router: b.name, port: bPort };
    eb.peer = { router: a.name, port: aPort };
    commands.push(["ip", "link", "add", aPort, "netns", ea.ns, "type", "veth", "peer", "name", bPort, "netns", eb.ns]);
    a.live.push(aPort);
    b.live.push(bPort);
  };

  // Spines: the lab's; uplinks of the leaves and exit switches in order, round robin.
  const spines = input.spines.length > 0 ? input.spines : [{ id: "spine", asn: 4200000000, routerId: "10.255.254.1" }];
  const spinePorts = new Map<string, string[]>(spines.map((s) => [s.id, []]));
  const uplinks: { device: RouterPlan; port: string; spine: string; spinePort: string }[] = [];
  for (const d of input.devices.filter((x) => x.kind !== "firewall")) {
    [...(d.uplinks ?? [])].sort().forEach((port, i) => {
      const spine = spines[i % spines.length]!;
      const ports = spinePorts.get(spine.id)!;
      ports.push(`swp${ports.length + 1}`);
      uplinks.push({ device: byName.get(d.id)!, port, spine: spine.id, spinePort: ports.at(-1)! });
    });
  }
  for (const s of spines) {
    const r = router(s.id, "spine", spineConfig(s.id, s.asn, s.routerId, spinePorts.get(s.id)!));
    r.loopback = [withLength(s.routerId)];
  }
  for (const u of uplinks) cable(u.device, u.port, byName.get(u.spine)!, u.spinePort);

  // The connection map: a switch port and a machine's (or firewall's) NIC.
  for (const c of input.cables) {
    const sw = byName.get(c.switch);
    const m = byName.get(c.machine);
    if (!sw) {
      errors.push(`cable ${c.switch} ${c.port}: no such switch in the lab`);
      continue;
    }
    if (!m) continue; // a machine that is not installed: its port stays empty
    cable(sw, c.port, m, c.nic);
  }

  // External peers: a stand-in router on the exit switch's port, announcing what it may.
  for (const p of input.records.peerings) {
    const s = p.external;
    if (!s) continue;
    const sw = byName.get(s.switch);
    if (!sw) {
      errors.push(`external peering ${p.id}: no switch ${s.switch} in the lab`);
      continue;
    }
    const announce = input.announce?.[`${s.switch}/${s.port}`] ?? s.remotePrefixes;
    const name = `ext-${s.switch}-${s.port}`;
    const r = router(name, "external", externalPeerConfig(name, s.remoteAsn, s.remoteAddress, s.localAddress.split("/")[0]!, s.localAsn, announce));
    cable(sw, s.port, r, "eth0");
    commands.push(ip(r.ns, ...familyFlag(s.remoteAddress), "addr", "add", s.remoteAddress, "dev", "eth0"));
    commands.push(ip(r.ns, "link", "set", "eth0", "mtu", "9000", "up"));
    sw.live.push(s.remoteAddress.split("/")[0]!);
    r.live.push(s.localAddress.split("/")[0]!);
  }

  // Interfaces of the configured devices, translated for the namespace backend.
  for (const d of input.devices) {
    const r = byName.get(d.id)!;
    const layout = layouts.get(d.id)!;
    for (const v of layout.vxlans) {
      const svi = layout.svis.get(v.access);
      if (svi?.vrf) r.evpn[svi.vrf] = { vni: v.vni, svi: svi.name, vxlan: v.name, mac: bridgeMac(d.id, svi.name) };
    }
    // SONiC's loopback is an interface of its own (Loopback0): a veth pair, up, stands in for it.
    if (layout.loopbackName !== "lo") commands.push(ip(r.ns, "link", "add", layout.loopbackName, "type", "veth", "peer", "name", `${layout.loopbackName}-p`), ip(r.ns, "link", "set", `${layout.loopbackName}-p`, "up"), ip(r.ns, "link", "set", layout.loopbackName, "up"));
    for (const a of r.loopback) commands.push(ip(r.ns, ...familyFlag(a), "addr", "add", a, "dev", layout.loopbackName));
    const nsOf = (vrf: string | undefined) => (vrf ? (r.vrfs[vrf] ?? r.ns) : r.ns);
    for (const svi of [...layout.svis.values()].sort((a, b) => a.vlan - b.vlan)) {
      const ns = nsOf(svi.vrf);
      commands.push(ip(ns, "link", "add", svi.name, "address", bridgeMac(d.id, svi.name), "type", "bridge"));
      if (svi.mtu) commands.push(ip(ns, "link", "set", svi.name, "mtu", String(svi.mtu)));
      for (const a of svi.addresses) commands.push(ip(ns, ...familyFlag(a), "addr", "add", withLength(a), "dev", svi.name));
      commands.push(ip(ns, "link", "set", svi.name, "up"));
    }
    const bridgeOf = (vlan: number) => {
      const svi = layout.svis.get(vlan);
      if (svi) return { ns: nsOf(svi.vrf), name: svi.name };
      // An L2-only VLAN (no SVI): a bridge of its own in the default namespace.
      const name = `br${vlan}`;
      if (!r.ports[`bridge:${vlan}`]) {
        r.ports[`bridge:${vlan}`] = { ns: r.ns, vrf: "default" };
        commands.push(ip(r.ns, "link", "add", name, "address", bridgeMac(d.id, name), "type", "bridge"), ip(r.ns, "link", "set", name, "up"));
      }
      return { ns: r.ns, name };
    };
    for (const v of layout.vxlans) {
      const target = bridgeOf(v.access);
      commands.push(ip(r.ns, "link", "add", v.name, "type", "vxlan", "id", String(v.vni), "local", layout.vtep ?? "0.0.0.0", "dstport", "4789", ...(v.learning ? [] : ["nolearning"])));
      if (target.ns !== r.ns) commands.push(ip(r.ns, "link", "set", v.name, "netns", target.ns));
      if (v.mtu) commands.push(ip(target.ns, "link", "set", v.name, "mtu", String(v.mtu)));
      commands.push(ip(target.ns, "link", "set", v.name, "master", target.name), ip(target.ns, "link", "set", v.name, "up"));
    }
    for (const port of [...layout.ports.values()].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const end = r.ports[port.name];
      if (!end) continue; // nothing cabled: nothing to configure
      if (port.mtu) commands.push(ip(end.ns, "link", "set", port.name, "mtu", String(port.mtu)));
      if (port.ipv6) commands.push(sysctl(end.ns, { [`net.ipv6.conf.${port.name}.disable_ipv6`]: "0" }));
      for (const a of port.addresses) commands.push(ip(end.ns, ...familyFlag(a), "addr", "add", a, "dev", port.name));
      if (port.access !== undefined) {
        const target = bridgeOf(port.access);
        if (target.ns !== end.ns) errors.push(`${d.id}: port ${port.name} (in ${end.vrf}) is an access port of VLAN ${port.access} in another VRF`);
        else commands.push(ip(end.ns, "link", "set", port.name, "master", target.name));
      }
      commands.push(ip(end.ns, "link", "set", port.name, port.down ? "down" : "up"));
      if (port.down) r.live.splice(r.live.indexOf(port.name), 1);
    }
    // Management: eth0 with its address and routes; the lab has no management network, so its
    // other end is a veth peer in the same namespace (the kernel may lack dummy links).
    const m = layout.management;
    if (m) {
      r.management = m.vrf;
      const ns = nsOf(m.vrf);
      commands.push(ip(ns, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0-peer"));
      for (const a of m.addresses) commands.push(ip(ns, ...familyFlag(a), "addr", "add", a, "dev", "eth0"));
      commands.push(ip(ns, "link", "set", "eth0-peer", "up"), ip(ns, "link", "set", "eth0", "up"));
      if (m.gateway) for (const to of ["default", ...m.routes]) commands.push(ip(ns, ...familyFlag(m.gateway), "route", "add", to, "via", m.gateway));
    }
    // Cabled ports the file does not mention come up unconfigured, in the default VRF.
    for (const [name, end] of Object.entries(r.ports)) if (end.peer && !layout.ports.has(name)) commands.push(ip(end.ns, "link", "set", name, "up"));
  }
  // Machines, spines and external peers: loopbacks and ports up.
  for (const r of routers.filter((x) => x.kind === "machine" || x.kind === "spine")) {
    for (const a of r.loopback) commands.push(ip(r.ns, ...familyFlag(a), "addr", "add", a, "dev", "lo"));
    for (const p of input.hostile?.[r.name] ?? []) commands.push(ip(r.ns, ...familyFlag(p), "route", "add", "blackhole", p));
    for (const [name, end] of Object.entries(r.ports)) commands.push(ip(end.ns, "link", "set", name, "mtu", "9000"), ip(end.ns, "link", "set", name, "up"));
  }
  // A port down on one side leaves its peer's session dangling.
  for (const r of routers) {
    for (const [name, end] of Object.entries(r.ports)) {
      if (!end.peer) continue;
      const peer = byName.get(end.peer.router)!;
      if (!peer.live.includes(end.peer.port)) r.live = r.live.filter((x) => x !== name);
    }
  }

  return { prefix, namespaces, commands, routers, nft, pings: pingsOf(input, byName, machineRecords, networks), errors };
}

/**
 * Real packets where the namespace backend forwards: between machines of one network cabled to
 * different switches (expected through), and between machines of different projects (expected not).
 */
function pingsOf(input: LabInput, routers: ReadonlyMap<string, RouterPlan>, machines: ReadonlyMap<string, RecordMachine>, networks: ReadonlyMap<string, RecordNetwork>): PingPlan[] {
  const placed = input.machines
    .map((m) => {
      const record = machines.get(m.id);
      const primary = record ? primaryOf(record, networks) : undefined;
      const address = record?.ips.find((i) => i.network === primary?.id && !i.address.includes(":"))?.address;
      const switches = new Set(input.cables.filter((c) => c.machine === m.id).map((c) => c.switch));
      return record && primary && address && routers.get(m.id) ? { id: m.id, project: record.project, network: primary.id, address, switches, ns: routers.get(m.id)!.ns } : undefined;
    })
    .filter((m): m is NonNullable<typeof m> => m !== undefined)
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const pings: PingPlan[] = [];
  const seen = new Set<string>();
  for (const a of placed) {
    for (const b of placed) {
      if (a.id >= b.id) continue;
      const sameNetwork = a.network === b.network && ![...a.switches].some((s) => b.switches.has(s));
      const otherProject = a.project !== b.project;
      const key = sameNetwork ? `net:${a.network}` : `proj:${[a.project, b.project].sort().join("|")}`;
      if ((!sameNetwork && !otherProject) || seen.has(key)) continue;
      seen.add(key);
      pings.push({ from: a.id, ns: a.ns, source: a.address, destination: b.address, to: b.id, expect: sameNetwork, why: sameNetwork ? `same network ${a.network} on different switches` : `projects ${a.project} and ${b.project}` });
    }
  }
  return pings;
}
