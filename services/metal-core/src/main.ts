import { main } from "@bulkhead/service-kit";
import { metalCoreService } from "./service.js";

main(metalCoreService);
