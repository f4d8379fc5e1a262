// Property 1: network → VRF → VNI is injective across the partition; no VRF takes a VNI the
// fabric reserves (PXE); every VRF on a device belongs to a known network with its VNI.
import type { FrrConfig } from "./frr.js";
import { P, type FactIndex, type Finding } from "./facts.js";
import type { Report } from "./common.js";

export function checkFactsIdentifiers(facts: FactIndex): Finding[] {
  const findings: Finding[] = [];
  const seen = new Map<number, string>();
  const reserved = new Set(facts.facts.reservedVnis);
  for (const n of facts.facts.networks) {
    if (n.vrf <= 0) continue;
    const other = seen.get(n.vrf);
    if (other) findings.push({ property: P.identifiers, device: "", path: "", line: 0, object: `vrf ${n.vrf}`, message: `networks ${other} and ${n.id} share VRF ${n.vrf}` });
    if (reserved.has(n.vrf)) findings.push({ property: P.identifiers, device: "", path: "", line: 0, object: `vrf ${n.vrf}`, message: `network ${n.id} has VRF ${n.vrf}, a VNI the fabric reserves (PXE)` });
    seen.set(n.vrf, n.id);
  }
  return findings;
}

/** Across devices: one VNI per VRF name and one VRF name per VNI. */
export class VniRegistry {
  private readonly vniOf = new Map<string, { vni: number; device: string }>();
  private readonly vrfOf = new Map<number, { vrf: string; device: string }>();

  check(device: string, config: FrrConfig, facts: FactIndex, report: Report): void {
    const local = new Map<number, string>();
    const reserved = new Set(facts.facts.reservedVnis);
    for (const [name, vrf] of config.vrfs) {
      const at = (object: string, message: string) => report(P.identifiers, vrf.line, object, message);
      if (vrf.vni === undefined) {
        at(`vrf ${name}`, `${name} has no VNI`);
        continue;
      }
      if (reserved.has(vrf.vni)) at(`vni ${vrf.vni}`, `${name} uses VNI ${vrf.vni}, which the fabric reserves (PXE)`);
      const dup = local.get(vrf.vni);
      if (dup) at(`vni ${vrf.vni}`, `VNI ${vrf.vni} is used by ${dup} and ${name}`);
      local.set(vrf.vni, name);
      const network = facts.networkOfVrf(name);
      if (!network) at(`vrf ${name}`, `${name} belongs to no known network`);
      else if (network.vrf !== vrf.vni) at(`vni ${vrf.vni}`, `${name} (network ${network.id}) carries VNI ${vrf.vni}, its VRF id is ${network.vrf}`);
      const a = this.vniOf.get(name);
      if (a && a.vni !== vrf.vni) at(`vni ${vrf.vni}`, `${name} carries VNI ${vrf.vni} here and VNI ${a.vni} on ${a.device}`);
      else if (!a) this.vniOf.set(name, { vni: vrf.vni, device });
      const b = this.vrfOf.get(vrf.vni);
      if (b && b.vrf !== name) at(`vni ${vrf.vni}`, `VNI ${vrf.vni} is ${name} here and ${b.vrf} on ${b.device}`);
      else if (!b) this.vrfOf.set(vrf.vni, { vrf: name, device });
    }
  }
}
