// The route-leak plan of a partition: per VRF, exactly which VRFs it imports from and which
// prefixes, plus the external BGP sessions. Pure: imports come from direct peerings only, so
// A–B and B–C never give A a route to C. A peering with an external network E gives the private
// side E's destinations, and E only the addresses the private side's project holds in E: E's VRF
// never carries a tenant's own prefixes, so it cannot join two tenants that peer with it. When a
// firewall of the private side (its primary network) is attached to E, the firewall governs the
// way in and out (its policies): the peering then stands aside, contributing no import at all.
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
  /** What the peer may announce (each with its more specifics). */
  remotePrefixes: string[];
  maximumPrefixes: number;
  /** Refused from the peer whatever it may announce: Bulkhead's own prefixes. */
  deniedPrefixes: string[];
}

export interface PlanContext {
  /** Only this VRF (0: all). */
  vrf: number;
  /** `project|external network` → the project's addresses there. */
  published: ReadonlyMap<string, string[]>;
  /** Every external network (their prefixes are Bulkhead's, never a peer's). */
  externals: readonly NetworkFacts[];
  /** `network|external network` where a firewall of the network is attached to the external one. */
  firewallExits: ReadonlySet<string>;
}

export interface LeakPlan {
  vrfs: VrfPlan[];
  externalSessions: ExternalSession[];
}

const isExternal = (n: NetworkFacts) => n.type === NetworkType.EXTERNAL;

/**
 * What `to`'s VRF takes from its peer `from`: an external network's destinations; into an external
 * network, the addresses `from`'s project holds in it; otherwise the peer's prefixes.
 */
function exported(from: NetworkFacts, to: NetworkFacts, published: PlanContext["published"]): string[] {
  if (isExternal(from)) return from.destinationPrefixes;
  if (isExternal(to)) return (published.get(`${from.project}|${to.id}`) ?? []).map((a) => `${a}/${a.includes(":") ? 128 : 32}`);
  return from.prefixes;
}

/**
 * `partitionNetworks` are the partition's networks; `peerings` the peerings of the partition;
 * `networks` resolves every network a peering names (external ones have no partition). A peering
 * whose network is gone (being deleted) contributes nothing.
 */
export function leakPlan(partitionNetworks: readonly NetworkFacts[], peerings: readonly PeeringRow[], networks: ReadonlyMap<string, NetworkFacts>, context: PlanContext): LeakPlan {
  const onlyVrf = context.vrf;
  const denied = [...new Set([...partitionNetworks.filter((n) => n.type !== NetworkType.CHILD && n.type !== NetworkType.CHILD_SHARED), ...context.externals].flatMap((n) => n.prefixes))].sort();
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
        remotePrefixes: p.bgp!.remotePrefixes ?? [],
        maximumPrefixes: p.bgp!.maximumPrefixes ?? 1000,
        deniedPrefixes: denied,
      });
      continue;
    }
    const n2 = networks.get(p.network2!);
    if (!n2) continue;
    if (context.firewallExits.has(`${n1.id}|${n2.id}`) || context.firewallExits.has(`${n2.id}|${n1.id}`)) continue;
    for (const [to, from] of [[n1, n2], [n2, n1]] as const) {
      planOf(to).imports.push({ fromVrf: from.vrf, fromNetwork: from.id, prefixes: exported(from, to, context.published), peering: p.id });
    }
  }

  const vrfs = [...plans.values()].filter((v) => !onlyVrf || v.vrf === onlyVrf).sort((a, b) => a.vrf - b.vrf);
  for (const v of vrfs) v.imports.sort((a, b) => a.fromVrf - b.fromVrf);
  return {
    vrfs,
    externalSessions: externalSessions.filter((s) => !onlyVrf || s.vrf === onlyVrf).sort((a, b) => (a.switch === b.switch ? (a.port < b.port ? -1 : 1) : a.switch < b.switch ? -1 : 1)),
  };
}
