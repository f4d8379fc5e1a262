// Where the reconciler may call an agent. The endpoint comes from the agent's heartbeat, and the
// agent's host may be a tenant's (a firewall's OS is the tenant's), so the reconciler calls only
// addresses in the operator's management networks: never a name (it could resolve anywhere),
// never an address a tenant could make it call on its behalf.
import { contains, formatPrefix, parseAddress, parsePrefix, type Prefix } from "@bulkhead/netaddr";
import { ConfigError } from "@bulkhead/service-kit";

export const AGENT_NETWORKS_VARIABLE = "BULKHEAD_AGENT_NETWORKS";

/** The comma-separated prefixes of BULKHEAD_AGENT_NETWORKS; a ConfigError naming each bad one. */
export function parseAgentNetworks(text: string): Prefix[] {
  const items = text.split(",").map((p) => p.trim()).filter(Boolean);
  const prefixes = items.map((item) => ({ item, prefix: parsePrefix(item, { strict: true }) }));
  const bad = prefixes.filter((p) => !p.prefix).map((p) => `${AGENT_NETWORKS_VARIABLE}: ${JSON.stringify(p.item)} is not a prefix like 10.0.0.0/8 (host bits zero)`);
  if (items.length === 0) bad.push(`${AGENT_NETWORKS_VARIABLE}: names no network; the reconciler could call no agent`);
  if (bad.length > 0) throw new ConfigError(bad);
  return prefixes.map((p) => p.prefix!);
}

export type EndpointVerdict = { allowed: true } | { allowed: false; problem: "not_an_address" | "outside"; message: string };

/** Whether the reconciler may call an agent at `endpoint` (an http(s) URL whose host is an address in `networks`). */
export function agentEndpointVerdict(endpoint: string, networks: readonly Prefix[]): EndpointVerdict {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return { allowed: false, problem: "not_an_address", message: `endpoint ${JSON.stringify(endpoint)} is not a URL` };
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const address = (url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.password ? parseAddress(host) : undefined;
  if (!address) return { allowed: false, problem: "not_an_address", message: `endpoint ${JSON.stringify(endpoint)} must be an http(s) URL whose host is an IP address, without credentials` };
  if (!networks.some((n) => contains(n, address))) {
    return { allowed: false, problem: "outside", message: `endpoint host ${host} is outside the agent management networks (${AGENT_NETWORKS_VARIABLE}: ${networks.map(formatPrefix).join(", ")})` };
  }
  return { allowed: true };
}
