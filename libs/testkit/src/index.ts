// Starts a Bulkhead service in-process on port 0 against real Postgres and Valkey, with its own
// database and queue prefix, and hands out tokens and clients for every kind of principal.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Health, HealthCheckResponse_ServingStatus } from "@bulkhead/api/gen/grpc/health/v1/health_pb.js";
import type { DescService } from "@bufbuild/protobuf";
import { ConnectError, type Client } from "@connectrpc/connect";
import { Redis } from "ioredis";
import { createTestDatabase, testValkeyUrl, type TestDatabase } from "@bulkhead/db/testing";
import {
  createServiceClient,
  signToken,
  startService,
  type ConfigSpec,
  type ProjectRoleName,
  type Protocol,
  type RunningService,
  type ServiceDefinition,
  type TokenClaims,
  type TokenSettings,
} from "@bulkhead/service-kit";

export { startValkey } from "./valkey.js";

export interface TestService {
  service: RunningService;
  url: string;
  db: TestDatabase;
  /** The environment the service was started with (restart() reuses it). */
  env: Record<string, string>;
  queuePrefix: string;
  tokens: TokenSettings;
  token(claims: TokenClaims): Promise<string>;
  adminToken(): Promise<string>;
  viewerToken(): Promise<string>;
  projectToken(project: string, role: ProjectRoleName, subject?: string): Promise<string>;
  serviceToken(name?: string): Promise<string>;
  agentToken(device: string): Promise<string>;
  client<T extends DescService>(service: T, token?: string, protocol?: Protocol): Client<T>;
  /** Stops the service process-internally and starts it again on the same database. */
  restart(): Promise<void>;
  /** Every log line so far, when started with captureLogs. */
  logs(): string;
  /** Stops the service, drops its database and deletes its queue keys. */
  stop(): Promise<void>;
}

export interface TestServiceOptions {
  env?: Record<string, string>;
  /** JWT secret; services that call each other in a test must share one. */
  secret?: string;
  /** Keep every log line (at trace level) for the test to inspect through logs(). */
  captureLogs?: boolean;
}

/** Connections per service in tests: enough for their concurrency tests, few enough for two runs at once. */
const TEST_POOL_SIZE = "4";

export async function startTestService<S extends ConfigSpec>(definition: ServiceDefinition<S>, options: TestServiceOptions = {}): Promise<TestService> {
  // Agents (storage "none") get no database; the handle's db is then a stand-in with nothing to drop.
  const db: TestDatabase = definition.storage === "none" ? { name: "", url: "", drop: async () => {} } : await createTestDatabase(definition.name);
  // Services that must see each other's events share a prefix through options.env.
  const queuePrefix = options.env?.BULKHEAD_QUEUE_PREFIX ?? `bhtest-${randomBytes(4).toString("hex")}`;
  const tokens: TokenSettings = { secret: options.secret ?? randomSecret(), issuer: "bulkhead", audience: "bulkhead" };
  const env: Record<string, string> = {
    PORT: "0",
    DATABASE_URL: db.url,
    VALKEY_URL: testValkeyUrl(),
    BULKHEAD_JWT_SECRET: tokens.secret,
    BULKHEAD_LOG_LEVEL: process.env.BULKHEAD_TEST_LOG_LEVEL ?? "silent",
    BULKHEAD_QUEUE_PREFIX: queuePrefix,
    BULKHEAD_SHUTDOWN_GRACE_MS: "2000",
    // Small pools: a test stack runs six services, two packages run at once, and the machine may
    // run another build against the same Postgres (100 connections by default).
    BULKHEAD_DB_POOL_SIZE: TEST_POOL_SIZE,
    ...(options.captureLogs ? { BULKHEAD_LOG_LEVEL: "trace" } : {}),
    ...options.env,
  };
  let captured = "";
  const logDestination = options.captureLogs ? { write: (line: string) => void (captured += line) } : undefined;
  let service: RunningService;
  try {
    service = await startService(definition, env, { logDestination });
  } catch (error) {
    await db.drop();
    throw error;
  }
  const token = (claims: TokenClaims) => signToken(tokens, claims);
  const handle: TestService = {
    service,
    url: service.url,
    db,
    env,
    queuePrefix,
    tokens,
    token,
    adminToken: () => token({ kind: "user", subject: "admin", roles: ["admin"] }),
    viewerToken: () => token({ kind: "user", subject: "viewer", roles: ["viewer"] }),
    projectToken: (project, role, subject = `${role}-of-${project}`) => token({ kind: "user", subject, projects: { [project]: role } }),
    serviceToken: (name = "tests") => token({ kind: "service", subject: name }),
    agentToken: (device) => token({ kind: "agent", subject: device, device }),
    client: (desc, bearer, protocol = "connect") => createServiceClient(desc, { baseUrl: handle.url, token: bearer, protocol }),
    async restart() {
      await handle.service.stop();
      handle.service = await startService(definition, { ...env, PORT: String(new URL(handle.url).port) }, { logDestination });
    },
    logs: () => captured,
    async stop() {
      await handle.service.stop();
      await db.drop();
      await deleteKeys(testValkeyUrl(), `${queuePrefix}:*`);
    },
  };
  return handle;
}

export const randomSecret = () => randomBytes(32).toString("base64url");

/** The ConnectError a call fails with; throws if the call succeeds. */
export async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected the call to fail");
}

/** A free TCP port on 127.0.0.1 (for a service started in its own process). */
export async function freePort(): Promise<number> {
  for (;;) {
    // Below the kernel's ephemeral range (32768–60999 by default): a port the OS hands out for
    // outgoing connections and `listen(0)` could be taken again before the caller binds it.
    const port = PRE_CHOSEN_PORTS.from + Math.floor(Math.random() * (PRE_CHOSEN_PORTS.to - PRE_CHOSEN_PORTS.from));
    if (handedOutPorts.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
    if (free) {
      handedOutPorts.add(port);
      return port;
    }
  }
}

/** Where freePort() picks from (launcher tests take 20000 and up). */
const PRE_CHOSEN_PORTS = { from: 10_000, to: 20_000 };
const handedOutPorts = new Set<number>();

export interface ServiceProcess {
  url: string;
  child: ChildProcess;
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>;
}

/**
 * Starts a service's main module in a process of its own (as deployed) and waits until its health
 * is SERVING. `env` must hold the service's configuration; PORT is chosen here.
 */
export async function startServiceProcess(main: URL, env: Record<string, string>, port?: number): Promise<ServiceProcess> {
  port ??= await freePort();
  const url = `http://127.0.0.1:${port}`;
  // BENCH_CPU_PROFILE_DIR: each service writes a V8 CPU profile there when it stops (for finding where a benchmark's time goes).
  const profile = process.env.BENCH_CPU_PROFILE_DIR ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROFILE_DIR}`] : [];
  const child = spawn(process.execPath, [...profile, "--import", "tsx", main.pathname], { env: { ...process.env, BULKHEAD_LOG_LEVEL: "warn", ...env, PORT: String(port) }, stdio: ["ignore", "inherit", "inherit"] });
  // Whatever ends this process ends the service with it (a benchmark interrupted half-way).
  const orphanGuard = () => child.kill("SIGKILL");
  process.once("exit", orphanGuard);
  const exited = new Promise<void>((resolve) => child.once("exit", () => (process.removeListener("exit", orphanGuard), resolve())));
  const health = createServiceClient(Health, { baseUrl: url, protocol: "grpc", timeoutMs: 1000 });
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${main.pathname} exited while starting`);
    try {
      if ((await health.check({ service: "" })).status === HealthCheckResponse_ServingStatus.SERVING) {
        return { url, child, stop: async () => (child.exitCode === null && child.signalCode === null ? (child.kill("SIGTERM"), exited) : exited) };
      }
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${main.pathname} did not become SERVING`);
}

/** Deletes every Valkey key matching `pattern`. */
export async function deleteKeys(url: string, pattern: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
export { inNs, namespaces, sh } from "./netns.js";
export { Rng } from "./rng.js";

/**
 * The keys of every item of a paged list read `pageSize` at a time. Throws when a page is larger
 * than asked or an item comes twice: a list walked in pages is the whole list, each item once.
 */
export async function walkPages<T>(pageSize: number, fetch: (page: { pageSize: number; pageToken: string }) => Promise<{ items: T[]; next: string }>, key: (item: T) => string): Promise<string[]> {
  const keys: string[] = [];
  let pageToken = "";
  do {
    const page = await fetch({ pageSize, pageToken });
    if (page.items.length > pageSize) throw new Error(`a page of ${page.items.length} items when ${pageSize} were asked for`);
    keys.push(...page.items.map(key));
    pageToken = page.next;
  } while (pageToken);
  const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
  if (twice.length > 0) throw new Error(`listed twice: ${twice.join(", ")}`);
  return keys;
}
