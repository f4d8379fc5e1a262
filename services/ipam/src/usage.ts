// Usage arithmetic from counts, never from enumerating addresses: works for any IPv6 size.
import { addressBits, parsePrefix, prefixSize, type Family } from "@bulkhead/netaddr";
import type { UsageFacts } from "./store.js";

export interface Usage {
  cidr: string;
  family: Family;
  use: 0 | 1 | 2;
  availableIps: bigint;
  acquiredIps: bigint;
  availablePrefixes: bigint;
  acquiredPrefixes: bigint;
  largestFreeBlock: string;
}

/** Addresses never handed out: IPv4 network and broadcast up to /30, IPv6 anycast up to /126. */
export function reservedAddresses(family: Family, length: number): bigint {
  if (family === 4) return length <= 30 ? 2n : 0n;
  return length <= 126 ? 1n : 0n;
}

/** go-ipam counts available prefixes as free blocks of the smallest routable size. */
const smallestPrefix = (family: Family) => (family === 4 ? 30 : 126);

export function computeUsage(facts: UsageFacts): Usage {
  const prefix = parsePrefix(facts.prefix.cidr)!;
  const bits = addressBits(prefix.family);
  const smallest = smallestPrefix(prefix.family);
  const blocksOfSmallest = (length: number) => (length <= smallest ? 1n << BigInt(smallest - length) : 0n);
  const base = { cidr: facts.prefix.cidr, family: prefix.family, use: facts.prefix.use, acquiredIps: facts.acquiredIps, acquiredPrefixes: facts.children };
  switch (facts.prefix.use) {
    case 0:
      return { ...base, availableIps: prefixSize(prefix) - reservedAddresses(prefix.family, prefix.length), availablePrefixes: blocksOfSmallest(prefix.length), largestFreeBlock: facts.prefix.cidr };
    case 2:
      return { ...base, availableIps: prefixSize(prefix) - reservedAddresses(prefix.family, prefix.length) - facts.acquiredIps, availablePrefixes: 0n, largestFreeBlock: "" };
    case 1: {
      let availableIps = 0n;
      let availablePrefixes = 0n;
      for (const [length, count] of facts.freeBlocks) {
        availableIps += count << BigInt(bits - length);
        availablePrefixes += count * blocksOfSmallest(length);
      }
      return { ...base, availableIps, availablePrefixes, largestFreeBlock: facts.largestFreeBlock ?? "" };
    }
  }
}

export interface FamilyTotals {
  family: Family;
  availableIps: bigint;
  acquiredIps: bigint;
  availablePrefixes: bigint;
  acquiredPrefixes: bigint;
}

export function sumByFamily(usages: readonly Usage[]): FamilyTotals[] {
  const totals = new Map<Family, FamilyTotals>();
  for (const u of usages) {
    const t = totals.get(u.family) ?? { family: u.family, availableIps: 0n, acquiredIps: 0n, availablePrefixes: 0n, acquiredPrefixes: 0n };
    t.availableIps += u.availableIps;
    t.acquiredIps += u.acquiredIps;
    t.availablePrefixes += u.availablePrefixes;
    t.acquiredPrefixes += u.acquiredPrefixes;
    totals.set(u.family, t);
  }
  return [...totals.values()].sort((a, b) => a.family - b.family);
}
