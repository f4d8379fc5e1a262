// metal-core, Bulkhead's switch agent. At start it registers the switch with the inventory from a
// description file (on SONiC the ports may come from CONFIG_DB instead); it serves Apply for
// `frr/frr.conf` and, by the switch's OS, `network/interfaces` (Cumulus) or
// `sonic/config_db.json` (SONiC, written into CONFIG_DB); and with every heartbeat reports the
// LLDP neighbors it sees and the hash of what runs — read back from CONFIG_DB on SONiC, so a
// change there behind the agent's back is drift like a hand-edited file.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { switchFlavourOf, type SwitchFlavour } from "@bulkhead/api/switch-os";
import { AGENT_VERSION, defineAgent, frrConfig, frrKind, interfacesConfig, interfacesKind, parseLldp, type FileKind, type Neighbor } from "@bulkhead/agent";
import { ConfigError, createServiceClient, vars } from "@bulkhead/service-kit";
import { checkManagementKept } from "./checks.js";
import { ConfigDbStore, configDbKind, scanKeys } from "./configdb.js";

const exec = promisify(execFile);

const config = {
  ...frrConfig,
  ...interfacesConfig,
  BULKHEAD_SWITCH_FILE: vars.string(
    "JSON file describing the switch: partition, rack, role (leaf, spine, exit), asn, routerId, os {vendor, version}, management {address, gateway, routes}, pxeAddress, ports [{name, identifier, mac, mtu, uplink}] (SONiC: omit ports to read them from CONFIG_DB, and list the fabric ports in uplinks)",
  ),
  BULKHEAD_LLDP_FILE: vars.string("File with LLDP neighbors in `lldpcli -f json show neighbors` format (simulation); empty: run lldpcli", { default: "" }),
  BULKHEAD_SONIC_CONFIG_DB: vars.string("SONiC: the switch's CONFIG_DB, as redis://host:port/4 or unix:///var/run/redis/redis.sock?db=4", { default: "redis://127.0.0.1:6379/4" }),
  BULKHEAD_SONIC_CONFIG_SAVE: vars.string("SONiC: command run after CONFIG_DB was written (e.g. `config save -y`, so it survives a reboot); a failure restores the previous revision; empty or `none`: nothing", { default: "" }),
  BULKHEAD_SONIC_PORT_IDENTIFIER: vars.oneOf("SONiC: which name of a port CONFIG_DB's ports are registered with as the LLDP identifier (what LLDP announces: the alias by default)", ["alias", "name"] as const, { default: "alias" }),
};

interface SwitchFile {
  partition: string;
  rack: string;
  role: "leaf" | "spine" | "exit";
  asn: number;
  routerId: string;
  managementIp?: string;
  management?: { address: string; gateway: string; routes?: string[] };
  pxeAddress?: string;
  os: { vendor: string; version: string };
  ports?: { name: string; identifier: string; mac?: string; mtu?: number; breakout?: string; uplink?: boolean }[];
  /** With ports read from CONFIG_DB: the fabric ports. */
  uplinks?: string[];
}

const roles = { leaf: SwitchRole.LEAF, spine: SwitchRole.SPINE, exit: SwitchRole.EXIT };

const readSwitchFile = (path: string) => JSON.parse(readFileSync(path, "utf8")) as SwitchFile;

function flavourOf(sw: SwitchFile): SwitchFlavour {
  const os = switchFlavourOf(sw.os);
  if ("problem" in os) throw new ConfigError([`BULKHEAD_SWITCH_FILE: ${os.field}: ${os.problem}`]);
  return os.flavour;
}

/** A client of CONFIG_DB from `redis://host:port/db` or `unix:///path?db=N`. */
export function connectConfigDb(address: string): Redis {
  const options = { maxRetriesPerRequest: 2, lazyConnect: true };
  if (!address.startsWith("unix://")) return new Redis(address, options);
  const url = new URL(address);
  return new Redis({ ...options, path: url.pathname, db: Number(url.searchParams.get("db") ?? 4) });
}

/** SONiC's ports from CONFIG_DB's PORT table, named as SONiC names them, identified as LLDP announces them. */
export async function portsFromConfigDb(db: Redis, identifier: "alias" | "name", uplinks: readonly string[]): Promise<NonNullable<SwitchFile["ports"]>> {
  const ports: NonNullable<SwitchFile["ports"]> = [];
  for (const key of await scanKeys(db, "PORT|*")) {
    const fields = await db.hgetall(key);
    const name = key.slice("PORT|".length);
    ports.push({ name, identifier: identifier === "alias" ? fields.alias || name : name, mtu: Number(fields.mtu) || undefined, uplink: uplinks.includes(name) });
  }
  return ports;
}

export const metalCoreService = defineAgent({
  name: "metal-core",
  defaultPort: 7100,
  config,
  kinds(c, { onClose }): FileKind[] {
    if (flavourOf(readSwitchFile(c.BULKHEAD_SWITCH_FILE)) === "cumulus") return [frrKind(c), { ...interfacesKind(c), check: checkManagementKept }];
    const db = connectConfigDb(c.BULKHEAD_SONIC_CONFIG_DB);
    onClose(() => void db.quit().catch(() => db.disconnect()));
    const store = new ConfigDbStore(db, join(c.BULKHEAD_AGENT_ROOT, ".bulkhead", "config_db.ports.json"));
    return [frrKind(c), configDbKind(store, c.BULKHEAD_SONIC_CONFIG_SAVE)];
  },
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
        const sw = readSwitchFile(c.BULKHEAD_SWITCH_FILE);
        let ports = sw.ports;
        if (!ports?.length && flavourOf(sw) === "sonic") {
          const db = connectConfigDb(c.BULKHEAD_SONIC_CONFIG_DB);
          try {
            ports = await portsFromConfigDb(db, c.BULKHEAD_SONIC_PORT_IDENTIFIER, sw.uplinks ?? []);
          } finally {
            db.disconnect();
          }
        }
        await inventory.registerSwitch({
          device: c.BULKHEAD_DEVICE,
          partition: sw.partition,
          rack: sw.rack,
          role: roles[sw.role],
          asn: sw.asn,
          routerId: sw.routerId,
          managementIp: sw.managementIp ?? "",
          management: sw.management ? { address: sw.management.address, gateway: sw.management.gateway, routes: sw.management.routes ?? [] } : undefined,
          pxeAddress: sw.pxeAddress ?? "",
          os: sw.os,
          agentVersion: AGENT_VERSION,
          ports: ports ?? [],
        });
      },
      async heartbeat(runningHash) {
        const seen = await neighbors();
        await inventory.switchHeartbeat({ device: c.BULKHEAD_DEVICE, agentVersion: AGENT_VERSION, runningConfigHash: runningHash, lldpNeighbors: seen });
      },
    };
  },
});
