// IPv4 and IPv6 addresses and prefixes as bigints: parsing, formatting, containment, overlap and
// compaction. Pure functions, no I/O.
import { isIPv4, isIPv6 } from "node:net";

export type Family = 4 | 6;

export interface Address {
  family: Family;
  value: bigint;
}

export interface Prefix {
  family: Family;
  /** The first address; host bits are zero. */
  network: bigint;
  length: number;
}

export const addressBits = (family: Family): 32 | 128 => (family === 4 ? 32 : 128);

function parseV4(text: string): bigint {
  return text.split(".").reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function parseV6(text: string): bigint {
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tailV4 = parseV4(text.slice(lastColon + 1));
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const [left, right] = head.includes("::") ? head.split("::") : [head, undefined];
  const leftGroups = left ? left.split(":") : [];
  const rightGroups = right === undefined ? [] : right ? right.split(":") : [];
  const missing = 8 - leftGroups.length - rightGroups.length;
  const groups = [...leftGroups, ...Array(right === undefined ? 0 : missing).fill("0"), ...rightGroups];
  let value = groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
  if (tailV4 !== undefined) value = (value & ~0xffffffffn) | tailV4;
  return value;
}

/** Parsed addresses by text: verifying a partition parses the same few thousand over and over. */
const parsed = new Map<string, Readonly<Address> | undefined>();
const PARSED_MAX = 200_000;

/** Parses `10.0.0.1` or `2001:db8::1`; the result is shared (frozen), undefined if it is neither. */
export function parseAddress(text: string): Readonly<Address> | undefined {
  if (parsed.has(text)) return parsed.get(text);
  const address = isIPv4(text) ? { family: 4 as const, value: parseV4(text) } : isIPv6(text) && !text.includes("%") ? { family: 6 as const, value: parseV6(text) } : undefined;
  if (parsed.size >= PARSED_MAX) parsed.clear();
  parsed.set(text, address && Object.freeze(address));
  return address;
}

/** Parses `10.0.0.0/8`; with `strict`, host bits must be zero. Undefined if malformed. */
export function parsePrefix(text: string, options: { strict?: boolean } = {}): Prefix | undefined {
  const slash = text.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseAddress(text.slice(0, slash));
  const lengthText = text.slice(slash + 1);
  if (!address || !/^\d{1,3}$/.test(lengthText)) return undefined;
  const length = Number(lengthText);
  if (length > addressBits(address.family)) return undefined;
  const network = address.value & netmask(address.family, length);
  if (options.strict && network !== address.value) return undefined;
  return { family: address.family, network, length };
}

const netmasks = { 4: [] as bigint[], 6: [] as bigint[] };

export function netmask(family: Family, length: number): bigint {
  const known = netmasks[family][length];
  if (known !== undefined) return known;
  const bits = BigInt(addressBits(family));
  return (netmasks[family][length] = ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(length))) - 1n));
}

/** Number of addresses in the prefix. */
export function prefixSize(prefix: Prefix): bigint {
  return 1n << BigInt(addressBits(prefix.family) - prefix.length);
}

export function lastAddress(prefix: Prefix): bigint {
  return prefix.network + prefixSize(prefix) - 1n;
}

export function formatAddress(address: Address): string {
  if (address.family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join(".");
  const groups = Array.from({ length: 8 }, (_, i) => Number((address.value >> BigInt((7 - i) * 16)) & 0xffffn));
  // RFC 5952: compress the longest run (of at least two) of zero groups, the first if tied.
  let best = { start: -1, length: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length && j - i >= 2) best = { start: i, length: j - i };
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.start < 0) return hex.join(":");
  return `${hex.slice(0, best.start).join(":")}::${hex.slice(best.start + best.length).join(":")}`;
}

export function formatPrefix(prefix: Prefix): string {
  return `${formatAddress({ family: prefix.family, value: prefix.network })}/${prefix.length}`;
}

/** Whether `inner` (an address or a prefix) lies completely within `outer`. */
export function contains(outer: Prefix, inner: Address | Prefix): boolean {
  if (outer.family !== inner.family) return false;
  if ("value" in inner) return (inner.value & netmask(outer.family, outer.length)) === outer.network;
  return inner.length >= outer.length && (inner.network & netmask(outer.family, outer.length)) === outer.network;
}

export function overlaps(a: Prefix, b: Prefix): boolean {
  return contains(a, b) || contains(b, a);
}

/** Orders by family, then address, then length (shorter first). */
export function comparePrefixes(a: Prefix, b: Prefix): number {
  if (a.family !== b.family) return a.family - b.family;
  if (a.network !== b.network) return a.network < b.network ? -1 : 1;
  return a.length - b.length;
}

/**
 * The smallest set of prefixes covering exactly the union of the given ones: contained prefixes
 * are dropped and sibling halves merged, repeatedly. Output is sorted.
 */
export function compact(prefixes: readonly Prefix[]): Prefix[] {
  const sorted = [...prefixes].sort(comparePrefixes);
  const kept: Prefix[] = [];
  for (const p of sorted) {
    const last = kept[kept.length - 1];
    if (last && contains(last, p)) continue;
    kept.push(p);
    // Merge the two last entries while they are the two halves of one prefix.
    for (;;) {
      const b = kept[kept.length - 1]!;
      const a = kept[kept.length - 2];
      if (!a || a.family !== b.family || a.length !== b.length || a.length === 0) break;
      const parentLength = a.length - 1;
      const parentNetwork = a.network & netmask(a.family, parentLength);
      if (parentNetwork !== a.network || b.network !== a.network + prefixSize(a)) break;
      kept.splice(-2, 2, { family: a.family, network: parentNetwork, length: parentLength });
    }
  }
  return kept;
}

/** The host prefix (/32 or /128) of an address. */
export function hostPrefix(address: Address): Prefix {
  return { family: address.family, network: address.value, length: addressBits(address.family) };
}
