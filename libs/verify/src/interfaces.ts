// A reader of ifupdown2 `interfaces` files: per interface its VRF, VLAN, VXLAN id and the VLAN a
// VXLAN device is an access port of, with the line of its `iface` stanza.

export interface Iface {
  name: string;
  line: number;
  vrf?: string;
  vlanId?: number;
  vxlanId?: number;
  bridgeAccess?: number;
}

export function parseInterfaces(text: string): Map<string, Iface> {
  const ifaces = new Map<string, Iface>();
  let current: Iface | undefined;
  text.split("\n").forEach((raw, i) => {
    const [key, value] = raw.trim().split(/\s+/);
    if (key === "iface" && value) {
      current = ifaces.get(value) ?? { name: value, line: i + 1 };
      ifaces.set(value, current);
    } else if (key === "auto" || !key) {
      if (key === "auto") current = undefined;
    } else if (current && value) {
      if (key === "vrf") current.vrf = value;
      else if (key === "vlan-id") current.vlanId = Number(value);
      else if (key === "vxlan-id") current.vxlanId = Number(value);
      else if (key === "bridge-access") current.bridgeAccess = Number(value);
    }
  });
  return ifaces;
}
