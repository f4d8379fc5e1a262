import type { ServiceDefinition } from "@bulkhead/service-kit";
import { Ipam } from "./domain.js";
import { ipamRoutes } from "./routes.js";
import { IpamStore } from "./store.js";

export const ipamService: ServiceDefinition = {
  name: "ipam",
  defaultPort: 7001,
  migrations: new URL("../migrations/", import.meta.url),
  async setup({ pool }) {
    return ipamRoutes(new Ipam(new IpamStore(pool)));
  },
};
