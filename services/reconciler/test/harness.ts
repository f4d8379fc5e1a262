// The whole control plane against real Postgres and Valkey — IPAM, network, inventory (with the
// inventory's test fabric: leaf01/leaf02 in r1, leaf03 in r2, spine01), peering, firewall policy,
// the reconciler — and device agents started on demand (metal-core, firewall-agent) in simulate
// mode, each with its own configuration directory. All share one JWT secret and one queue prefix.
import { createPrivateKey, randomBytes, type KeyObject } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@connectrpc/connect";
import { DesiredStateService, SyncState, type DeviceStatus } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { firewallAgentService } from "@bulkhead/firewall-agent";
import { firewallPolicyService } from "@bulkhead/firewall-policy";
import { isUplink, leafPorts, startFabric, type Fabric } from "@bulkhead/inventory/testing";
import { metalCoreService } from "@bulkhead/metal-core";
import { peeringService } from "@bulkhead/peering";
import { createTestDatabase, testValkeyUrl } from "@bulkhead/db/testing";
import { agentSigningKeyPair, createServiceClient, type ConfigSpec, type ServiceDefinition } from "@bulkhead/service-kit";
import { startServiceProcess, startTestService, type ServiceProcess, type TestService } from "@bulkhead/testkit";
import { reconcilerService } from "../src/service.js";

export { failure } from "@bulkhead/testkit";
export { SyncState };

export interface Agent {
  device: string;
  root: string;
  service: TestService;
  /** The file as the agent wrote it. */
  read(path: string): string;
  stop(): Promise<void>;
}

export interface Stack {
  f: Fabric;
  /** The reconciler's signing key for its calls to agents; agents hold only the public half. */
  agentKey: KeyObject;
  peering: TestService;
  policy: TestService;
  /** The reconciler in-process, unless started as a process (then use `reconcilerUrl`). */
  reconciler?: TestService;
  reconcilerUrl: string;
  env: Record<string, string>;
  fabric: Client<typeof DesiredStateService>;
  agents: Map<string, Agent>;
  startAgent(device: string, env?: Record<string, string>, root?: string): Promise<Agent>;
  /** With a reconciler process: waits for it to exit (a failpoint) and starts it again, without failpoints, on its port. */
  restartReconciler(): Promise<void>;
  /** Allocates (and installs) a machine cabled to leaf01/leaf02 `port`. */
  machine(id: string, port: string, options?: { firewall?: boolean }): Promise<void>;
  status(device: string): Promise<DeviceStatus | undefined>;
  /** Waits until `done` holds, failing the test with `what` after `ms`. */
  until(done: () => Promise<boolean>, what: string, ms?: number): Promise<void>;
  stop(): Promise<void>;
}

const reconcilerEnv = (stack: { f: Fabric; peering: TestService; policy: TestService }) => ({
  BULKHEAD_INVENTORY_URL: stack.f.inventory.url,
  BULKHEAD_NETWORK_URL: stack.f.network.url,
  BULKHEAD_PEERING_URL: stack.peering.url,
  BULKHEAD_FIREWALL_POLICY_URL: stack.policy.url,
  BULKHEAD_PUSH_ATTEMPTS: "3",
  BULKHEAD_RENDER_INTERVAL_MS: "200",
  BULKHEAD_PUSH_BACKOFF_MS: "100",
  BULKHEAD_STALLED_MS: "1000",
  BULKHEAD_FULL_RESYNC_MS: "3600000",
  BULKHEAD_VERIFY_TOOLS: "required",
});

/**
 * `valkeyUrl`: a Valkey of the test's own (to kill it); `reconcilerProcess`: run the reconciler as
 * a process of its own (to kill it), with extra environment.
 */
export async function startStack(options: { valkeyUrl?: string; reconcilerProcess?: Record<string, string>; reconcilerEnv?: Record<string, string> } = {}): Promise<Stack> {
  const common = { BULKHEAD_QUEUE_PREFIX: `bhrec-${randomBytes(4).toString("hex")}`, BULKHEAD_OUTBOX_POLL_MS: "200", ...(options.valkeyUrl ? { VALKEY_URL: options.valkeyUrl } : {}) };
  const f = await startFabric({ commonEnv: common });
  const secret = f.inventory.tokens.secret;
  const keys = agentSigningKeyPair(mkdtempSync(join(tmpdir(), "bh-agent-key-")));
  const peering = await startTestService(peeringService, { secret, env: { ...common, BULKHEAD_NETWORK_URL: f.network.url, BULKHEAD_INVENTORY_URL: f.inventory.url } });
  const policy = await startTestService(firewallPolicyService, { secret, env: { ...common, BULKHEAD_INVENTORY_URL: f.inventory.url, BULKHEAD_NETWORK_URL: f.network.url } });
  let reconciler: TestService | undefined;
  let process_: ServiceProcess | undefined;
  const stopExtra: (() => Promise<void>)[] = [];
  const env: Record<string, string> = { ...common, ...reconcilerEnv({ f, peering, policy }), BULKHEAD_AGENT_SIGNING_KEY_FILE: keys.privateKeyFile, ...options.reconcilerEnv };
  if (options.reconcilerProcess) {
    const database = await createTestDatabase("reconciler_process");
    Object.assign(env, { DATABASE_URL: database.url, BULKHEAD_JWT_SECRET: secret, VALKEY_URL: options.valkeyUrl ?? testValkeyUrl(), ...options.reconcilerProcess });
    process_ = await startServiceProcess(new URL("../src/main.ts", import.meta.url), env);
    stopExtra.push(async () => {
      await process_?.stop();
      await database.drop();
    });
  } else {
    reconciler = await startTestService(reconcilerService, { secret, env });
  }
  const reconcilerUrl = reconciler?.url ?? process_!.url;
  const admin = f.admin;
  const agents = new Map<string, Agent>();

  const stack: Stack = {
    f,
    agentKey: createPrivateKey(readFileSync(keys.privateKeyFile)),
    peering,
    policy,
    reconciler,
    reconcilerUrl,
    env,
    fabric: createServiceClient(DesiredStateService, { baseUrl: reconcilerUrl, token: admin, protocol: "grpc" }),
    agents,
    async restartReconciler() {
      const child = process_!.child;
      if (child.exitCode === null && child.signalCode === null) {
        await stack.until(async () => child.exitCode !== null || child.signalCode !== null, "the reconciler to exit at its failpoint", 20_000);
      }
      const { BULKHEAD_FAILPOINTS: _, ...rest } = env;
      process_ = await startServiceProcess(new URL("../src/main.ts", import.meta.url), rest, Number(new URL(reconcilerUrl).port));
    },
    async startAgent(device, extra = {}, root = mkdtempSync(join(tmpdir(), `bh-${device}-`))) {
      const isSwitch = device.startsWith("leaf");
      const files: Record<string, string> = {};
      if (isSwitch) {
        const switchFile = join(root, "switch.json");
        const rack = device === "leaf03" ? "r2" : "r1";
        writeFileSync(switchFile, JSON.stringify({ partition: "fra1", rack, role: "leaf", asn: 4200000000 + device.length + rack.length, routerId: `10.255.255.${device.endsWith("1") ? 1 : device.endsWith("2") ? 2 : 3}`, os: { vendor: "Cumulus", version: "5.9.1" }, ports: leafPorts.map((name, i) => ({ name, identifier: `Eth1/${i + 1}`, mtu: 9216, uplink: isUplink(name) })) }));
        files.BULKHEAD_SWITCH_FILE = switchFile;
        const lldp = join(root, "lldp.json");
        writeFileSync(lldp, JSON.stringify({ lldp: { interface: [] } }));
        files.BULKHEAD_LLDP_FILE = lldp;
      }
      const definition = (isSwitch ? metalCoreService : firewallAgentService) as ServiceDefinition<ConfigSpec>;
      const service = await startTestService(definition, {
        secret,
        env: {
          // Agents verify the reconciler's calls with its public key only; they hold no platform secret.
          BULKHEAD_JWT_SECRET: "",
          BULKHEAD_JWT_PUBLIC_KEY_FILE: keys.publicKeyFile,
          BULKHEAD_JWT_AUDIENCE: `agent:${device}`,
          BULKHEAD_DEVICE: device,
          BULKHEAD_AGENT_ROOT: root,
          BULKHEAD_AGENT_TOKEN: await f.inventory.agentToken(device),
          BULKHEAD_RECONCILER_URL: reconcilerUrl,
          BULKHEAD_INVENTORY_URL: f.inventory.url,
          BULKHEAD_AGENT_MODE: "simulate",
          BULKHEAD_AGENT_HEARTBEAT_MS: "300",
          ...files,
          ...extra,
        },
      });
      const agent: Agent = { device, root, service, read: (path) => readFileSync(join(root, path), "utf8"), stop: () => service.stop() };
      agents.set(device, agent);
      return agent;
    },
    async machine(id, port, o = {}) {
      await f.register(id, [["leaf01", port], ["leaf02", port]]);
      const editor = f.inventory.client(MachineService, await f.inventory.projectToken(f.projectA, "editor"));
      const request = { project: f.projectA, partition: "fra1", machine: id, hostname: id, image: "ubuntu-24-04", networks: [{ network: f.netA.id, autoAcquire: true }, { network: "internet", autoAcquire: true }] };
      if (o.firewall) await editor.allocateFirewall(request);
      else await editor.allocateMachine(request);
      await f.inventory.client(MachineService, await f.inventory.agentToken(id)).reportInstallation({ device: id, succeeded: true });
    },
    async status(device) {
      try {
        return (await stack.fabric.getDeviceStatus({ device })).status;
      } catch {
        return undefined;
      }
    },
    async until(done, what, ms = 15_000) {
      const deadline = Date.now() + ms;
      while (Date.now() < deadline) {
        if (await done().catch(() => false)) return;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`timed out waiting: ${what}`);
    },
    async stop() {
      for (const agent of agents.values()) await agent.stop().catch(() => {});
      await reconciler?.stop();
      for (const extra of stopExtra) await extra();
      await policy.stop();
      await peering.stop();
      await f.stop();
    },
  };
  return stack;
}

/** Whether the device runs what the reconciler wants it to run. */
export const inSync = (s: DeviceStatus | undefined) => s?.state === SyncState.IN_SYNC && s.desiredGeneration > 0n && s.appliedHash === s.desiredHash && s.runningHash === s.desiredHash;
