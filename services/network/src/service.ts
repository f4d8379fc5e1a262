import type { Interceptor } from "@connectrpc/connect";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { SagaSweeper, createServiceClient, serviceTokenSource, vars, type ServiceDefinition } from "@bulkhead/service-kit";
import { Directory } from "./directory.js";
import { IpamPort } from "./ipam.js";
import { PeeringPort } from "./peering.js";
import { Ips } from "./ips.js";
import { Networks } from "./networks.js";
import { networkRoutes } from "./routes.js";
import { sweepNetworkSagas } from "./sagas.js";
import { DirectoryStore } from "./store/directory.js";
import { NetworkStore } from "./store/networks.js";

const config = {
  BULKHEAD_IPAM_URL: vars.url("Base URL of the IPAM service", { protocols: ["http", "https"] }),
  BULKHEAD_VRF_MIN: vars.int("Smallest VRF id (= L3 VNI) the pool hands out; fixed once a VRF is in use", { default: 1, min: 1, max: 16777215 }),
  BULKHEAD_VRF_MAX: vars.int("Largest VRF id the pool hands out; fixed once a VRF is in use", { default: 131072, min: 1, max: 16777215 }),
  BULKHEAD_RESERVED_VNIS: vars.string("Comma-separated VNIs the fabric uses itself and the pool never hands out (nor may an external network name): the PXE segment's, static VRFs'", { default: "104000" }),
  BULKHEAD_PEERING_URL: vars.url("Base URL of the peering service; when set, a network is deleted only once the peering service released it, and automatic peerings follow changes at once", { default: "", protocols: ["http", "https"] }),
  BULKHEAD_SAGA_TIMEOUT_MS: vars.int("After how long an unfinished allocation or free is compensated or completed by the sweeper", { default: 30_000, min: 50, max: 3_600_000 }),
};

export interface NetworkServiceOptions {
  /** Extra interceptors on the IPAM client (tests inject failures here). */
  ipamInterceptors?: Interceptor[];
}

export function createNetworkService(options: NetworkServiceOptions = {}): ServiceDefinition<typeof config> {
  return {
    name: "network",
    defaultPort: 7002,
    migrations: new URL("../migrations/", import.meta.url),
    config,
    async setup({ config: c, pool, outbox, tokens, logger, onClose }) {
      if (c.BULKHEAD_VRF_MIN > c.BULKHEAD_VRF_MAX) throw new Error("BULKHEAD_VRF_MIN must not be larger than BULKHEAD_VRF_MAX");
      const reserved = reservedVnis(c.BULKHEAD_RESERVED_VNIS);
      const ipamClient = createServiceClient(IpamService, { baseUrl: c.BULKHEAD_IPAM_URL, token: serviceTokenSource(tokens, "network"), protocol: "grpc", interceptors: options.ipamInterceptors });
      const ipam = new IpamPort(ipamClient);
      const directoryStore = new DirectoryStore(pool, outbox);
      const networkStore = new NetworkStore(pool, outbox, { min: c.BULKHEAD_VRF_MIN, max: c.BULKHEAD_VRF_MAX }, reserved);
      await networkStore.fixVrfRange();
      const peering = c.BULKHEAD_PEERING_URL
        ? new PeeringPort(createServiceClient(PeeringService, { baseUrl: c.BULKHEAD_PEERING_URL, token: serviceTokenSource(tokens, "network"), protocol: "grpc" }), logger)
        : undefined;
      const networks = new Networks(networkStore, directoryStore, ipam, logger, peering);
      const ips = new Ips(networkStore, directoryStore, ipam, logger);
      const sweeper = new SagaSweeper(c.BULKHEAD_SAGA_TIMEOUT_MS, logger, sweepNetworkSagas(networkStore, networks, ips, logger));
      sweeper.start();
      onClose(() => sweeper.stop());
      return networkRoutes(new Directory(directoryStore, peering), networks, ips);
    },
  };
}

export const networkService = createNetworkService();

/** `BULKHEAD_RESERVED_VNIS`: a comma-separated list of VNIs (1–16777215). */
export function reservedVnis(text: string): number[] {
  const items = text.split(",").map((s) => s.trim()).filter(Boolean);
  const bad = items.filter((s) => !/^\d+$/.test(s) || Number(s) < 1 || Number(s) > 16777215);
  if (bad.length > 0) throw new Error(`BULKHEAD_RESERVED_VNIS: ${bad.join(", ")} ${bad.length === 1 ? "is not a VNI" : "are not VNIs"} (1–16777215)`);
  return [...new Set(items.map(Number))].sort((a, b) => a - b);
}
