// Which client talks to which Bulkhead server, and the factory both entry points share.
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { CHANGES_HEADER, IDEMPOTENCY_HEADER } from "@bulkhead/api/headers";
import { AuditService } from "@bulkhead/api/gen/bulkhead/audit/v1/audit_pb.js";
import { TokenService } from "@bulkhead/api/gen/bulkhead/auth/v1/token_pb.js";
import { DesiredStateService } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { NetworkPolicyService } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { ImageService, MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";

/** The servers of a Bulkhead installation, in the order of their default ports (7001…). */
export const SERVERS = ["ipam", "network", "inventory", "peering", "firewall-policy", "reconciler"] as const;
export type Server = (typeof SERVERS)[number];

const catalog = {
  ipam: [IpamService, "ipam"],
  partitions: [PartitionService, "network"],
  tenants: [TenantService, "network"],
  projects: [ProjectService, "network"],
  networks: [NetworkService, "network"],
  ips: [IPService, "network"],
  switches: [SwitchService, "inventory"],
  machines: [MachineService, "inventory"],
  images: [ImageService, "inventory"],
  peerings: [PeeringService, "peering"],
  policies: [NetworkPolicyService, "firewall-policy"],
  fabric: [DesiredStateService, "reconciler"],
  // Every server with storage serves tokens; revocations are shared through Valkey.
  tokens: [TokenService, "network"],
} as const satisfies Record<string, readonly [DescService, Server]>;

type Catalog = typeof catalog;
/** One typed client per service; `audit(server)` reads that server's audit log (admins only). */
export type Bulkhead = { [K in keyof Catalog]: Client<Catalog[K][0]> } & { audit(server: Server): Client<typeof AuditService> };

export interface BulkheadOptions {
  /** Base URL of each server, or one URL for all (a gateway routing by path). */
  endpoints: Partial<Record<Server, string>> | string;
  /** Bearer token, or a function returning a fresh one per call. */
  token?: string | (() => string | Promise<string>);
  /** Per-call deadline; 30 s when unset. */
  timeoutMs?: number;
  /**
   * Called with the fabric changes a call committed (its `bulkhead-changes` header), for waiting
   * until they reached the devices: `fabric.getChangeProgress`.
   */
  onChanges?: (changes: string[]) => void;
}

/** The default endpoints of `npm start` and of a single host: ports 7001–7006. */
export function localEndpoints(host = "http://127.0.0.1", basePort = 7001): Record<Server, string> {
  return Object.fromEntries(SERVERS.map((s, i) => [s, `${host}:${basePort + i}`])) as Record<Server, string>;
}

/** Tries of a mutating call the server answered `unavailable` or `aborted` (same idempotency key each time). */
const MUTATION_TRIES = 3;
const RETRY_DELAY_MS = 200;

/**
 * What every call of the SDK carries: the bearer token; a mutating call also an idempotency key,
 * reused when it is retried. The changes a call committed go to `onChanges`.
 */
export function callInterceptors(token: BulkheadOptions["token"], onChanges?: BulkheadOptions["onChanges"]): Interceptor[] {
  const auth: Interceptor = (next) => async (req) => {
    if (token) req.header.set("Authorization", `Bearer ${typeof token === "string" ? token : await token()}`);
    return next(req);
  };
  const idempotent: Interceptor = (next) => async (req) => {
    if (req.stream || req.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) return next(req);
    if (!req.header.has(IDEMPOTENCY_HEADER)) req.header.set(IDEMPOTENCY_HEADER, globalThis.crypto.randomUUID());
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (error) {
        const code = ConnectError.from(error).code;
        const retryable = code === Code.Unavailable || code === Code.Aborted;
        if (!retryable || attempt >= MUTATION_TRIES || req.signal.aborted) throw error;
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * 2 ** (attempt - 1)));
      }
    }
  };
  const changes: Interceptor = (next) => async (req) => {
    const res = await next(req);
    const named = res.header.get(CHANGES_HEADER);
    if (named && onChanges) onChanges(named.split(","));
    return res;
  };
  return [auth, idempotent, changes];
}

/** Builds the clients; `transport` makes one transport per server URL. */
export function buildBulkhead(options: BulkheadOptions, transport: (baseUrl: string) => Transport): Bulkhead {
  const transports = new Map<string, Transport>();
  const urlOf = (server: Server) => {
    const url = typeof options.endpoints === "string" ? options.endpoints : options.endpoints[server];
    if (!url) throw new Error(`no endpoint for the ${server} server`);
    return url;
  };
  const clientOf = <T extends DescService>(service: T, server: Server) => {
    const url = urlOf(server);
    let t = transports.get(url);
    if (!t) transports.set(url, (t = transport(url)));
    return createClient(service, t);
  };
  const clients: Partial<Bulkhead> = { audit: (server) => clientOf(AuditService, server) };
  for (const [name, [service, server]] of Object.entries(catalog) as [keyof Catalog, readonly [DescService, Server]][]) {
    // Resolved on first use, so an installation without, say, a reconciler still serves the rest.
    Object.defineProperty(clients, name, {
      enumerable: true,
      get: () => clientOf(service, server),
    });
  }
  return clients as Bulkhead;
}
