import { main } from "@bulkhead/service-kit";
import { ipamService } from "./service.js";

main(ipamService);
