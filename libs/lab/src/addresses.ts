// Address helpers of the lab: parsing with the lab's own memo, longest-prefix match over a table.
import { contains, formatAddress, parseAddress, parsePrefix, type Address, type Prefix } from "@bulkhead/netaddr";

const prefixes = new Map<string, Prefix | undefined>();
export function prefixOf(text: string): Prefix | undefined {
  if (!prefixes.has(text)) prefixes.set(text, parsePrefix(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`));
  return prefixes.get(text);
}

/** An address; IPv4-mapped IPv6 (how FRR shows an IPv4 VTEP next hop of an IPv6 route) as IPv4. */
export function addressOf(text: string): Address | undefined {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(text);
  return parseAddress(mapped ? mapped[1]! : text.split("/")[0]!);
}

export const plainAddress = (text: string) => {
  const a = addressOf(text);
  return a ? formatAddress(a) : text;
};

export const within = (address: string, prefix: string): boolean => {
  const a = addressOf(address);
  const p = prefixOf(prefix);
  return a !== undefined && p !== undefined && a.family === p.family && contains(p, a);
};

export const inAny = (address: string, list: readonly string[]) => list.some((p) => within(address, p));

/** The most specific of `keys` (prefix texts) containing `address`. */
export function longestMatch(address: string, keys: Iterable<string>): string | undefined {
  const a = addressOf(address);
  if (!a) return undefined;
  let best: string | undefined;
  let bestLength = -1;
  for (const key of keys) {
    const p = prefixOf(key);
    if (p && p.family === a.family && p.length > bestLength && contains(p, a)) {
      best = key;
      bestLength = p.length;
    }
  }
  return best;
}

export const familyOf = (address: string): 4 | 6 => (address.includes(":") ? 6 : 4);
