// The route-leak plan of a partition: per VRF, exactly which VRFs it imports from and which
// prefixes, plus the external BGP sessions. Pure: imports come from direct peerings only, so
// A–B and B–C never give A a route to C.
import { NetworkType, type NetworkFacts } from "./directory.js";
import { isPrivate } from "./rules.js";
import type { PeeringRow } from "./store.js";

export interface VrfImport {
  fromVrf: number;
  fromNetwork: string;
  prefixes: string[];
  peering: string;
}

export interface VrfPlan {
  vrf: number;
  network: string;
  project: string;
  prefixes: string[];
  imports: VrfImport[];
}

export interface ExternalSession {
  peering: string;
  switch: string;
  port: string;
  vrf: number;
  network: string;
  localAsn: number;
  localAddress: string;
  remoteAsn: number;
  remoteAddress: string;
  announcePrefixes: string[];
}

export interface LeakPlan {
  vrfs: VrfPlan[];
  externalSessions: ExternalSession[];
}

/** What a VRF learns from a peer: an external network's destinations, else the peer's prefixes. */
const exported = (n: NetworkFacts) => (n.type === NetworkType.EXTERNAL ? n.destinationPrefixes : n.prefixes);

/**
 * `partitionNetworks` are the partition's networks; `peerings` the peerings of the partition;
 * `networks` resolves every network a peering names (external ones have no partition). A peering
 * whose network is gone (being deleted) contributes nothing.
 */
export function leakPlan(partitionNetworks: readonly NetworkFacts[], peerings: readonly PeeringRow[], networks: ReadonlyMap<string, NetworkFacts>, onlyVrf = 0): LeakPlan {
  const plans = new Map<string, VrfPlan>();
  const planOf = (n: NetworkFacts) => {
    let plan = plans.get(n.id);
    if (!plan) plans.set(n.id, (plan = { vrf: n.vrf, network: n.id, project: n.project, prefixes: n.prefixes, imports: [] }));
    return plan;
  };
  for (const n of partitionNetworks) if (isPrivate(n) && n.vrf > 0) planOf(n);

  const externalSessions: ExternalSession[] = [];
  for (const p of peerings) {
    const n1 = networks.get(p.network1);
    if (!n1) continue;
    if (p.type === 2) {
      externalSessions.push({
        peering: p.id,
        switch: p.exit_switch!,
        port: p.exit_port!,
        vrf: n1.vrf,
        network: n1.id,
        localAsn: p.bgp!.local.asn,
        localAddress: p.bgp!.local.address,
        remoteAsn: p.bgp!.remote.asn,
        remoteAddress: p.bgp!.remote.address,
        announcePrefixes: n1.prefixes,
      });
      continue;
    }
    const n2 = networks.get(p.network2!);
    if (!n2) continue;
    planOf(n1).imports.push({ fromVrf: n2.vrf, fromNetwork: n2.id, prefixes: exported(n2), peering: p.id });
    planOf(n2).imports.push({ fromVrf: n1.vrf, fromNetwork: n1.id, prefixes: exported(n1), peering: p.id });
  }

  const vrfs = [...plans.values()].filter((v) => !onlyVrf || v.vrf === onlyVrf).sort((a, b) => a.vrf - b.vrf);
  for (const v of vrfs) v.imports.sort((a, b) => a.fromVrf - b.fromVrf);
  return {
    vrfs,
    externalSessions: externalSessions.filter((s) => !onlyVrf || s.vrf === onlyVrf).sort((a, b) => (a.switch === b.switch ? (a.port < b.port ? -1 : 1) : a.switch < b.switch ? -1 : 1)),
  };
}
