// LLDP neighbors as `lldpcli -f json show neighbors` prints them, tolerant of its shapes (a single
// interface is an object, several an array; chassis and port keyed by name). Pure.

export interface Neighbor {
  /** Local port. */
  port: string;
  chassisId: string;
  systemName: string;
  portId: string;
  portDescription: string;
}

type Json = Record<string, unknown>;
const asList = (value: unknown): unknown[] => (Array.isArray(value) ? value : value === undefined ? [] : [value]);
const valueOf = (value: unknown): string => (typeof value === "string" ? value : typeof value === "object" && value !== null && "value" in value ? String((value as Json).value) : "");

export function parseLldp(text: string): Neighbor[] {
  const root = (JSON.parse(text) as Json).lldp as Json | undefined;
  const neighbors: Neighbor[] = [];
  for (const entry of asList(root?.interface)) {
    for (const [port, details] of Object.entries(entry as Json)) {
      const d = details as Json;
      const chassis = Object.entries((d.chassis ?? {}) as Json)[0];
      const chassisDetails = (chassis?.[1] ?? {}) as Json;
      const portDetails = (d.port ?? {}) as Json;
      neighbors.push({
        port,
        chassisId: valueOf(chassisDetails.id),
        systemName: chassis?.[0] ?? "",
        portId: valueOf(portDetails.id),
        portDescription: valueOf(portDetails.descr),
      });
    }
  }
  return neighbors.sort((a, b) => (a.port < b.port ? -1 : a.port > b.port ? 1 : 0));
}
