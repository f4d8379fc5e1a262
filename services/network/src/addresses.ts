// Address-family rules on lists of prefixes, on top of @bulkhead/netaddr.
import { parseAddress, parsePrefix, contains, type Family } from "@bulkhead/netaddr";
import { InvalidArgumentError } from "@bulkhead/service-kit";

export const familyOf = (cidr: string): Family => parsePrefix(cidr)!.family;

export function familiesOf(cidrs: readonly string[]): Family[] {
  return [...new Set(cidrs.map(familyOf))].sort();
}

/** Fails unless every prefix of `cidrs` is of a family in `allowed`. */
export function requireFamilies(field: string, cidrs: readonly string[], allowed: readonly Family[], what: string): void {
  for (const cidr of cidrs) {
    if (!allowed.includes(familyOf(cidr))) throw new InvalidArgumentError(field, `${cidr} is IPv${familyOf(cidr)} but ${what} has no IPv${familyOf(cidr)} prefix`);
  }
}

/** The prefix of `cidrs` that contains `ip`, if any. */
export function prefixContaining(cidrs: readonly string[], ip: string): string | undefined {
  const address = parseAddress(ip)!;
  return cidrs.find((c) => contains(parsePrefix(c)!, address));
}

export const defaultRoute = (family: Family) => (family === 4 ? "0.0.0.0/0" : "::/0");
