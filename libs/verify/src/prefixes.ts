// Prefix-list semantics as FRR applies them: an entry matches routes inside its prefix whose
// length lies in [ge, le] (no ge/le: exactly the prefix's length; le alone: from the prefix's
// length; ge alone: up to the family's maximum). Lists are read in order; the first entry that
// matches decides.
import { contains, formatPrefix, overlaps, parsePrefix, type Prefix } from "@bulkhead/netaddr";
import type { PrefixEntry, PrefixList } from "./frr.js";

export interface Range {
  prefix: Prefix;
  min: number;
  max: number;
}

const maxLength = (p: Prefix) => (p.family === 4 ? 32 : 128);

export function rangeOf(e: Pick<PrefixEntry, "prefix" | "ge" | "le">): Range | undefined {
  const prefix = parsePrefix(e.prefix);
  if (!prefix) return undefined;
  const min = e.ge ?? prefix.length;
  const max = e.le ?? (e.ge !== undefined ? maxLength(prefix) : prefix.length);
  return { prefix, min: Math.max(min, prefix.length), max };
}

/** A prefix with all its more specifics (a default route only itself: `exactDefault`). */
export function covering(text: string, exactDefault = true): Range | undefined {
  const prefix = parsePrefix(text);
  if (!prefix) return undefined;
  return { prefix, min: prefix.length, max: exactDefault && prefix.length === 0 ? 0 : maxLength(prefix) };
}

export const exactly = (text: string): Range | undefined => {
  const prefix = parsePrefix(text.includes("/") ? text : `${text}/${text.includes(":") ? 128 : 32}`);
  return prefix && { prefix, min: prefix.length, max: prefix.length };
};

export const rangeText = (r: Range) => `${formatPrefix(r.prefix)}${r.min === r.prefix.length && r.max === r.prefix.length ? "" : `${r.min > r.prefix.length ? ` ge ${r.min}` : ""}${r.max > r.prefix.length ? ` le ${r.max}` : ""}`}`;

/** Every route `a` matches, `b` matches too. */
export const within = (a: Range, b: Range) => a.prefix.family === b.prefix.family && contains(b.prefix, a.prefix) && a.min >= b.min && a.max <= b.max && a.min <= a.max;

export const withinAny = (a: Range, list: readonly Range[]) => list.some((b) => within(a, b));

/** Some route matches both. */
export function overlapping(a: Range, b: Range): boolean {
  if (a.prefix.family !== b.prefix.family || !overlaps(a.prefix, b.prefix)) return false;
  const low = Math.max(a.min, b.min, a.prefix.length, b.prefix.length);
  return low <= Math.min(a.max, b.max);
}

export interface Admitted {
  range: Range;
  line: number;
  /** The deny entries before it: what it cannot admit. */
  denied: Range[];
}

/** The permit entries of a list with the denies that precede them. Unparsable entries are left to the caller (they are unknown statements). */
export function admittedBy(list: PrefixList | undefined): Admitted[] {
  const out: Admitted[] = [];
  const denied: Range[] = [];
  for (const e of [...(list?.entries ?? [])].sort((a, b) => a.seq - b.seq)) {
    const r = rangeOf(e);
    if (!r) continue;
    if (e.action === "deny") denied.push(r);
    else out.push({ range: r, line: e.line, denied: [...denied] });
  }
  return out;
}

/** Whether an admitted range lets through some route of `forbidden` that no earlier deny removes. */
export const admitsForbidden = (a: Admitted, forbidden: readonly Range[]) => forbidden.some((f) => overlapping(a.range, f) && !a.denied.some((d) => within(f, d) || within(a.range, d)));
