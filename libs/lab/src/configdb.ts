// The subset of SONiC's CONFIG_DB that Bulkhead renders, read into the same layout as an ifupdown2
// file (ifupdown.ts) for the namespace VRF backend: a VRF is a namespace, a VLAN with an interface
// a bridge in its VRF's namespace, a tunnel map a VXLAN device in its VLAN. The lab's own reader,
// written apart from the verifier's: a table, key or field it does not know is an error.
import type { InterfacesLayout, PortLayout } from "./ifupdown.js";

type Db = Record<string, Record<string, Record<string, string>>>;

const FIELDS: Record<string, string[]> = {
  PORT: ["admin_status", "mtu"],
  INTERFACE: ["vrf_name", "ipv6_use_link_local_only"],
  LOOPBACK_INTERFACE: [],
  VXLAN_TUNNEL: ["src_ip"],
  VXLAN_EVPN_NVO: ["source_vtep"],
  VRF: ["vni"],
  VLAN: ["vlanid"],
  VLAN_INTERFACE: ["vrf_name"],
  VLAN_MEMBER: ["tagging_mode"],
  SUPPRESS_VLAN_NEIGH: ["suppress"],
  VXLAN_TUNNEL_MAP: ["vlan", "vni"],
};

export function readConfigDb(text: string): InterfacesLayout {
  const errors: string[] = [];
  const layout: InterfacesLayout = { loopbackName: "Loopback0", loopback: [], vrfs: [], ports: new Map(), svis: new Map(), vxlans: [], bridgePorts: [], errors };
  let db: Db;
  try {
    db = JSON.parse(text) as Db;
  } catch (error) {
    errors.push(`not JSON: ${(error as Error).message}`);
    return layout;
  }
  for (const [table, entries] of Object.entries(db)) {
    const fields = FIELDS[table];
    if (!fields) errors.push(`table ${table} is not understood`);
    else for (const [key, values] of Object.entries(entries)) for (const f of Object.keys(values)) if (!fields.includes(f)) errors.push(`${table}|${key}: field ${f} is not understood`);
  }
  const table = (name: string) => Object.entries(db[name] ?? {});
  const port = (name: string): PortLayout => {
    let p = layout.ports.get(name);
    if (!p) layout.ports.set(name, (p = { name, addresses: [], down: false, ipv6: true }));
    return p;
  };
  for (const [key] of table("LOOPBACK_INTERFACE")) {
    const [name, address] = key.split("|");
    if (name !== "Loopback0") errors.push(`LOOPBACK_INTERFACE|${key}: only Loopback0 is understood`);
    else if (address) layout.loopback.push(address);
  }
  layout.vtep = db.VXLAN_TUNNEL?.vtep?.src_ip;
  for (const [key, f] of table("VXLAN_TUNNEL")) if (key !== "vtep" || !f.src_ip) errors.push(`VXLAN_TUNNEL|${key}: only the tunnel vtep with its source address is understood`);
  for (const [key, f] of table("VXLAN_EVPN_NVO")) if (key !== "nvo" || f.source_vtep !== "vtep") errors.push(`VXLAN_EVPN_NVO|${key}: only nvo of vtep is understood`);
  for (const [key] of table("VRF")) layout.vrfs.push(key);
  for (const [key, f] of table("PORT")) {
    const p = port(key);
    p.mtu = f.mtu ? Number(f.mtu) : undefined;
    if (f.admin_status !== "up" && f.admin_status !== "down") errors.push(`PORT|${key}: admin_status "${f.admin_status}" is not understood`);
    p.down = f.admin_status === "down";
  }
  for (const [key, f] of table("INTERFACE")) {
    const [name, address] = key.split("|");
    const p = port(name!);
    if (address) p.addresses.push(address);
    else if (f.vrf_name) p.vrf = f.vrf_name;
  }
  const vlans = new Set(table("VLAN").map(([key, f]) => {
    if (key !== `Vlan${f.vlanid}`) errors.push(`VLAN|${key}: its vlanid is ${f.vlanid}`);
    return Number(f.vlanid);
  }));
  const vlanOf = (name: string, where: string) => {
    const n = Number(/^Vlan(\d+)$/.exec(name)?.[1]);
    if (!vlans.has(n)) errors.push(`${where}: VLAN ${name} is not defined`);
    return n;
  };
  for (const [key, f] of table("VLAN_INTERFACE")) {
    const [name, address] = key.split("|");
    const vlan = vlanOf(name!, `VLAN_INTERFACE|${key}`);
    const svi = layout.svis.get(vlan) ?? { name: name!, vlan, addresses: [] };
    layout.svis.set(vlan, svi);
    if (address) svi.addresses.push(address);
    else if (f.vrf_name) svi.vrf = f.vrf_name;
  }
  for (const [key, f] of table("VLAN_MEMBER")) {
    const [vlan, member] = key.split("|");
    if (f.tagging_mode !== "untagged") errors.push(`VLAN_MEMBER|${key}: only untagged members are understood`);
    const p = port(member!);
    p.access = vlanOf(vlan!, `VLAN_MEMBER|${key}`);
    p.ipv6 = false;
    layout.bridgePorts.push(member!);
  }
  for (const [key, f] of table("VXLAN_TUNNEL_MAP")) {
    if (!key.startsWith("vtep|")) errors.push(`VXLAN_TUNNEL_MAP|${key}: not a map of the tunnel vtep`);
    const name = `vni${f.vni}`;
    layout.vxlans.push({ name, vni: Number(f.vni), access: vlanOf(f.vlan ?? "", `VXLAN_TUNNEL_MAP|${key}`), learning: false });
    layout.bridgePorts.push(name);
  }
  for (const p of layout.ports.values()) if (p.vrf && !layout.vrfs.includes(p.vrf)) errors.push(`port ${p.name} is in ${p.vrf}, which is not defined`);
  for (const s of layout.svis.values()) if (s.vrf && !layout.vrfs.includes(s.vrf)) errors.push(`VLAN interface ${s.name} is in ${s.vrf}, which is not defined`);
  if (layout.vxlans.length > 0 && !layout.vtep) errors.push("VXLAN tunnel maps without a tunnel source (VXLAN_TUNNEL|vtep)");
  return layout;
}
