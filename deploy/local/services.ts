// Every service the launcher runs, in start order (ports BULKHEAD_BASE_PORT, +1, …).
import type { ServiceDefinition } from "@bulkhead/service-kit";
import { ipamService } from "@bulkhead/ipam";
import { firewallPolicyService } from "@bulkhead/firewall-policy";
import { inventoryService } from "@bulkhead/inventory";
import { networkService } from "@bulkhead/network";
import { peeringService } from "@bulkhead/peering";

export const services = [ipamService, networkService, inventoryService, peeringService, firewallPolicyService] as ServiceDefinition[];
