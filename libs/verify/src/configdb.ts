// A closed-world reader of the CONFIG_DB document Bulkhead renders for SONiC leaves, into the same
// interface model as an ifupdown2 file (interfaces.ts), in the canonical names the checks use
// (`vrf<N>`, `vlan<N>`, `vni<N>`, `lo`). A table, key or field outside the rendered subset is
// returned in `unknown`: the checks report it.
import type { Iface, IfaceKind, Interfaces } from "./interfaces.js";

type Fields = Record<string, unknown>;

/** SONiC's `Vrf<N>` as the checks name it. */
export const canonicalVrf = (name: string) => name.replace(/^Vrf(\d+)$/, "vrf$1");

/** Line of each table (`TABLE`) and key (`TABLE|key`) in the canonical two-space layout; 0 elsewhere. */
function lineIndex(text: string): (table: string, key?: string) => number {
  const lines = new Map<string, number>();
  let table = "";
  text.split("\n").forEach((raw, i) => {
    const t = /^ {2}"([^"]+)": \{/.exec(raw);
    if (t) lines.set((table = t[1]!), i + 1);
    const k = /^ {4}"([^"]+)": \{/.exec(raw);
    if (k) lines.set(`${table}|${k[1]}`, i + 1);
  });
  return (table, key) => lines.get(key === undefined ? table : `${table}|${key}`) ?? lines.get(table) ?? 0;
}

export function parseConfigDb(text: string): Interfaces {
  const result: Interfaces = { ifaces: new Map(), unknown: [] };
  let db: Record<string, Record<string, Fields>>;
  try {
    db = JSON.parse(text) as typeof db;
    if (typeof db !== "object" || db === null || Array.isArray(db)) throw new Error("not an object of tables");
  } catch (error) {
    result.unknown.push({ line: 0, text: `config_db.json: ${(error as Error).message}` });
    return result;
  }
  const lineOf = lineIndex(text);
  const iface = (name: string, kind: IfaceKind, line: number): Iface => {
    let i = result.ifaces.get(name);
    if (!i) result.ifaces.set(name, (i = { name, kind, line, addresses: [], down: false, bridgePorts: [] }));
    return i;
  };
  const tables: Record<string, (key: string, fields: Fields, line: number, unknown: (what: string) => void) => void> = {
    PORT(key, f, line, unknown) {
      if (!/^Ethernet\d+$/.test(key)) return unknown("a port that is not Ethernet<n>");
      if (f.admin_status !== "up" && f.admin_status !== "down") unknown(`admin_status ${String(f.admin_status)}`);
      iface(key, "port", line).down = f.admin_status === "down";
    },
    INTERFACE(key, f, line, unknown) {
      const [port, address, ...rest] = key.split("|");
      if (!/^Ethernet\d+$/.test(port!) || rest.length > 0) return unknown("not a port or a port's address");
      const i = iface(port!, "port", line);
      if (address !== undefined) return void i.addresses.push(address);
      if (f.vrf_name !== undefined) i.vrf = canonicalVrf(String(f.vrf_name));
      if (f.ipv6_use_link_local_only !== undefined && f.ipv6_use_link_local_only !== "enable") unknown(`ipv6_use_link_local_only ${String(f.ipv6_use_link_local_only)}`);
    },
    LOOPBACK_INTERFACE(key, _f, line, unknown) {
      const [name, address, ...rest] = key.split("|");
      if (name !== "Loopback0" || rest.length > 0) return unknown("a loopback other than Loopback0");
      const lo = iface("lo", "loopback", line);
      if (address !== undefined) lo.addresses.push(address);
    },
    VXLAN_TUNNEL(key, f, line, unknown) {
      if (key !== "vtep") return unknown("a second VXLAN tunnel");
      iface("lo", "loopback", line).tunnelIp = String(f.src_ip);
    },
    VXLAN_EVPN_NVO(key, f, _line, unknown) {
      if (key !== "nvo" || f.source_vtep !== "vtep") unknown("an EVPN NVO other than nvo of vtep");
    },
    VRF(key, f, line, unknown) {
      if (!/^Vrf\d+$/.test(key)) return unknown("SONiC VRF names start with Vrf and Bulkhead's end in their VNI");
      iface(canonicalVrf(key), "vrf", line).vxlanId = /^\d+$/.test(String(f.vni)) ? Number(f.vni) : undefined;
    },
    VLAN(key, f, line, unknown) {
      const vlan = /^Vlan(\d+)$/.exec(key)?.[1];
      if (!vlan || f.vlanid !== vlan) return unknown("a VLAN whose name and vlanid differ");
      iface(`vlan${vlan}`, "svi", line).vlanId = Number(vlan);
    },
    VLAN_INTERFACE(key, f, line, unknown) {
      const m = /^Vlan(\d+)(?:\|(.+))?$/.exec(key);
      if (!m) return unknown("not a VLAN's interface");
      if (!db.VLAN?.[`Vlan${m[1]}`]) unknown(`VLAN ${m[1]} is not defined`);
      const svi = iface(`vlan${m[1]}`, "svi", line);
      if (m[2] !== undefined) svi.addresses.push(m[2]);
      else if (f.vrf_name !== undefined) svi.vrf = canonicalVrf(String(f.vrf_name));
    },
    VLAN_MEMBER(key, f, line, unknown) {
      const m = /^Vlan(\d+)\|(Ethernet\d+)$/.exec(key);
      if (!m || f.tagging_mode !== "untagged") return unknown("only untagged port members are rendered");
      if (!db.VLAN?.[`Vlan${m[1]}`]) unknown(`VLAN ${m[1]} is not defined`);
      iface(m[2]!, "port", line).bridgeAccess = Number(m[1]);
    },
    SUPPRESS_VLAN_NEIGH(key, f, _line, unknown) {
      if (!/^Vlan\d+$/.test(key) || f.suppress !== "on") unknown("only neighbour suppression switched on is rendered");
    },
    VXLAN_TUNNEL_MAP(key, f, line, unknown) {
      const m = /^vtep\|map_(\d+)_Vlan(\d+)$/.exec(key);
      if (!m || f.vni !== m[1] || f.vlan !== `Vlan${m[2]}`) return unknown("a tunnel map whose name and fields differ");
      if (!db.VLAN?.[`Vlan${m[2]}`]) unknown(`VLAN ${m[2]} is not defined`);
      const vxlan = iface(`vni${m[1]}`, "vxlan", line);
      if (vxlan.vxlanId !== undefined) unknown(`VNI ${m[1]} is mapped twice`);
      vxlan.vxlanId = Number(m[1]);
      vxlan.bridgeAccess = Number(m[2]);
    },
  };
  /** The fields each table's entries may have. */
  const fieldsOf: Record<string, string[]> = { PORT: ["admin_status", "mtu"], INTERFACE: ["vrf_name", "ipv6_use_link_local_only"], VXLAN_TUNNEL: ["src_ip"], VXLAN_EVPN_NVO: ["source_vtep"], VRF: ["vni"], VLAN: ["vlanid"], VLAN_INTERFACE: ["vrf_name"], VLAN_MEMBER: ["tagging_mode"], SUPPRESS_VLAN_NEIGH: ["suppress"], VXLAN_TUNNEL_MAP: ["vlan", "vni"], LOOPBACK_INTERFACE: [] };
  for (const [table, entries] of Object.entries(db)) {
    const read = tables[table];
    if (!read || typeof entries !== "object" || entries === null) {
      result.unknown.push({ line: lineOf(table), text: `table ${table}` });
      continue;
    }
    for (const [key, fields] of Object.entries(entries)) {
      const line = lineOf(table, key);
      const unknown = (what: string) => result.unknown.push({ line, text: `${table}|${key} (${what})` });
      if (typeof fields !== "object" || fields === null) {
        unknown("not an object of fields");
        continue;
      }
      for (const [field, value] of Object.entries(fields)) if (!fieldsOf[table]!.includes(field) || typeof value !== "string") unknown(`field ${field}`);
      read(key, fields, line, unknown);
    }
  }
  return result;
}
