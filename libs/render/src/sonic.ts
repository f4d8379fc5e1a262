// The SONiC flavour's interface configuration: the part of CONFIG_DB Bulkhead owns, as one JSON
// document in SONiC's own `config_db.json` layout (table → key → fields, all values strings).
// metal-core's applier writes it into the switch's CONFIG_DB as a diff (services/metal-core). The
// text is canonical — tables and fields sorted, keys in natural order, two-space indentation — so
// the agent can read CONFIG_DB back into the same text and a change behind its back shows up as a
// different hash.
import { naturally } from "./frr.js";
import { FLAVOURS, PXE_VLAN, PXE_VNI, type SwitchModel, type Vrf } from "./switch.js";

export type ConfigDb = Record<string, Record<string, Record<string, string>>>;

/**
 * The tables Bulkhead owns: a key in them that the document lacks is removed. PORT is shared with
 * SONiC itself (lanes, speed, alias): there Bulkhead sets only `PORT_FIELDS` of the ports it lists.
 */
export const CONFIG_DB_TABLES = ["INTERFACE", "LOOPBACK_INTERFACE", "PORT", "SUPPRESS_VLAN_NEIGH", "VLAN", "VLAN_INTERFACE", "VLAN_MEMBER", "VRF", "VXLAN_EVPN_NVO", "VXLAN_TUNNEL", "VXLAN_TUNNEL_MAP"] as const;
export const PORT_FIELDS = ["admin_status", "mtu"] as const;
/** The VXLAN tunnel (VTEP) object's name. */
export const VTEP = "vtep";

/** The canonical text of a CONFIG_DB document (see the file comment). */
export function configDbText(db: ConfigDb): string {
  const sorted: ConfigDb = {};
  for (const table of Object.keys(db).sort()) {
    sorted[table] = {};
    for (const key of Object.keys(db[table]!).sort(naturally)) {
      const fields = db[table]![key]!;
      sorted[table]![key] = Object.fromEntries(Object.keys(fields).sort().map((f) => [f, fields[f]!]));
    }
  }
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

export function renderConfigDb(model: SwitchModel, vrfs: readonly Vrf[], vlans: ReadonlyMap<number, number>): string {
  const { vrfName, loopback } = FLAVOURS.sonic;
  const db: ConfigDb = Object.fromEntries(CONFIG_DB_TABLES.map((t) => [t, {}]));
  const set = (table: (typeof CONFIG_DB_TABLES)[number], key: string, fields: Record<string, string> = {}) => (db[table]![key] = fields);
  const sessions = new Map(model.externalSessions.map((s) => [s.port, s]));
  const linkLocal = { ipv6_use_link_local_only: "enable" };

  set("LOOPBACK_INTERFACE", loopback);
  set("LOOPBACK_INTERFACE", `${loopback}|${model.routerId}/32`);
  set("VXLAN_TUNNEL", VTEP, { src_ip: model.routerId });
  set("VXLAN_EVPN_NVO", "nvo", { source_vtep: VTEP });
  const vlan = (id: number, vni: number, vrf?: string) => {
    set("VLAN", `Vlan${id}`, { vlanid: String(id) });
    set("VLAN_INTERFACE", `Vlan${id}`, vrf ? { vrf_name: vrf } : {});
    set("VXLAN_TUNNEL_MAP", `${VTEP}|map_${vni}_Vlan${id}`, { vlan: `Vlan${id}`, vni: String(vni) });
  };
  vlan(PXE_VLAN, PXE_VNI);
  if (model.pxeAddress) set("VLAN_INTERFACE", `Vlan${PXE_VLAN}|${model.pxeAddress}`);
  for (const v of vrfs) {
    const id = vlans.get(v.vrf)!;
    set("VRF", vrfName(v.vrf), { vni: String(v.vrf) });
    vlan(id, v.vrf, vrfName(v.vrf));
    set("SUPPRESS_VLAN_NEIGH", `Vlan${id}`, { suppress: "on" });
  }
  for (const port of model.ports) {
    const routed = port.role === "fabric" || port.role === "firewall";
    set("PORT", port.name, { admin_status: port.adminUp ? "up" : "down", mtu: routed ? "9216" : "9000" });
    if (!port.adminUp) continue;
    const session = sessions.get(port.name);
    if (session) {
      set("INTERFACE", port.name, { vrf_name: vrfName(session.vrf) });
      set("INTERFACE", `${port.name}|${session.localAddress}`);
    } else if (routed) set("INTERFACE", port.name, linkLocal);
    else if (port.role === "machine") set("INTERFACE", port.name, { ...linkLocal, vrf_name: vrfName(port.vrf) });
    else set("VLAN_MEMBER", `Vlan${PXE_VLAN}|${port.name}`, { tagging_mode: "untagged" });
  }
  return configDbText(db);
}
