// libs/verify: proves from the rendered text (parsed back, closed-world: what it does not
// understand is a finding) and Bulkhead's records (never the renderer's inputs) that tenants are
// isolated. `verifyPartition` runs every property over a partition's devices; each finding names
// the device, file, line and offending object.
import { FactIndex, P, type DeviceConfig, type Facts, type Finding } from "./facts.js";
import { checkFirewallFrr, checkFirewallInterfaces, checkNftables } from "./firewall.js";
import { parseFrr } from "./frr.js";
import { VniRegistry, checkFactsIdentifiers } from "./identifiers.js";
import { parseConfigDb } from "./configdb.js";
import { sonicFrr } from "./dialect.js";
import { parseInterfaces } from "./interfaces.js";
import { parseNft } from "./nft.js";
import { RoutingModel, checkDifferential, checkReachability, type Leaks, type Parsed } from "./routing.js";
import { checkSwitch } from "./switch.js";

export type { AddressFact, DeviceConfig, ExternalSessionFact, Facts, Finding, MachineFact, NetworkFact, NetworkKind, PeeringFact, PolicyFact, RuleFact, SwitchFact } from "./facts.js";
export { P as Properties } from "./facts.js";
export { parseFrr } from "./frr.js";
export { parseInterfaces } from "./interfaces.js";
export { parseConfigDb } from "./configdb.js";
export { parseNft } from "./nft.js";
export { routeTargetVnis } from "./switch.js";
export type { Leaks } from "./routing.js";

const FRR = "frr/frr.conf";
const IFACES = "network/interfaces";
const CONFIG_DB = "sonic/config_db.json";
const NFT = "nftables/bulkhead.nft";
/** The files each kind of device reads; any other is a finding. */
const FILES_OF = { cumulus: [FRR, IFACES], sonic: [FRR, CONFIG_DB], firewall: [FRR, IFACES, NFT] };

export interface Verification {
  findings: Finding[];
  /** Which network's routes reach which network's VRF (`to<from`), for a later differential check. */
  leaks: Leaks;
  devices: number;
}

const fileOf = (d: DeviceConfig, path: string) => d.files.find((f) => f.path === path)?.content;

/** Facts with their index and what is wrong with them alone, worked out once for many verifications. */
export interface IndexedFacts {
  readonly index: FactIndex;
  readonly factsFindings: readonly Finding[];
}

/** For a caller that verifies many devices against the same facts (it must not change them meanwhile). */
export function indexFacts(facts: Facts): IndexedFacts {
  const index = new FactIndex(facts);
  return { index, factsFindings: checkFactsIdentifiers(index) };
}

/**
 * Every property over the given devices (one device for the gate before a push, or a whole
 * partition). Partition-wide properties (end-to-end) see only the devices given.
 */
export function verifyPartition(devices: readonly DeviceConfig[], facts: Facts | IndexedFacts): Verification {
  const { index, factsFindings } = "index" in facts ? facts : indexFacts(facts);
  const findings: Finding[] = [...factsFindings];
  const vnis = new VniRegistry();
  const parsed: Parsed[] = [];
  for (const d of devices) {
    const at = (path: string) => (property: string, line: number, object: string, message: string) => findings.push({ property, device: d.device, path, line, object, message });
    const understood = (path: string, unknown: { line: number; text: string }[]) => {
      for (const u of unknown) at(path)(P.understood, u.line, u.text, "a statement outside what Bulkhead renders: nobody has proven what it does to tenant routes or packets");
    };
    const flavour = d.kind === "switch" ? index.switches.get(d.device)?.flavour : "firewall";
    if (!flavour) at(FRR)(P.understood, 1, `switch ${d.device}`, "the switch's operating system is not one Bulkhead configures: nothing proves how it reads these files");
    for (const f of d.files) if (flavour && !FILES_OF[flavour].includes(f.path)) at(f.path)(P.understood, 1, f.path, `a file ${flavour === "firewall" ? "a firewall" : `a ${flavour === "sonic" ? "SONiC" : "Cumulus"} switch`} does not read`);
    let frrText = fileOf(d, FRR);
    if (frrText !== undefined && flavour === "sonic") {
      const sonic = sonicFrr(frrText);
      understood(FRR, sonic.unknown);
      frrText = sonic.text;
    }
    const ifacesText = fileOf(d, IFACES);
    const configDbText = fileOf(d, CONFIG_DB);
    const nftText = fileOf(d, NFT);
    const frr = frrText !== undefined ? parseFrr(frrText) : undefined;
    const ifaces = flavour === "sonic" ? (configDbText !== undefined ? parseConfigDb(configDbText) : undefined) : ifacesText !== undefined ? parseInterfaces(ifacesText) : undefined;
    const ifacesPath = flavour === "sonic" ? CONFIG_DB : IFACES;
    if (frr) {
      understood(FRR, frr.unknown);
      parsed.push({ device: d.device, kind: d.kind, frr });
      vnis.check(d.device, frr, index, at(FRR));
    }
    if (ifaces) understood(ifacesPath, ifaces.unknown);
    if (d.kind === "switch") {
      if (frr) checkSwitch(d.device, frr, ifaces, index, at(FRR), at(ifacesPath));
      continue;
    }
    const fw = index.firewalls.get(d.device);
    if (!fw) {
      at(FRR)(P.understood, 0, `firewall ${d.device}`, "no allocated firewall of this partition has this id");
      continue;
    }
    if (frr) checkFirewallFrr(d.device, frr, fw, index, at(FRR));
    if (ifaces) checkFirewallInterfaces(d.device, ifaces, fw, index, at(IFACES));
    if (nftText !== undefined) {
      const nft = parseNft(nftText);
      understood(NFT, nft.unknown);
      checkNftables(d.device, nft, fw, index, at(NFT));
    }
  }
  const model = new RoutingModel(parsed, index);
  findings.push(...checkReachability(model, parsed, index));
  return { findings, leaks: model.leaks(), devices: devices.length };
}

/** Property 7: between the applied and the proposed revisions, only the leaks the change asked for (`to<from` keys) differ. */
export function verifyDifferential(applied: Verification, proposed: Verification, asked: readonly string[] = []): Finding[] {
  return checkDifferential(applied.leaks, proposed.leaks, asked);
}
