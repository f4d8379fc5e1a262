// A device agent as a Bulkhead service without storage: it serves AgentService (Apply, GetState)
// to the reconciler, registers its device with the inventory, and reports what it runs — every
// few seconds and as soon as a managed file changes on disk (drift).
import { watch } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { AgentService, ApplyOutcome, FileStateSchema } from "@bulkhead/api/gen/bulkhead/agent/v1/agent_pb.js";
import { DesiredStateService } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { ConfigError, PermissionDeniedError, Periodic, createServiceClient, kPrincipal, vars, type ConfigSpec, type Logger, type ServiceContext, type ServiceDefinition } from "@bulkhead/service-kit";
import { ApplyEngine, type FileKind } from "./engine.js";

export const AGENT_VERSION = "0.1.0";

/** Variables every agent reads. */
export const agentConfig = {
  BULKHEAD_DEVICE: vars.string("The device this agent runs on: switch host name or firewall machine id"),
  BULKHEAD_AGENT_ROOT: vars.string("Directory the configuration files are written under (e.g. /etc); the agent keeps its state in .bulkhead/ there"),
  BULKHEAD_AGENT_TOKEN: vars.string("The agent's own bearer token (kind agent, for its device), for calls to the inventory and the reconciler", { secret: true, minLength: 16 }),
  BULKHEAD_RECONCILER_URL: vars.url("Base URL of the reconciler", { protocols: ["http", "https"] }),
  BULKHEAD_INVENTORY_URL: vars.url("Base URL of the inventory service", { protocols: ["http", "https"] }),
  BULKHEAD_AGENT_ENDPOINT: vars.url("Base URL the reconciler reaches this agent at; the listening address when unset", { default: "", protocols: ["http", "https"] }),
  BULKHEAD_AGENT_MODE: vars.oneOf("`device` runs the reload commands; `simulate` validates and writes files but reloads nothing", ["device", "simulate"] as const, { default: "device" }),
  BULKHEAD_AGENT_HEARTBEAT_MS: vars.int("How often the agent reports its state, ± 20 % so that agents booting together spread out (and at once when a managed file changes)", { default: 5_000, min: 100, max: 600_000 }),
};

/** A heartbeat comes every BULKHEAD_AGENT_HEARTBEAT_MS ± this fraction of it. */
const HEARTBEAT_JITTER = 0.2;

type AgentConfigSpec = typeof agentConfig;
/** An agent's configuration: the kit's, every agent's, and its own. */
export type AgentConfig<S extends ConfigSpec> = ServiceContext<AgentConfigSpec>["config"] & ServiceContext<S>["config"];

export interface AgentSpec<S extends ConfigSpec> {
  name: string;
  defaultPort: number;
  config: S;
  /** The file kinds the agent manages, given its configuration; `onClose` releases what they hold. */
  kinds(config: AgentConfig<S>, context: { onClose(fn: () => Promise<void> | void): void }): FileKind[];
  /** Registers the device with the inventory at start, and reports device facts with heartbeats. */
  device(config: AgentConfig<S>, log: Logger): { register(): Promise<void>; heartbeat(runningHash: string): Promise<void> };
}

/** Only the reconciler (or an administrator) may change what a device runs. */
function requireReconciler(ctx: HandlerContext): void {
  const principal = ctx.values.get(kPrincipal);
  const allowed = (principal?.kind === "service" && principal.subject === "reconciler") || principal?.platformRoles.has("admin");
  if (!allowed) throw new PermissionDeniedError("only the reconciler applies configuration to devices");
}

export function defineAgent<S extends ConfigSpec>(spec: AgentSpec<S>): ServiceDefinition<AgentConfigSpec & S> {
  return {
    name: spec.name,
    defaultPort: spec.defaultPort,
    storage: "none",
    config: { ...agentConfig, ...spec.config },
    async setup(context) {
      const c = context.config as AgentConfig<S>;
      if (context.tokens.publicKey && context.tokens.audience !== `agent:${c.BULKHEAD_DEVICE}`) {
        throw new ConfigError([`BULKHEAD_JWT_AUDIENCE: must be agent:${c.BULKHEAD_DEVICE} with BULKHEAD_JWT_PUBLIC_KEY_FILE, so that the reconciler's tokens for other devices are refused here`]);
      }
      if (!context.tokens.publicKey) context.logger.warn("this agent accepts tokens signed with the shared secret its configuration holds; set BULKHEAD_JWT_PUBLIC_KEY_FILE to the reconciler's public key instead");
      const engine = new ApplyEngine(c.BULKHEAD_AGENT_ROOT, spec.kinds(c, { onClose: (fn) => context.onClose(fn) }).map((k) => (c.BULKHEAD_AGENT_MODE === "simulate" ? { ...k, reload: "" } : k)), context.logger);
      const device = spec.device(c, context.logger);
      const reconciler = createServiceClient(DesiredStateService, { baseUrl: c.BULKHEAD_RECONCILER_URL, token: c.BULKHEAD_AGENT_TOKEN, protocol: "grpc", timeoutMs: 5_000 });
      let endpoint = c.BULKHEAD_AGENT_ENDPOINT;
      // A firewall that is not allocated yet has nothing to run: a state to wait in, not a failure.
      let waitingFor = "";
      const report = async () => {
        const { runningHash } = await engine.onDisk();
        const state = engine.current;
        try {
          await reconciler.reportDeviceState({ device: c.BULKHEAD_DEVICE, appliedGeneration: BigInt(state.appliedGeneration), appliedHash: state.appliedHash, runningHash, agentVersion: AGENT_VERSION, endpoint });
          waitingFor = "";
        } catch (error) {
          if (!(error instanceof ConnectError && error.code === Code.FailedPrecondition)) throw error;
          if (error.rawMessage !== waitingFor) context.logger.info({ reason: error.rawMessage }, "the reconciler has nothing for this device yet; waiting");
          waitingFor = error.rawMessage;
        }
        await device.heartbeat(runningHash);
      };
      // Jittered: the agents of a fabric that boots together would otherwise report in lockstep.
      const heartbeat = new Periodic(c.BULKHEAD_AGENT_HEARTBEAT_MS, context.logger, "heartbeat", report, HEARTBEAT_JITTER);
      const watcher = watchForDrift(c.BULKHEAD_AGENT_ROOT, () => void heartbeat.runNow(), context.logger);
      context.onClose(async () => {
        watcher.close();
        await heartbeat.stop();
      });
      // Registration and the first report wait until the agent listens: the reconciler calls back.
      context.onServing((url) => {
        endpoint ||= url;
        void device
          .register()
          .catch((error) => context.logger.warn({ err: error }, "device registration failed; it is retried at the next start"))
          .then(() => heartbeat.runNow());
        heartbeat.start();
      });

      return (router: ConnectRouter) => {
        router.service(AgentService, {
          async apply(req, ctx) {
            requireReconciler(ctx);
            if (req.device !== c.BULKHEAD_DEVICE) throw new PermissionDeniedError(`this agent runs on ${c.BULKHEAD_DEVICE}, not ${req.device}`);
            const outcome = await engine.apply(Number(req.generation), req.files, req.hash);
            void heartbeat.runNow();
            const state = engine.current;
            return { outcome: outcome === "applied" ? ApplyOutcome.APPLIED : ApplyOutcome.UNCHANGED, appliedGeneration: BigInt(state.appliedGeneration), appliedHash: state.appliedHash };
          },
          async getState(req) {
            if (req.device !== c.BULKHEAD_DEVICE) throw new PermissionDeniedError(`this agent runs on ${c.BULKHEAD_DEVICE}, not ${req.device}`);
            const state = engine.current;
            const disk = await engine.onDisk();
            return {
              device: c.BULKHEAD_DEVICE,
              agentVersion: AGENT_VERSION,
              appliedGeneration: BigInt(state.appliedGeneration),
              appliedHash: state.appliedHash,
              runningHash: disk.runningHash,
              files: disk.files.map((f) => create(FileStateSchema, f)),
              lastApplyAt: state.lastApplyAt ? timestampFromDate(new Date(state.lastApplyAt)) : undefined,
              lastError: state.lastError,
            };
          },
        });
      };
    },
  };
}

/** Calls `changed` (debounced) when a file under `root` changes, ignoring the agent's own state. */
function watchForDrift(root: string, changed: () => void, log: Logger): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  try {
    const watcher = watch(root, { recursive: true }, (_event, file) => {
      if (file && String(file).startsWith(".bulkhead")) return;
      clearTimeout(timer);
      timer = setTimeout(changed, 100);
    });
    watcher.on("error", (error) => log.warn({ err: error }, "watching the configuration for drift failed; heartbeats still report it"));
    return { close: () => (clearTimeout(timer), watcher.close()) };
  } catch (error) {
    log.warn({ err: error }, "cannot watch the configuration for drift; heartbeats still report it");
    return { close: () => {} };
  }
}
