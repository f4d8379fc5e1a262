// The firewall agent. It serves Apply for `network/interfaces`, `frr/frr.conf` and
// `nftables/bulkhead.nft` (validated with the configured command, `vtysh -C` and `nft -c`,
// activated with ifreload, frr-reload and `nft -f`, in that order) and reports drift. The
// firewall registered as a machine during PXE boot; given a NIC file it registers again at start
// (unchanged registrations change nothing).
import { readFileSync } from "node:fs";
import { MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { defineAgent, frrConfig, frrKind, interfacesConfig, interfacesKind } from "@bulkhead/agent";
import { createServiceClient, vars } from "@bulkhead/service-kit";

const config = {
  ...interfacesConfig,
  ...frrConfig,
  BULKHEAD_NICS_FILE: vars.string("JSON file with the firewall's NICs [{name, mac, neighbors: [{switch, port}]}] to register at start; empty: no registration", { default: "" }),
  BULKHEAD_NFT_VALIDATE: vars.string("Command that validates a candidate nftables ruleset ({file}); `none`: no validation", { default: "nft -c -f {file}" }),
  BULKHEAD_NFT_RELOAD: vars.string("Command that activates the written ruleset ({file}); not run in simulate mode", { default: "nft -f {file}" }),
};

export const firewallAgentService = defineAgent({
  name: "firewall-agent",
  defaultPort: 7101,
  config,
  kinds: (c) => [interfacesKind(c), frrKind(c), { match: /^nftables\//, validate: c.BULKHEAD_NFT_VALIDATE, reload: c.BULKHEAD_NFT_RELOAD }],
  device(c) {
    const inventory = createServiceClient(MachineService, { baseUrl: c.BULKHEAD_INVENTORY_URL, token: c.BULKHEAD_AGENT_TOKEN, protocol: "grpc", timeoutMs: 10_000 });
    return {
      async register() {
        if (!c.BULKHEAD_NICS_FILE) return;
        await inventory.registerMachine({ device: c.BULKHEAD_DEVICE, nics: JSON.parse(readFileSync(c.BULKHEAD_NICS_FILE, "utf8")) });
      },
      heartbeat: async () => {},
    };
  },
});
