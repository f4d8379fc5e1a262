// How the networks of an allocation relate to the machine (metal-stack's classification).
import { NetworkRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { NetworkType, type Network } from "./network.js";

export { NetworkRole };

export const isPrivate = (n: Network) => n.type === NetworkType.CHILD || n.type === NetworkType.CHILD_SHARED;

/**
 * The machine's own private network is primary (for a firewall the unshared one); other private
 * networks are secondary shared ones (storage, DMZ).
 */
export function roleOf(network: Network, project: string, primary: string | undefined): NetworkRole {
  if (network.type === NetworkType.UNDERLAY) return NetworkRole.UNDERLAY;
  if (network.type === NetworkType.EXTERNAL) return NetworkRole.EXTERNAL;
  if (network.id === primary) return NetworkRole.PRIVATE_PRIMARY;
  return network.project === project && network.type === NetworkType.CHILD ? NetworkRole.PRIVATE_PRIMARY : NetworkRole.PRIVATE_SECONDARY_SHARED;
}

/** The primary private network among an allocation's networks. */
export function primaryOf(networks: readonly Network[], project: string): Network | undefined {
  const own = networks.filter((n) => isPrivate(n) && n.project === project);
  return own.find((n) => n.type === NetworkType.CHILD) ?? own[0];
}
