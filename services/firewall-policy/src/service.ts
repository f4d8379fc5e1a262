import { MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { createServiceClient, serviceTokenSource, vars, type ServiceDefinition } from "@bulkhead/service-kit";
import { Directory } from "./directory.js";
import { Policies } from "./policies.js";
import { policyRoutes } from "./routes.js";
import { PolicyStore } from "./store.js";

const config = {
  BULKHEAD_INVENTORY_URL: vars.url("Base URL of the inventory service (firewalls and their networks)", { protocols: ["http", "https"] }),
  BULKHEAD_NETWORK_URL: vars.url("Base URL of the network service (policy scopes, the project's SNAT addresses)", { protocols: ["http", "https"] }),
};

export const firewallPolicyService: ServiceDefinition<typeof config> = {
  name: "firewall-policy",
  defaultPort: 7005,
  migrations: new URL("../migrations/", import.meta.url),
  config,
  async setup({ config: c, pool, outbox, tokens }) {
    const client = { token: serviceTokenSource(tokens, "firewall-policy"), protocol: "grpc" as const };
    const directory = new Directory(
      createServiceClient(MachineService, { ...client, baseUrl: c.BULKHEAD_INVENTORY_URL }),
      createServiceClient(NetworkService, { ...client, baseUrl: c.BULKHEAD_NETWORK_URL }),
      createServiceClient(IPService, { ...client, baseUrl: c.BULKHEAD_NETWORK_URL }),
    );
    return policyRoutes(new Policies(new PolicyStore(pool, outbox), directory));
  },
};
