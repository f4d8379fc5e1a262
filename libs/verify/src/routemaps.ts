// What a route map lets through, read from its entries and prefix lists. Over-approximates: a
// permit entry counts with all the permit entries of its prefix lists (deny refinements ignored),
// which is the safe side for "everything permitted lies inside X".
import { parsePrefix, type Prefix } from "@bulkhead/netaddr";
import type { FrrConfig, RouteMapEntry } from "./frr.js";

export interface Permitted {
  prefix: Prefix;
  text: string;
  /** Line of the prefix-list entry. */
  line: number;
  sourceVrf?: string;
}

export interface RouteMapReading {
  exists: boolean;
  /** Prefixes the permit entries let through. */
  prefixes: Permitted[];
  /** Permit entries that match no prefix list: they let through everything (of their source VRF). */
  unconditional: RouteMapEntry[];
  /** Prefix lists referenced but not defined (FRR then matches nothing). */
  undefinedLists: { name: string; line: number }[];
}

export function readRouteMap(config: FrrConfig, name: string): RouteMapReading {
  const entries = config.routeMaps.get(name);
  const reading: RouteMapReading = { exists: entries !== undefined, prefixes: [], unconditional: [], undefinedLists: [] };
  for (const entry of entries ?? []) {
    if (entry.action !== "permit") continue;
    if (entry.prefixLists.length === 0) {
      reading.unconditional.push(entry);
      continue;
    }
    for (const listName of entry.prefixLists) {
      const list = config.prefixLists.get(listName);
      if (!list) {
        reading.undefinedLists.push({ name: listName, line: entry.line });
        continue;
      }
      for (const e of list.entries) {
        if (e.action !== "permit") continue;
        const prefix = parsePrefix(e.prefix);
        if (prefix) reading.prefixes.push({ prefix, text: e.le !== undefined ? `${e.prefix} le ${e.le}` : e.prefix, line: e.line, sourceVrf: entry.sourceVrf });
      }
    }
  }
  return reading;
}
