import { MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { ProjectService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { Periodic, createServiceClient, serviceTokenSource, vars, type ServiceDefinition } from "@bulkhead/service-kit";
import { Directory } from "./directory.js";
import { Peerings } from "./peerings.js";
import { peeringRoutes } from "./routes.js";
import { PeeringStore } from "./store.js";

const config = {
  BULKHEAD_NETWORK_URL: vars.url("Base URL of the network service", { protocols: ["http", "https"] }),
  BULKHEAD_INVENTORY_URL: vars.url("Base URL of the inventory service (exit switch ports of external peerings)", { protocols: ["http", "https"] }),
  BULKHEAD_PEERING_SWEEP_MS: vars.int("How often automatic peerings are synchronized with every project and peerings of deleted networks removed", { default: 10_000, min: 100, max: 3_600_000 }),
};

export const peeringService: ServiceDefinition<typeof config> = {
  name: "peering",
  defaultPort: 7004,
  migrations: new URL("../migrations/", import.meta.url),
  config,
  async setup({ config: c, pool, outbox, tokens, logger, onClose }) {
    const client = { token: serviceTokenSource(tokens, "peering"), protocol: "grpc" as const };
    const directory = new Directory(
      createServiceClient(NetworkService, { ...client, baseUrl: c.BULKHEAD_NETWORK_URL }),
      createServiceClient(ProjectService, { ...client, baseUrl: c.BULKHEAD_NETWORK_URL }),
      createServiceClient(SwitchService, { ...client, baseUrl: c.BULKHEAD_INVENTORY_URL }),
      createServiceClient(IPService, { ...client, baseUrl: c.BULKHEAD_NETWORK_URL }),
      createServiceClient(MachineService, { ...client, baseUrl: c.BULKHEAD_INVENTORY_URL }),
    );
    const peerings = new Peerings(new PeeringStore(pool, outbox), directory, logger);
    const sweep = new Periodic(c.BULKHEAD_PEERING_SWEEP_MS, logger, "peering sweep", () => peerings.sweep());
    sweep.start();
    onClose(() => sweep.stop());
    return peeringRoutes(peerings);
  },
};
