import type { Interceptor } from "@connectrpc/connect";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { SagaSweeper, compensate, createServiceClient, serviceTokenSource, vars, type ServiceDefinition } from "@bulkhead/service-kit";
import { Machines } from "./machines.js";
import { NetworkPort } from "./network.js";
import { inventoryRoutes } from "./routes.js";
import { SecretBox } from "./secrets.js";
import { MachineStore } from "./store/machines.js";
import { SwitchStore } from "./store/switches.js";
import { Switches } from "./switches.js";

const config = {
  BULKHEAD_NETWORK_URL: vars.url("Base URL of the network service", { protocols: ["http", "https"] }),
  BULKHEAD_SECRETS_KEY: vars.string("32 random bytes, base64, that BMC credentials are encrypted with (AES-256-GCM)", { secret: true, minLength: 43 }),
  BULKHEAD_ASN_MIN: vars.int("Smallest ASN the allocation pool hands out", { default: 4210000001, min: 1, max: 4294967294 }),
  BULKHEAD_ASN_MAX: vars.int("Largest ASN the allocation pool hands out", { default: 4210131072, min: 1, max: 4294967294 }),
  BULKHEAD_REQUIRE_DUAL_HOMING: vars.bool("Machines must be cabled to exactly two leaves of one rack to be allocatable", { default: true }),
  BULKHEAD_SAGA_TIMEOUT_MS: vars.int("After how long an unfinished allocation or free is compensated or completed by the sweeper", { default: 30_000, min: 50, max: 3_600_000 }),
};

export interface InventoryServiceOptions {
  /** Extra interceptors on the network-service clients (tests inject failures here). */
  networkInterceptors?: Interceptor[];
}

export function createInventoryService(options: InventoryServiceOptions = {}): ServiceDefinition<typeof config> {
  return {
    name: "inventory",
    defaultPort: 7003,
    migrations: new URL("../migrations/", import.meta.url),
    config,
    async setup({ config: c, pool, outbox, tokens, logger, onClose }) {
      if (c.BULKHEAD_ASN_MIN > c.BULKHEAD_ASN_MAX) throw new Error("BULKHEAD_ASN_MIN must not be larger than BULKHEAD_ASN_MAX");
      const client = { baseUrl: c.BULKHEAD_NETWORK_URL, token: serviceTokenSource(tokens, "inventory"), protocol: "grpc" as const, interceptors: options.networkInterceptors };
      const network = new NetworkPort(createServiceClient(NetworkService, client), createServiceClient(IPService, client));
      const switchStore = new SwitchStore(pool, outbox);
      const machineStore = new MachineStore(pool, outbox, { min: c.BULKHEAD_ASN_MIN, max: c.BULKHEAD_ASN_MAX });
      const machines = new Machines(machineStore, switchStore, network, new SecretBox(c.BULKHEAD_SECRETS_KEY), { requireDualHoming: c.BULKHEAD_REQUIRE_DUAL_HOMING }, logger);
      const sweeper = new SagaSweeper(c.BULKHEAD_SAGA_TIMEOUT_MS, logger, async (stalledBefore) => {
        for (const row of await machineStore.stalled(stalledBefore)) {
          if (!(await machineStore.claimStalled(row.id, stalledBefore))) continue;
          logger.info({ machine: row.id, state: row.allocation?.state }, "finishing an abandoned allocation saga");
          await compensate(logger, `machine ${row.id}`, () => (row.allocation?.state === "freeing" ? machines.completeFree(row) : machines.compensateAllocation(row)));
        }
      });
      sweeper.start();
      onClose(() => sweeper.stop());
      return inventoryRoutes(new Switches(switchStore, network), machines, machineStore, network);
    },
  };
}

export const inventoryService = createInventoryService();
