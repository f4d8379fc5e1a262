import { main } from "@bulkhead/service-kit";
import { inventoryService } from "./service.js";

main(inventoryService);
