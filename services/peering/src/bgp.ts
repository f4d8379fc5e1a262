// The BGP session of an external peering: AS numbers and the point-to-point link. Pure.
import { InvalidArgumentError } from "@bulkhead/service-kit";
import { contains, formatPrefix, lastAddress, parseAddress, parsePrefix } from "@bulkhead/netaddr";

export interface BgpEndpoint {
  asn: number;
  /** Address with the link's prefix length, e.g. `172.16.0.1/30`. */
  address: string;
}

// AS numbers no session may use (RFC 7607, 6793, 5398, 7300); the contract already refuses 0,
// 23456, 65535 and 4294967295.
const reservedAsns: [number, number, string][] = [
  [64496, 64511, "reserved for documentation (RFC 5398)"],
  [65536, 65551, "reserved for documentation (RFC 5398)"],
  [65552, 131071, "reserved (IANA)"],
];

function checkAsn(field: string, asn: number): void {
  for (const [low, high, why] of reservedAsns) if (asn >= low && asn <= high) throw new InvalidArgumentError(field, `AS ${asn} is ${why}`);
}

const linkLengths = { 4: [30, 31], 6: [126, 127] } as const;

/** Splits `172.16.0.1/30` into the address and its link. */
function endpoint(field: string, text: string) {
  const [host] = text.split("/");
  const address = parseAddress(host!);
  const link = parsePrefix(text);
  if (!address || !link) throw new InvalidArgumentError(field, `${text} is not an address with a prefix length`);
  return { address, link };
}

/**
 * Checks an external session: valid, distinct AS numbers (eBGP), and two distinct usable addresses
 * of one /30 or /31 (IPv6: /126 or /127).
 */
export function checkExternalBgp(local: BgpEndpoint, remote: BgpEndpoint): void {
  checkAsn("bgp.local.asn", local.asn);
  checkAsn("bgp.remote.asn", remote.asn);
  if (local.asn === remote.asn) throw new InvalidArgumentError("bgp.remote.asn", `the remote AS equals the local AS ${local.asn}; an external session is eBGP`);
  const l = endpoint("bgp.local.address", local.address);
  const r = endpoint("bgp.remote.address", remote.address);
  const allowed = linkLengths[l.link.family] as readonly number[];
  if (!allowed.includes(l.link.length)) {
    throw new InvalidArgumentError("bgp.local.address", `${local.address}: a point-to-point link is a /${allowed.join(" or /")}`);
  }
  if (r.link.family !== l.link.family || r.link.length !== l.link.length || r.link.network !== l.link.network) {
    throw new InvalidArgumentError("bgp.remote.address", `${remote.address} is not in the link ${local.address}`);
  }
  if (r.address.value === l.address.value) throw new InvalidArgumentError("bgp.remote.address", `${remote.address} is the local address`);
  // On a /30 the first and last address are the link's network and broadcast; on a /126 the first
  // is the subnet-router anycast address.
  const unusable = (v: bigint) => (l.link.length === 30 && (v === l.link.network || v === lastAddress(l.link))) || (l.link.length === 126 && v === l.link.network);
  if (unusable(l.address.value)) throw new InvalidArgumentError("bgp.local.address", `${local.address} is not a usable host address of its link`);
  if (unusable(r.address.value)) throw new InvalidArgumentError("bgp.remote.address", `${remote.address} is not a usable host address of its link`);
}

/**
 * What an external peer may announce: never a prefix inside one of the partition's own networks
 * (announcing those would be a hijack; the filter refuses them anyway, so asking is a mistake).
 */
export function checkRemotePrefixes(remote: readonly string[], own: readonly { id: string; prefixes: string[] }[]): void {
  remote.forEach((text, i) => {
    const p = parsePrefix(text, { strict: true });
    if (!p) throw new InvalidArgumentError(`bgp.remote_prefixes.${i}`, `${text} is not a prefix without host bits`);
    for (const n of own) {
      const inside = n.prefixes.map((x) => parsePrefix(x)!).find((q) => q.family === p.family && contains(q, p));
      if (inside) throw new InvalidArgumentError(`bgp.remote_prefixes.${i}`, `${text} lies inside ${formatPrefix(inside)} of network ${n.id}; a peer never announces Bulkhead's own addresses`);
    }
  });
}
