// Property 1: network → VRF → VNI is injective across the partition, and each leaf maps VLANs to
// VNIs consistently (the SVI of a VLAN is in the VRF whose VNI the VLAN's VXLAN device carries).
import type { FrrConfig } from "./frr.js";
import type { Iface } from "./interfaces.js";
import { P, type FactIndex, type Finding } from "./facts.js";

export function checkFactsIdentifiers(facts: FactIndex): Finding[] {
  const findings: Finding[] = [];
  const seen = new Map<number, string>();
  for (const n of facts.facts.networks) {
    if (n.vrf <= 0) continue;
    const other = seen.get(n.vrf);
    if (other) findings.push({ property: P.identifiers, device: "", path: "", line: 0, object: `vrf ${n.vrf}`, message: `networks ${other} and ${n.id} share VRF ${n.vrf}` });
    seen.set(n.vrf, n.id);
  }
  return findings;
}

/** Across devices: one VNI per VRF name and one VRF name per VNI. */
export class VniRegistry {
  private readonly vniOf = new Map<string, { vni: number; device: string }>();
  private readonly vrfOf = new Map<number, { vrf: string; device: string }>();

  check(device: string, config: FrrConfig, facts: FactIndex, report: (line: number, object: string, message: string) => void): void {
    const local = new Map<number, string>();
    for (const [name, vrf] of config.vrfs) {
      if (vrf.vni === undefined) {
        report(vrf.line, `vrf ${name}`, `${name} has no VNI`);
        continue;
      }
      const dup = local.get(vrf.vni);
      if (dup) report(vrf.line, `vni ${vrf.vni}`, `VNI ${vrf.vni} is used by ${dup} and ${name}`);
      local.set(vrf.vni, name);
      const network = facts.networkOfVrf(name);
      if (network && network.vrf !== vrf.vni) report(vrf.line, `vni ${vrf.vni}`, `${name} (network ${network.id}) carries VNI ${vrf.vni}, its VRF id is ${network.vrf}`);
      if (!network) report(vrf.line, `vrf ${name}`, `${name} belongs to no known network`);
      const a = this.vniOf.get(name);
      if (a && a.vni !== vrf.vni) report(vrf.line, `vni ${vrf.vni}`, `${name} carries VNI ${vrf.vni} here and VNI ${a.vni} on ${a.device}`);
      else if (!a) this.vniOf.set(name, { vni: vrf.vni, device });
      const b = this.vrfOf.get(vrf.vni);
      if (b && b.vrf !== name) report(vrf.line, `vni ${vrf.vni}`, `VNI ${vrf.vni} is ${name} here and ${b.vrf} on ${b.device}`);
      else if (!b) this.vrfOf.set(vrf.vni, { vrf: name, device });
    }
  }
}

/** On one leaf: each VXLAN device's VLAN is one VLAN, and that VLAN's SVI is in the VRF of the VNI. */
export function checkVlans(config: FrrConfig, ifaces: Map<string, Iface>, report: (line: number, object: string, message: string) => void): void {
  const vrfOfVni = new Map([...config.vrfs].filter(([, v]) => v.vni !== undefined).map(([name, v]) => [v.vni!, name]));
  const sviOfVlan = new Map([...ifaces.values()].filter((i) => i.vlanId !== undefined).map((i) => [i.vlanId!, i]));
  const vniOfVlan = new Map<number, number>();
  for (const i of ifaces.values()) {
    if (i.vxlanId === undefined) continue;
    if (i.bridgeAccess === undefined) {
      report(i.line, `iface ${i.name}`, `VXLAN device ${i.name} (VNI ${i.vxlanId}) is in no VLAN`);
      continue;
    }
    const other = vniOfVlan.get(i.bridgeAccess);
    if (other !== undefined && other !== i.vxlanId) report(i.line, `iface ${i.name}`, `VLAN ${i.bridgeAccess} carries VNI ${other} and VNI ${i.vxlanId}`);
    vniOfVlan.set(i.bridgeAccess, i.vxlanId);
    const vrf = vrfOfVni.get(i.vxlanId);
    if (!vrf) continue; // an L2 VNI (PXE)
    const svi = sviOfVlan.get(i.bridgeAccess);
    if (!svi) report(i.line, `iface ${i.name}`, `VLAN ${i.bridgeAccess} of VNI ${i.vxlanId} has no SVI`);
    else if (svi.vrf !== vrf) report(svi.line, `iface ${svi.name}`, `VLAN ${i.bridgeAccess} carries VNI ${i.vxlanId} (${vrf}) but its SVI is in ${svi.vrf ?? "no VRF"}`);
  }
}
