// Every service the launcher runs, in start order (ports BULKHEAD_BASE_PORT, +1, …).
import type { ServiceDefinition } from "@bulkhead/service-kit";
import { ipamService } from "@bulkhead/ipam";
import { firewallPolicyService } from "@bulkhead/firewall-policy";
import { inventoryService } from "@bulkhead/inventory";
import { networkService } from "@bulkhead/network";
import { peeringService } from "@bulkhead/peering";
import { reconcilerService } from "@bulkhead/reconciler";
import { firewallAgentService } from "@bulkhead/firewall-agent";
import { metalCoreService } from "@bulkhead/metal-core";

export const services = [ipamService, networkService, inventoryService, peeringService, firewallPolicyService, reconcilerService] as ServiceDefinition[];

/** The device agents: not run by the launcher yet, documented all the same. */
export const agents = [metalCoreService, firewallAgentService] as ServiceDefinition[];

/** The variable every service reads another one's base URL from, e.g. BULKHEAD_FIREWALL_POLICY_URL. */
export const urlVariable = (service: string) => `BULKHEAD_${service.toUpperCase().replace(/-/g, "_")}_URL`;

/** Every service's URL variable for services on consecutive ports from `basePort` (the launcher's layout). */
export const serviceUrls = (basePort: number, host = "http://127.0.0.1") => Object.fromEntries(services.map((d, i) => [urlVariable(d.name), `${host}:${basePort + i}`]));
