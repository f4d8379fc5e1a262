import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { NetworkPolicyService } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { ConfigError, Periodic, createServiceClient, serviceTokenSource, signTokenWithKey, vars, type ServiceDefinition, type TokenSettings } from "@bulkhead/service-kit";
import { parseAgentNetworks } from "./endpoints.js";
import { probeVerifyTools } from "./verify.js";
import { BullQueues } from "./queues.js";
import { Reconciler } from "./reconciler.js";
import { reconcilerRoutes } from "./routes.js";
import { ReconcilerStore } from "./store.js";

const config = {
  BULKHEAD_INVENTORY_URL: vars.url("Base URL of the inventory service (switch and machine views)", { protocols: ["http", "https"] }),
  BULKHEAD_NETWORK_URL: vars.url("Base URL of the network service (networks: the isolation verifier's facts)", { protocols: ["http", "https"] }),
  BULKHEAD_PEERING_URL: vars.url("Base URL of the peering service (route-leak plans)", { protocols: ["http", "https"] }),
  BULKHEAD_FIREWALL_POLICY_URL: vars.url("Base URL of the firewall-policy service (firewall rulesets)", { protocols: ["http", "https"] }),
  BULKHEAD_RENDER_INTERVAL_MS: vars.int("A device's configuration changes at most once per interval: the first change after a quiet interval is rendered at once, later ones are coalesced into one render when it ends", { default: 1_000, min: 0, max: 600_000 }),
  BULKHEAD_RENDER_CONCURRENCY: vars.int("Renders run at once per process (they mostly wait on reads and parsers; renders running together share their partition's reads)", { default: 16, min: 1, max: 256 }),
  BULKHEAD_PUSH_CONCURRENCY: vars.int("Pushes to agents run at once per process", { default: 32, min: 1, max: 1024 }),
  BULKHEAD_PUSH_ATTEMPTS: vars.int("Attempts of a push before the device is FAILED and the job dead-lettered", { default: 8, min: 1, max: 100 }),
  BULKHEAD_PUSH_BACKOFF_MS: vars.int("First retry delay of a push; doubled per attempt, with jitter", { default: 500, min: 10, max: 600_000 }),
  BULKHEAD_AGENT_TIMEOUT_MS: vars.int("Deadline of one Apply call to an agent", { default: 30_000, min: 100, max: 600_000 }),
  BULKHEAD_STALLED_MS: vars.int("After how long a job of a dead reconciler process is taken up again (BullMQ lock duration)", { default: 30_000, min: 500, max: 600_000 }),
  BULKHEAD_FULL_RESYNC_MS: vars.int("Interval of the full re-render of every device: a safety net, not the main path", { default: 600_000, min: 1_000, max: 86_400_000 }),
  BULKHEAD_VERIFY_ISOLATION: vars.bool("Verify every render with libs/verify against the partition's facts; a revision with findings is rejected", { default: true }),
  BULKHEAD_AGENT_SIGNING_KEY_FILE: vars.file("PEM Ed25519 private key the reconciler signs its calls to agents with, each token bound to one device (audience agent:<device>) and good for that device only; agents hold only the public key (`pnpm --filter @bulkhead/reconciler keys /abs/dir` makes a pair)"),
  BULKHEAD_AGENT_NETWORKS: vars.string("Comma-separated management networks agents are reached in: a heartbeat naming an endpoint outside them (or a host name) is refused, and the reconciler never calls it", { default: "127.0.0.0/8,::1/128" }),
  // A fabric lab run lasts as long as its convergence timeout (at most 900 s) plus starting and probing its routers.
  BULKHEAD_MAX_TIMEOUT_MS: vars.int("Largest deadline a client may ask for (a fabric lab run takes minutes)", { default: 1_500_000, min: 100, max: 3_600_000 }),
  BULKHEAD_VERIFY_TOOLS: vars.oneOf("Verify renders with vtysh -C and nft -c (in a user namespace of its own when unprivileged): `auto` uses those that work here and logs at start which do not, `required` refuses to start without both, `off` runs none", ["auto", "required", "off"] as const, { default: "auto" }),
};

export { probeVerifyTools, type VerifyTools } from "./verify.js";

/** How long a fanned-out change can still be waited for, and how often older ones are deleted. */
const FAN_OUT_RETENTION_MS = 86_400_000;
const FAN_OUT_PRUNE_INTERVAL_MS = 3_600_000;

export const reconcilerService: ServiceDefinition<typeof config> = {
  name: "reconciler",
  defaultPort: 7006,
  migrations: new URL("../migrations/", import.meta.url),
  config,
  async setup({ config: c, pool, tokens, logger, onClose }) {
    const token = serviceTokenSource(tokens, "reconciler");
    const client = { token, protocol: "grpc" as const, timeoutMs: 15_000 };
    const store = new ReconcilerStore(pool);
    const queues = new BullQueues(
      { url: c.VALKEY_URL, prefix: c.BULKHEAD_QUEUE_PREFIX, renderConcurrency: c.BULKHEAD_RENDER_CONCURRENCY, renderIntervalMs: c.BULKHEAD_RENDER_INTERVAL_MS, pushConcurrency: c.BULKHEAD_PUSH_CONCURRENCY, pushAttempts: c.BULKHEAD_PUSH_ATTEMPTS, pushBackoffMs: c.BULKHEAD_PUSH_BACKOFF_MS, stalledMs: c.BULKHEAD_STALLED_MS },
      logger,
    );
    const agentNetworks = parseAgentNetworks(c.BULKHEAD_AGENT_NETWORKS);
    const verifyTools = await probeVerifyTools(c.BULKHEAD_VERIFY_TOOLS);
    if (c.BULKHEAD_VERIFY_TOOLS === "required" && verifyTools.unavailable.length > 0) {
      throw new ConfigError(verifyTools.unavailable.map((u) => `BULKHEAD_VERIFY_TOOLS=required, but ${u.name} does not work here (${u.reason})`));
    }
    const active = verifyTools.active.map((a) => (a.how ? `${a.tool.name} (${a.how})` : a.tool.name));
    logger.info({ checks: [...active, ...(c.BULKHEAD_VERIFY_ISOLATION ? ["isolation"] : [])], mode: c.BULKHEAD_VERIFY_TOOLS }, "every render is verified with these checks");
    for (const u of verifyTools.unavailable) logger.warn({ tool: u.name, reason: u.reason }, `${u.name} does not work here: renders are not checked with it (BULKHEAD_VERIFY_TOOLS=required refuses to start instead)`);
    const reconciler = new Reconciler(
      store,
      {
        ips: createServiceClient(IPService, { ...client, baseUrl: c.BULKHEAD_NETWORK_URL }),
        switches: createServiceClient(SwitchService, { ...client, baseUrl: c.BULKHEAD_INVENTORY_URL }),
        machines: createServiceClient(MachineService, { ...client, baseUrl: c.BULKHEAD_INVENTORY_URL }),
        peering: createServiceClient(PeeringService, { ...client, baseUrl: c.BULKHEAD_PEERING_URL }),
        policies: createServiceClient(NetworkPolicyService, { ...client, baseUrl: c.BULKHEAD_FIREWALL_POLICY_URL }),
        networks: createServiceClient(NetworkService, { ...client, baseUrl: c.BULKHEAD_NETWORK_URL }),
      },
      queues,
      { verify: verifyTools, isolation: c.BULKHEAD_VERIFY_ISOLATION, agentToken: agentTokens(tokens, c.BULKHEAD_AGENT_SIGNING_KEY_FILE), agentTimeoutMs: c.BULKHEAD_AGENT_TIMEOUT_MS, agentNetworks },
      logger,
    );
    queues.start(reconciler);
    const resync = new Periodic(c.BULKHEAD_FULL_RESYNC_MS, logger, "full resync", () => reconciler.fullResync());
    resync.start();
    const pruning = new Periodic(FAN_OUT_PRUNE_INTERVAL_MS, logger, "change log pruning", () => store.pruneFanOuts(new Date(Date.now() - FAN_OUT_RETENTION_MS)));
    pruning.start();
    onClose(async () => {
      await resync.stop();
      await pruning.stop();
      await queues.close();
      await reconciler.close();
    });
    return reconcilerRoutes(store, reconciler);
  },
};

/**
 * Tokens for calls to agents: short-lived Ed25519-signed tokens whose audience is the one device
 * (renewed a minute before they expire). No other token is ever sent to an agent.
 */
function agentTokens(tokens: TokenSettings, keyFile: string): (device: string) => Promise<string> {
  const key = createPrivateKey(readFileSync(keyFile));
  const issued = new Map<string, { token: Promise<string>; renewAt: number }>();
  return (device) => {
    let entry = issued.get(device);
    if (!entry || Date.now() >= entry.renewAt) {
      entry = { token: signTokenWithKey(tokens, key, { kind: "service", subject: "reconciler", audience: `agent:${device}`, expiresIn: "5m" }), renewAt: Date.now() + 4 * 60_000 };
      issued.set(device, entry);
    }
    return entry.token;
  };
}
