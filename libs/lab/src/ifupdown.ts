// The subset of ifupdown2 that Bulkhead renders, read into a layout for the network-namespace VRF
// backend: each VRF becomes a namespace, a VLAN's SVI becomes a bridge in its VRF's namespace, a
// VXLAN device joins the bridge of its access VLAN. Every statement is understood or reported —
// nothing is skipped, so a config the lab cannot reproduce never passes as proven.

export interface PortLayout {
  name: string;
  vrf?: string;
  mtu?: number;
  addresses: string[];
  down: boolean;
  /** Access VLAN (an untagged bridge port). */
  access?: number;
  /** IPv6 switched back on (`post-up sysctl -w net.ipv6.conf.<port>.disable_ipv6=0`). */
  ipv6: boolean;
}

/** eth0 in its VRF: a static address with gateway and routes, or DHCP. */
export interface ManagementLayout {
  vrf?: string;
  addresses: string[];
  gateway?: string;
  routes: string[];
  dhcp: boolean;
}

export interface SviLayout {
  name: string;
  vlan: number;
  vrf?: string;
  mtu?: number;
  addresses: string[];
}

export interface VxlanLayout {
  name: string;
  vni: number;
  access: number;
  mtu?: number;
  learning: boolean;
}

export interface InterfacesLayout {
  /** The interface holding the loopback addresses: `lo`, on SONiC `Loopback0`. */
  loopbackName: string;
  loopback: string[];
  vtep?: string;
  vrfs: string[];
  ports: Map<string, PortLayout>;
  svis: Map<number, SviLayout>;
  vxlans: VxlanLayout[];
  /** Names listed as bridge ports (VXLAN devices and access ports). */
  bridgePorts: string[];
  management?: ManagementLayout;
  errors: string[];
}

interface Stanza {
  name: string;
  line: number;
  head: string;
  options: { key: string; value: string; line: number }[];
}

function stanzas(text: string, errors: string[]): Stanza[] {
  const out: Stanza[] = [];
  const autos = new Set<string>();
  let current: Stanza | undefined;
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith("#")) return;
    const [key, ...rest] = trimmed.split(/\s+/);
    const value = rest.join(" ");
    if (key === "auto") {
      for (const name of rest) autos.add(name);
      current = undefined;
    } else if (key === "iface") {
      const [name, ...head] = rest;
      if (!name) errors.push(`line ${line}: iface without a name`);
      else out.push((current = { name, line, head: head.join(" "), options: [] }));
    } else if (!current) errors.push(`line ${line}: "${trimmed}" outside an iface stanza`);
    else current.options.push({ key: key!, value, line });
  });
  for (const s of out) if (!autos.has(s.name)) errors.push(`line ${s.line}: iface ${s.name} is not marked auto (it would not come up)`);
  return out;
}

const int = (value: string) => (/^\d+$/.test(value) ? Number(value) : NaN);

/** Reads an `interfaces` file; anything outside the subset is an error naming its line. */
export function readInterfaces(text: string): InterfacesLayout {
  const errors: string[] = [];
  const layout: InterfacesLayout = { loopbackName: "lo", loopback: [], vrfs: [], ports: new Map(), svis: new Map(), vxlans: [], bridgePorts: [], errors };
  for (const s of stanzas(text, errors)) {
    const keys = new Set(s.options.map((o) => o.key));
    const unknown = (allowed: string[]) => {
      for (const o of s.options) if (!allowed.includes(o.key)) errors.push(`line ${o.line}: "${o.key} ${o.value}" in iface ${s.name} is not understood`);
    };
    const numberOf = (key: string) => {
      const o = s.options.find((x) => x.key === key);
      if (!o) return undefined;
      const n = int(o.value);
      if (Number.isNaN(n)) errors.push(`line ${o.line}: ${key} "${o.value}" is not a number`);
      return n;
    };
    const valueOf = (key: string) => s.options.find((o) => o.key === key)?.value;
    const addresses = s.options.filter((o) => o.key === "address").map((o) => o.value);
    const postUps = s.options.filter((o) => o.key === "post-up");
    if (s.head && !(s.name === "lo" && s.head === "inet loopback") && !(s.name === "eth0" && s.head === "inet dhcp")) errors.push(`line ${s.line}: "iface ${s.name} ${s.head}" is not understood`);
    if (s.name === "eth0") {
      unknown(["address", "gateway", "vrf", "post-up"]);
      const gateway = valueOf("gateway");
      const vrf = valueOf("vrf");
      const routes = postUps.map((o) => {
        const m = /^ip route add (\S+) via (\S+) vrf (\S+)$/.exec(o.value);
        if (!m || m[2] !== gateway || m[3] !== vrf) errors.push(`line ${o.line}: "post-up ${o.value}" in iface eth0 is not a route through its gateway in its VRF`);
        return m?.[1] ?? "";
      });
      layout.management = { vrf, addresses, gateway, routes, dhcp: s.head === "inet dhcp" };
    } else if (s.name === "lo") {
      unknown(["address", "vxlan-local-tunnelip"]);
      layout.loopback.push(...addresses);
      layout.vtep = valueOf("vxlan-local-tunnelip");
    } else if (keys.has("vrf-table")) {
      unknown(["vrf-table", "mtu", "address"]);
      if (valueOf("vrf-table") !== "auto") errors.push(`line ${s.line}: vrf-table of ${s.name} is not "auto"`);
      // A VRF's own loopback addresses: what every namespace's lo has already.
      for (const a of addresses) if (a !== "127.0.0.1/8" && a !== "::1/128") errors.push(`line ${s.line}: VRF ${s.name} has address ${a}, not a loopback address`);
      layout.vrfs.push(s.name);
    } else if (keys.has("vxlan-id")) {
      unknown(["vxlan-id", "bridge-access", "bridge-learning", "bridge-arp-nd-suppress", "mstpctl-bpduguard", "mstpctl-portbpdufilter", "mtu"]);
      const access = numberOf("bridge-access");
      if (access === undefined) errors.push(`line ${s.line}: VXLAN device ${s.name} is in no VLAN (bridge-access)`);
      layout.vxlans.push({ name: s.name, vni: numberOf("vxlan-id")!, access: access ?? 0, mtu: numberOf("mtu"), learning: valueOf("bridge-learning") !== "off" });
    } else if (keys.has("vlan-id")) {
      unknown(["vlan-id", "vlan-raw-device", "vrf", "address", "mtu"]);
      if (valueOf("vlan-raw-device") !== "bridge") errors.push(`line ${s.line}: SVI ${s.name} is not on the bridge`);
      const vlan = numberOf("vlan-id")!;
      if (layout.svis.has(vlan)) errors.push(`line ${s.line}: VLAN ${vlan} has two SVIs (${layout.svis.get(vlan)!.name}, ${s.name})`);
      layout.svis.set(vlan, { name: s.name, vlan, vrf: valueOf("vrf"), mtu: numberOf("mtu"), addresses });
    } else if (s.name === "bridge") {
      unknown(["bridge-ports", "bridge-vids", "bridge-vlan-aware", "mtu"]);
      if (valueOf("bridge-vlan-aware") !== "yes") errors.push(`line ${s.line}: the bridge is not VLAN-aware`);
      layout.bridgePorts.push(...(valueOf("bridge-ports") ?? "").split(/\s+/).filter(Boolean));
    } else {
      unknown(["mtu", "vrf", "address", "link-down", "bridge-access", "post-up"]);
      const down = valueOf("link-down");
      if (down !== undefined && down !== "yes") errors.push(`line ${s.line}: link-down "${down}" is not understood`);
      const ipv6 = `sysctl -w net.ipv6.conf.${s.name}.disable_ipv6=0`;
      for (const o of postUps) if (o.value !== ipv6) errors.push(`line ${o.line}: "post-up ${o.value}" in iface ${s.name} is not understood`);
      layout.ports.set(s.name, { name: s.name, vrf: valueOf("vrf"), mtu: numberOf("mtu"), addresses, down: down === "yes", access: numberOf("bridge-access"), ipv6: postUps.length > 0 });
    }
  }
  // Cross-references: every VRF named exists, every VXLAN device and access port is a bridge port.
  const vrfs = new Set(layout.vrfs);
  for (const p of layout.ports.values()) {
    if (p.vrf && !vrfs.has(p.vrf)) errors.push(`port ${p.name} is in ${p.vrf}, which is not defined`);
    if (p.access !== undefined && !layout.bridgePorts.includes(p.name)) errors.push(`port ${p.name} has an access VLAN but is no bridge port`);
  }
  for (const s of layout.svis.values()) if (s.vrf && !vrfs.has(s.vrf)) errors.push(`SVI ${s.name} is in ${s.vrf}, which is not defined`);
  if (layout.management?.vrf && !vrfs.has(layout.management.vrf)) errors.push(`eth0 is in ${layout.management.vrf}, which is not defined`);
  for (const v of layout.vxlans) {
    if (!layout.bridgePorts.includes(v.name)) errors.push(`VXLAN device ${v.name} is no bridge port`);
    if (!layout.vtep) errors.push(`VXLAN device ${v.name} has no local tunnel address (vxlan-local-tunnelip on lo)`);
  }
  for (const name of layout.bridgePorts) {
    if (!layout.ports.has(name) && !layout.vxlans.some((v) => v.name === name)) errors.push(`bridge port ${name} has no iface stanza`);
  }
  return layout;
}

/** The namespace-local VRF of a port, if it is in one. */
export const vrfOfPort = (layout: InterfacesLayout, port: string) => layout.ports.get(port)?.vrf;
