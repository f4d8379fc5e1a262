// The peering rules, as pure functions over network facts. Each violation throws a domain error
// whose message names the rule; nothing here does I/O.
import { FailedPreconditionError, InvalidArgumentError } from "@bulkhead/service-kit";
import { overlaps, parsePrefix } from "@bulkhead/netaddr";
import { NetworkType, type NetworkFacts } from "./directory.js";

export const isPrivate = (n: NetworkFacts) => n.type === NetworkType.CHILD || n.type === NetworkType.CHILD_SHARED;
export const isOwnPrivate = (n: NetworkFacts, project: string) => isPrivate(n) && n.project === project;

/** What the project may see of a network: its own, shared ones, and external ones open to it. */
function visibleTo(n: NetworkFacts, project: string): boolean {
  if (n.type === NetworkType.CHILD) return n.project === project;
  if (n.type === NetworkType.EXTERNAL) return n.project === "" || n.project === project;
  return n.type === NetworkType.CHILD_SHARED;
}

/**
 * One side of a peering: never a super or underlay network; never a network the project cannot
 * see (another project's unshared network reads as absent, so its existence does not leak).
 */
export function checkSide(field: string, id: string, n: NetworkFacts | undefined, project: string): NetworkFacts {
  if (n && (n.type === NetworkType.SUPER || n.type === NetworkType.SUPER_NAMESPACED)) {
    throw new InvalidArgumentError(field, `${id} is a super network; only its child networks are peered`);
  }
  if (n?.type === NetworkType.UNDERLAY) throw new InvalidArgumentError(field, `${id} is the underlay; the fabric's own network is never peered`);
  if (!n || !visibleTo(n, project)) {
    throw new InvalidArgumentError(field, `there is no network ${id} for project ${project}; another project's network can be peered only once it is shared`);
  }
  return n;
}

/** Overlapping prefixes of two lists, as `a ∩ b` texts. */
export function overlapsOf(a: readonly string[], b: readonly string[]): string[] {
  const found: string[] = [];
  for (const x of a) for (const y of b) if (overlaps(parsePrefix(x)!, parsePrefix(y)!)) found.push(`${x} ∩ ${y}`);
  return found;
}

/**
 * A local peering: one side is a private network of the project; the other is another private
 * network of the project, a shared network of any project (sharing is its owner's consent), or an
 * external network. Both private sides are in one partition, and their prefixes are disjoint.
 * Returns the partition whose leaves carry it.
 */
export function checkLocalPeering(project: string, n1: NetworkFacts, n2: NetworkFacts): string {
  if (!isOwnPrivate(n1, project) && !isOwnPrivate(n2, project)) {
    throw new InvalidArgumentError("network1", `a peering joins a private network of project ${project} with another network; neither ${n1.id} nor ${n2.id} is one`);
  }
  if (n1.partition && n2.partition && n1.partition !== n2.partition) {
    throw new InvalidArgumentError("network2", `${n2.id} is in partition ${n2.partition}, ${n1.id} in ${n1.partition}; a local peering stays within one partition`);
  }
  const overlap = overlapsOf(n1.prefixes, n2.prefixes);
  if (overlap.length > 0) throw new FailedPreconditionError(`the prefixes of ${n1.id} and ${n2.id} overlap (${overlap.join(", ")}); their routes would collide`);
  return n1.partition || n2.partition;
}

/**
 * A VRF imports its direct peers' prefixes next to its own: adding `added` as a peer of `side`
 * must not collide with a prefix `side` already imports from another peer.
 */
export function checkImportCollision(side: NetworkFacts, added: NetworkFacts, existingPeers: readonly { peering: string; network: NetworkFacts }[]): void {
  for (const peer of existingPeers) {
    if (peer.network.id === added.id) continue;
    const overlap = overlapsOf(added.prefixes, peer.network.prefixes);
    if (overlap.length > 0) {
      throw new FailedPreconditionError(`${side.id} already imports ${peer.network.id} (peering ${peer.peering}), whose prefixes overlap ${added.id}'s (${overlap.join(", ")}); the routes would collide in ${side.id}'s VRF`);
    }
  }
}

/**
 * The pairs a project labelled `auto-peer: "true"` has peered: every two of its private networks
 * in one partition, except pairs whose prefixes overlap. Ordered, each pair low id first.
 */
export function automaticPairs(networks: readonly NetworkFacts[], project: string): [string, string][] {
  const own = networks.filter((n) => isOwnPrivate(n, project)).sort((a, b) => (a.id < b.id ? -1 : 1));
  const pairs: [string, string][] = [];
  for (const [i, a] of own.entries()) {
    for (const b of own.slice(i + 1)) {
      if (a.partition === b.partition && overlapsOf(a.prefixes, b.prefixes).length === 0) pairs.push([a.id, b.id]);
    }
  }
  return pairs;
}
