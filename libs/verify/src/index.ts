// libs/verify: proves from the rendered text (parsed back, not the renderer's model) and
// Bulkhead's facts that tenants are isolated. `verifyPartition` runs every property over a
// partition's devices; each finding names the device, file, line and offending object.
import { parseFrr, type FrrConfig } from "./frr.js";
import { parseInterfaces } from "./interfaces.js";
import { parseNft } from "./nft.js";
import { FactIndex, P, type DeviceConfig, type Facts, type Finding } from "./facts.js";
import { VniRegistry, checkFactsIdentifiers, checkVlans } from "./identifiers.js";
import { checkImports, checkInfrastructure, checkIngress } from "./routing.js";
import { checkNftables } from "./nftables.js";
import { checkDifferential, checkReachability, leaksOf, type Leaks } from "./reachability.js";

export type { DeviceConfig, Facts, Finding, FirewallPortFact, MachinePortFact, NetworkFact } from "./facts.js";
export { P as Properties } from "./facts.js";
export { parseFrr } from "./frr.js";
export { parseInterfaces } from "./interfaces.js";
export { parseNft } from "./nft.js";
export type { Leaks } from "./reachability.js";

const FRR = "frr/frr.conf";
const IFACES = "network/interfaces";
const NFT = "nftables/bulkhead.nft";

export interface Verification {
  findings: Finding[];
  /** Which network's routes reach which network's VRF (`to<from`), for a later differential check. */
  leaks: Leaks;
  devices: number;
}

const fileOf = (d: DeviceConfig, path: string) => d.files.find((f) => f.path === path)?.content;

export function verifyPartition(devices: readonly DeviceConfig[], facts: Facts): Verification {
  const index = new FactIndex(facts);
  const findings: Finding[] = checkFactsIdentifiers(index);
  const vnis = new VniRegistry();
  const parsed: { device: string; kind: "switch" | "firewall"; frr: FrrConfig }[] = [];
  for (const d of devices) {
    const at = (path: string) => (property: string, line: number, object: string, message: string) => findings.push({ property, device: d.device, path, line, object, message });
    const frrText = fileOf(d, FRR);
    if (frrText !== undefined) {
      const frr = parseFrr(frrText);
      parsed.push({ device: d.device, kind: d.kind, frr });
      vnis.check(d.device, frr, index, (line, object, message) => at(FRR)(P.identifiers, line, object, message));
      checkImports(d.device, d.kind, frr, index, at(FRR));
      checkInfrastructure(frr, at(FRR));
      if (d.kind === "switch") checkIngress(d.device, frr, index, at(FRR));
      const ifaces = fileOf(d, IFACES);
      if (ifaces !== undefined) checkVlans(frr, parseInterfaces(ifaces), (line, object, message) => at(IFACES)(P.identifiers, line, object, message));
    }
    const nft = fileOf(d, NFT);
    if (nft !== undefined) checkNftables(d.device, parseNft(nft), index, (line, object, message) => at(NFT)(P.nftables, line, object, message));
  }
  const leaks = leaksOf(parsed, index);
  findings.push(...checkReachability(parsed, index, leaks));
  return { findings, leaks, devices: devices.length };
}

/** Property 7: between the applied and the proposed revisions, only the leaks the change asked for (`to<from` keys) differ. */
export function verifyDifferential(applied: Verification, proposed: Verification, asked: readonly string[] = []): Finding[] {
  return checkDifferential(applied.leaks, proposed.leaks, asked);
}
