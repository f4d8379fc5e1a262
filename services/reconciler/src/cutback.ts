// Fail closed, not frozen: when a render has a finding, the device gets the last verified model
// minus everything no longer authorized — each grant (a port's binding, a VRF import, an external
// session, a firewall's network) kept only where the new model grants it too, unchanged or
// narrower. What only removes access is therefore always delivered; what adds access waits for a
// render that verifies. `closedModel` removes every tenant grant: the last resort. Pure.
import type { FirewallFrrModel, FirewallNetwork, SwitchModel, SwitchPortModel } from "@bulkhead/render";

/** A grant the new model asked for that the cut withholds, and the records that asked for it. */
export interface Withheld {
  grant: string;
  records: string[];
}

export interface Cut<M> {
  model: M;
  withheld: Withheld[];
}

const sameSet = (a: readonly (string | number)[], b: readonly (string | number)[]) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
const subset = <T>(a: readonly T[], b: readonly T[]) => a.every((x) => b.includes(x));

/** A port grant: unchanged, narrower, or a removal (to PXE, down, fabric) passes; anything else is switched off. */
function cutPort(next: SwitchPortModel, last: SwitchPortModel | undefined, withheld: Withheld[]): SwitchPortModel {
  const granting = next.adminUp && (next.role === "machine" || next.role === "firewall");
  if (!granting) return next;
  const narrower = last !== undefined && last.adminUp && last.role === next.role && last.vrf === next.vrf && subset(next.allowedPrefixes, last.allowedPrefixes) && subset(next.firewallVnis, last.firewallVnis) && last.machine === next.machine;
  if (narrower) return next;
  if (next.role === "firewall" && last?.role === "firewall" && last.machine === next.machine && sameSet(next.allowedPrefixes, last.allowedPrefixes)) {
    const vnis = next.firewallVnis.filter((v) => last.firewallVnis.includes(v));
    withheld.push({ grant: `port ${next.name}: VNIs ${next.firewallVnis.filter((v) => !vnis.includes(v)).join(", ")} for firewall ${next.machine ?? "?"}`, records: next.machine ? [next.machine] : [] });
    return { ...next, firewallVnis: vnis };
  }
  withheld.push({ grant: `port ${next.name}: ${next.role} ${next.machine ?? ""}${next.role === "machine" ? ` in vrf${next.vrf}` : ""} (switched off)`.replace("  ", " "), records: next.machine ? [next.machine] : [] });
  return { ...next, adminUp: false };
}

export function cutSwitch(next: SwitchModel, last: SwitchModel | undefined): Cut<SwitchModel> {
  const withheld: Withheld[] = [];
  const lastPorts = new Map((last?.ports ?? []).map((p) => [p.name, p]));
  const ports = next.ports.map((p) => cutPort(p, lastPorts.get(p.name), withheld));
  const lastVrfs = new Map((last?.vrfs ?? []).map((v) => [v.vrf, v]));
  const vrfs = next.vrfs.map((v) => {
    const before = lastVrfs.get(v.vrf);
    const imports = v.imports.flatMap((i) => {
      const was = before?.imports.find((x) => x.fromVrf === i.fromVrf);
      const prefixes = i.prefixes.filter((p) => was?.prefixes.includes(p));
      const dropped = i.prefixes.filter((p) => !prefixes.includes(p));
      if (dropped.length > 0) withheld.push({ grant: `vrf${v.vrf} import from vrf${i.fromVrf}: ${dropped.join(", ")}${i.peering ? ` (peering ${i.peering})` : ""}`, records: i.peering ? [i.peering] : [] });
      return prefixes.length > 0 ? [{ ...i, prefixes }] : [];
    });
    return { ...v, imports };
  });
  const externalSessions = next.externalSessions.filter((s) => {
    const keep = (last?.externalSessions ?? []).some((x) => JSON.stringify({ ...x, peering: undefined }) === JSON.stringify({ ...s, peering: undefined }) || (x.port === s.port && x.vrf === s.vrf && x.remoteAddress === s.remoteAddress && subset(s.remotePrefixes, x.remotePrefixes) && subset(s.announcePrefixes, x.announcePrefixes)));
    if (!keep) withheld.push({ grant: `external session on ${s.port}${s.peering ? ` (peering ${s.peering})` : ""}`, records: s.peering ? [s.peering] : [] });
    return keep;
  });
  return { model: { ...next, ports, vrfs, externalSessions }, withheld };
}

/**
 * The cut with the ports its findings name switched off — when every finding is about a machine
 * or firewall-facing port (`iface <port>`). A view older than the records (a machine installed
 * since, its port still in the PXE VLAN) keeps that port off until a render catches up, instead
 * of taking every tenant of the switch off. Undefined when a finding is about anything else.
 */
export function cutFlaggedPorts(cut: Cut<SwitchModel>, findings: readonly { object: string }[]): Cut<SwitchModel> | undefined {
  const ports = new Map(cut.model.ports.map((p) => [p.name, p]));
  const flagged = new Set(findings.map((f) => /^iface (\S+)$/.exec(f.object)?.[1]));
  if (flagged.size === 0 || [...flagged].some((name) => name === undefined || ports.get(name) === undefined || ports.get(name)!.role === "fabric")) return undefined;
  const withheld = [...flagged].map((name) => {
    const machine = ports.get(name!)!.machine;
    return { grant: `port ${name}: its configuration did not verify against the records (switched off)`, records: machine ? [machine] : [] };
  });
  return { model: { ...cut.model, ports: cut.model.ports.map((p) => (flagged.has(p.name) ? { ...p, adminUp: false } : p)) }, withheld: [...cut.withheld, ...withheld] };
}

/** Every tenant grant removed: machine and firewall ports off, no imports, no external sessions. */
export function closedSwitch(next: SwitchModel): SwitchModel {
  return {
    ...next,
    ports: next.ports.map((p) => (p.role === "machine" || p.role === "firewall" ? { ...p, adminUp: false } : p)),
    vrfs: next.vrfs.map((v) => ({ ...v, imports: [] })),
    externalSessions: [],
  };
}

const sameNetwork = (a: FirewallNetwork, b: FirewallNetwork) => a.role === b.role && a.vrf === b.vrf && sameSet(a.prefixes, b.prefixes) && sameSet(a.destinationPrefixes, b.destinationPrefixes) && a.nat === b.nat;

/** A firewall keeps the networks it had, unchanged (their published addresses only where still published); new or changed ones wait. */
export function cutFirewall(device: string, next: FirewallFrrModel, last: FirewallFrrModel | undefined): Cut<FirewallFrrModel> {
  const withheld: Withheld[] = [];
  const networks = next.networks.flatMap((n) => {
    const was = last?.networks.find((x) => x.id === n.id);
    if (n.role === "underlay") return [n];
    if (!was || !sameNetwork(n, was)) {
      withheld.push({ grant: `network ${n.id} on firewall ${device}`, records: [device, n.id] });
      return [];
    }
    return [{ ...n, projectIps: n.projectIps.filter((ip) => was.projectIps.includes(ip)) }];
  });
  return { model: { ...next, networks }, withheld };
}

/** A firewall with only its underlay: no tenant VRF, nothing forwarded. */
export function closedFirewall(next: FirewallFrrModel): FirewallFrrModel {
  return { ...next, networks: next.networks.filter((n) => n.role === "underlay") };
}
