// metal-core, Bulkhead's switch agent. At start it registers the switch with the inventory from a
// description file (ports as the NOS names them); it serves Apply for `frr/frr.conf` and
// `network/interfaces`, and with every heartbeat reports the LLDP neighbors it sees and the hash
// of what runs.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { promisify } from "node:util";
import { SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { AGENT_VERSION, defineAgent, frrConfig, frrKind, interfacesConfig, interfacesKind, parseLldp, type Neighbor } from "@bulkhead/agent";
import { createServiceClient, vars } from "@bulkhead/service-kit";

const exec = promisify(execFile);

const config = {
  ...frrConfig,
  ...interfacesConfig,
  BULKHEAD_SWITCH_FILE: vars.string("JSON file describing the switch: partition, rack, role (leaf, spine, exit), asn, routerId, os {vendor, version}, ports [{name, identifier, mac, mtu, uplink}]"),
  BULKHEAD_LLDP_FILE: vars.string("File with LLDP neighbors in `lldpcli -f json show neighbors` format (simulation); empty: run lldpcli", { default: "" }),
};

interface SwitchFile {
  partition: string;
  rack: string;
  role: "leaf" | "spine" | "exit";
  asn: number;
  routerId: string;
  managementIp?: string;
  os: { vendor: string; version: string };
  ports: { name: string; identifier: string; mac?: string; mtu?: number; breakout?: string; uplink?: boolean }[];
}

const roles = { leaf: SwitchRole.LEAF, spine: SwitchRole.SPINE, exit: SwitchRole.EXIT };

export const metalCoreService = defineAgent({
  name: "metal-core",
  defaultPort: 7100,
  config,
  kinds: (c) => [frrKind(c), interfacesKind(c)],
  device(c, log) {
    const inventory = createServiceClient(SwitchService, { baseUrl: c.BULKHEAD_INVENTORY_URL, token: c.BULKHEAD_AGENT_TOKEN, protocol: "grpc", timeoutMs: 10_000 });
    const neighbors = async (): Promise<Neighbor[]> => {
      try {
        return parseLldp(c.BULKHEAD_LLDP_FILE ? readFileSync(c.BULKHEAD_LLDP_FILE, "utf8") : (await exec("lldpcli", ["-f", "json", "show", "neighbors"], { timeout: 5_000 })).stdout);
      } catch (error) {
        log.warn({ err: error }, "LLDP neighbors not readable; reporting none");
        return [];
      }
    };
    return {
      async register() {
        const sw = JSON.parse(readFileSync(c.BULKHEAD_SWITCH_FILE, "utf8")) as SwitchFile;
        await inventory.registerSwitch({ device: c.BULKHEAD_DEVICE, partition: sw.partition, rack: sw.rack, role: roles[sw.role], asn: sw.asn, routerId: sw.routerId, managementIp: sw.managementIp ?? "", os: sw.os, agentVersion: AGENT_VERSION, ports: sw.ports });
      },
      async heartbeat(runningHash) {
        const seen = await neighbors();
        await inventory.switchHeartbeat({ device: c.BULKHEAD_DEVICE, agentVersion: AGENT_VERSION, runningConfigHash: runningHash, lldpNeighbors: seen });
      },
    };
  },
});
