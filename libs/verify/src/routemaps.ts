// What a route map lets through, read from its permit entries and their prefix lists. A map is
// taken as the union of its permit entries (an earlier deny entry is not subtracted): the safe
// side for "everything it permits lies inside X".
import type { FrrConfig, RouteMapEntry } from "./frr.js";
import { admittedBy, type Admitted } from "./prefixes.js";

export interface PermitEntry {
  entry: RouteMapEntry;
  /** Ranges its prefix lists admit, per list; `undefined` when the entry matches no prefix list (it admits every route its other conditions match). */
  admitted?: Admitted[];
}

export interface RouteMapReading {
  name: string;
  exists: boolean;
  permits: PermitEntry[];
  /** Prefix lists referenced but not defined (FRR then matches nothing; a typo that silently blocks). */
  undefinedLists: { name: string; line: number }[];
}

/** Readings by parsed configuration: a route map is read once however many routes it is asked about. */
const readings = new WeakMap<FrrConfig, Map<string, RouteMapReading>>();

export function readRouteMap(config: FrrConfig, name: string): RouteMapReading {
  let known = readings.get(config);
  if (!known) readings.set(config, (known = new Map()));
  const cached = known.get(name);
  if (cached) return cached;
  const reading = read(config, name);
  known.set(name, reading);
  return reading;
}

function read(config: FrrConfig, name: string): RouteMapReading {
  const entries = config.routeMaps.get(name);
  const reading: RouteMapReading = { name, exists: entries !== undefined, permits: [], undefinedLists: [] };
  for (const entry of entries ?? []) {
    if (entry.action !== "permit") continue;
    if (entry.prefixLists.length === 0) {
      reading.permits.push({ entry });
      continue;
    }
    const admitted: Admitted[] = [];
    for (const ref of entry.prefixLists) {
      const list = config.prefixLists.get(ref.name);
      if (!list || list.family !== ref.family) reading.undefinedLists.push({ name: ref.name, line: entry.line });
      else admitted.push(...admittedBy(list));
    }
    reading.permits.push({ entry, admitted });
  }
  return reading;
}
