import { main } from "@bulkhead/service-kit";
import { reconcilerService } from "./service.js";

main(reconcilerService);
