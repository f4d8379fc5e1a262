import { main } from "@bulkhead/service-kit";
import { firewallAgentService } from "./service.js";

main(firewallAgentService);
