import { main } from "@bulkhead/service-kit";
import { peeringService } from "./service.js";

main(peeringService);
