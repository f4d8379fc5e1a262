// Switch-local VLANs for the L3 VNIs of tenant VRFs, stable across renders: a VRF keeps the VLAN it
// had (the caller passes the previous assignment back in), new VRFs take the lowest free VLAN.
export const TENANT_VLANS = { first: 1001, last: 2000 };

export class VlansExhausted extends Error {
  constructor(needed: number) {
    super(`${needed} VRFs need switch-local VLANs; the range ${TENANT_VLANS.first}-${TENANT_VLANS.last} holds ${TENANT_VLANS.last - TENANT_VLANS.first + 1}`);
  }
}

/** VRF → VLAN for `vrfs`, keeping `previous` assignments that are still in use and in range. */
export function assignVlans(vrfs: readonly number[], previous: Readonly<Record<string, number>>): Map<number, number> {
  const wanted = [...new Set(vrfs)].sort((a, b) => a - b);
  const assigned = new Map<number, number>();
  const used = new Set<number>();
  for (const vrf of wanted) {
    const vlan = previous[String(vrf)];
    if (vlan !== undefined && vlan >= TENANT_VLANS.first && vlan <= TENANT_VLANS.last && !used.has(vlan)) {
      assigned.set(vrf, vlan);
      used.add(vlan);
    }
  }
  let next = TENANT_VLANS.first;
  for (const vrf of wanted.filter((v) => !assigned.has(v))) {
    while (used.has(next)) next++;
    if (next > TENANT_VLANS.last) throw new VlansExhausted(wanted.length);
    assigned.set(vrf, next);
    used.add(next);
  }
  return new Map([...assigned].sort((a, b) => a[0] - b[0]));
}
