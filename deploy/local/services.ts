// Every service the launcher runs, in start order (ports BULKHEAD_BASE_PORT, +1, …).
import type { ServiceDefinition } from "@bulkhead/service-kit";
import { ipamService } from "@bulkhead/ipam";

export const services: ServiceDefinition[] = [ipamService];
