// What a neighbor on a switch port may announce: pure, no I/O.
import { compact, contains, formatPrefix, hostPrefix, parseAddress, parsePrefix, type Prefix } from "@bulkhead/netaddr";

/**
 * A machine port's allow-list: its private network's prefixes, the super network's additional
 * announceable CIDRs, and the project's other addresses as /32 or /128 (not those inside the
 * network, of the underlay, or of firewalls), compacted into the fewest prefixes.
 */
export function machinePortPrefixes(networkPrefixes: readonly string[], announceable: readonly string[], projectAddresses: readonly string[]): string[] {
  const own = networkPrefixes.map((p) => parsePrefix(p)!);
  const extra = projectAddresses
    .map((a) => parseAddress(a))
    .filter((a): a is NonNullable<typeof a> => a !== undefined && !own.some((p) => contains(p, a)))
    .map(hostPrefix);
  const all: Prefix[] = [...own, ...announceable.map((p) => parsePrefix(p)!), ...extra];
  return compact(all).map(formatPrefix);
}

/** A firewall port's allow-list: the firewall's underlay addresses as host routes. */
export function firewallPortPrefixes(underlayAddresses: readonly string[]): string[] {
  return compact(underlayAddresses.map((a) => hostPrefix(parseAddress(a)!))).map(formatPrefix);
}
