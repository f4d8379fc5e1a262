import { main } from "@bulkhead/service-kit";
import { networkService } from "./service.js";

main(networkService);
