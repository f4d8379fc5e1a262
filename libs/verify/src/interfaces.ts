// A closed-world reader of the ifupdown2 `interfaces` files Bulkhead renders for leaves and
// firewalls: each stanza's kind (loopback, port, bridge, VRF, SVI, VXLAN) and options, with lines.
// An option outside the rendered subset, or a stanza that is not `auto`, is returned in
// `unknown`: the checks report it.

export type IfaceKind = "loopback" | "port" | "bridge" | "vrf" | "svi" | "vxlan" | "management";

/** The management VRF and interface: apart from the fabric and every tenant. */
export const MGMT_VRF = "mgmt";
export const MGMT_IFACE = "eth0";
const MGMT_VRF_ADDRESSES = ["127.0.0.1/8", "::1/128"];

export interface Iface {
  name: string;
  kind: IfaceKind;
  line: number;
  vrf?: string;
  vlanId?: number;
  vxlanId?: number;
  bridgeAccess?: number;
  addresses: string[];
  down: boolean;
  bridgePorts: string[];
  tunnelIp?: string;
}

export interface Interfaces {
  ifaces: Map<string, Iface>;
  unknown: { line: number; text: string }[];
}

const allowed: Record<IfaceKind, string[]> = {
  loopback: ["address", "vxlan-local-tunnelip"],
  port: ["mtu", "vrf", "address", "link-down", "bridge-access", "post-up"],
  bridge: ["bridge-ports", "bridge-vids", "bridge-vlan-aware", "mtu"],
  vrf: ["vrf-table", "mtu", "address"],
  management: ["address", "gateway", "vrf", "post-up"],
  svi: ["vlan-id", "vlan-raw-device", "vrf", "address", "mtu"],
  vxlan: ["vxlan-id", "bridge-access", "bridge-learning", "bridge-arp-nd-suppress", "mstpctl-bpduguard", "mstpctl-portbpdufilter", "mtu"],
};

const kindOf = (name: string, keys: Set<string>): IfaceKind =>
  name === "lo" ? "loopback" : name === MGMT_IFACE ? "management" : keys.has("vrf-table") ? "vrf" : keys.has("vxlan-id") ? "vxlan" : keys.has("vlan-id") ? "svi" : name === "bridge" ? "bridge" : "port";

/**
 * The options whose value is itself a command or a choice: re-enabling IPv6 on a routed port,
 * a management route through eth0's gateway, the management VRF's loopback addresses.
 */
function understoodOption(name: string, kind: IfaceKind, o: { key: string; value: string }, gateway: string | undefined): boolean {
  if (o.key === "post-up" && kind === "port") return o.value === `sysctl -w net.ipv6.conf.${name}.disable_ipv6=0`;
  if (o.key === "post-up") {
    const route = /^ip route add (\S+\/\d+) via (\S+) vrf (\S+)$/.exec(o.value);
    return route !== null && route[2] === gateway && route[3] === MGMT_VRF;
  }
  if (o.key === "address" && kind === "vrf") return name === MGMT_VRF && MGMT_VRF_ADDRESSES.includes(o.value);
  return true;
}

export function parseInterfaces(text: string): Interfaces {
  const result: Interfaces = { ifaces: new Map(), unknown: [] };
  const autos = new Set<string>();
  const stanzas: { name: string; head: string; line: number; options: { key: string; value: string; line: number }[] }[] = [];
  text.split("\n").forEach((raw, i) => {
    const t = raw.trim();
    if (!t || t.startsWith("#")) return;
    const [key, ...rest] = t.split(/\s+/);
    if (key === "auto") for (const n of rest) autos.add(n);
    else if (key === "iface" && rest[0]) stanzas.push({ name: rest[0], head: rest.slice(1).join(" "), line: i + 1, options: [] });
    else if (stanzas.length > 0 && raw.startsWith(" ")) stanzas.at(-1)!.options.push({ key: key!, value: rest.join(" "), line: i + 1 });
    else result.unknown.push({ line: i + 1, text: t });
  });
  for (const s of stanzas) {
    const keys = new Set(s.options.map((o) => o.key));
    const kind = kindOf(s.name, keys);
    const get = (key: string) => s.options.find((o) => o.key === key)?.value;
    const num = (key: string) => (get(key) !== undefined && /^\d+$/.test(get(key)!) ? Number(get(key)) : undefined);
    if (!autos.has(s.name)) result.unknown.push({ line: s.line, text: `iface ${s.name} (not auto)` });
    if (s.head && !(kind === "loopback" && s.head === "inet loopback") && !(kind === "management" && s.head === "inet dhcp")) result.unknown.push({ line: s.line, text: `iface ${s.name} ${s.head}` });
    for (const o of s.options) if (!allowed[kind].includes(o.key) || !understoodOption(s.name, kind, o, get("gateway"))) result.unknown.push({ line: o.line, text: `${o.key} ${o.value} (in iface ${s.name})` });
    if (result.ifaces.has(s.name)) result.unknown.push({ line: s.line, text: `iface ${s.name} (a second stanza)` });
    result.ifaces.set(s.name, {
      name: s.name,
      kind,
      line: s.line,
      vrf: get("vrf"),
      vlanId: num("vlan-id"),
      vxlanId: num("vxlan-id"),
      bridgeAccess: num("bridge-access"),
      addresses: s.options.filter((o) => o.key === "address").map((o) => o.value),
      down: get("link-down") === "yes",
      bridgePorts: (get("bridge-ports") ?? "").split(/\s+/).filter(Boolean),
      tunnelIp: get("vxlan-local-tunnelip"),
    });
  }
  return result;
}
