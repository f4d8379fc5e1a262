import { main } from "@bulkhead/service-kit";
import { firewallPolicyService } from "./service.js";

main(firewallPolicyService);
