// Runs one Bulkhead service: config → database (migrations, outbox relay, audit) → Connect
// server with health and reflection → graceful shutdown.
import { setMaxListeners } from "node:events";
import { readFileSync } from "node:fs";
import type { DescService } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { createContextValues, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Redis } from "ioredis";
import { createApiRegistry, loadDescriptorSet } from "@bulkhead/api";
import { Health } from "@bulkhead/api/gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "@bulkhead/api/gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "@bulkhead/api/gen/grpc/reflection/v1alpha/reflection_pb.js";
import { IdempotencyKeys, OutboxRelay, PgAuditWriter, appendOutbox, pruneAuditLog, baseMigrationsDir, createPool, loadMigrations, migrate, type OutboxEvent, type Pool, type Queryable } from "@bulkhead/db";
import { AuditService } from "@bulkhead/api/gen/bulkhead/audit/v1/audit_pb.js";
import { TokenService } from "@bulkhead/api/gen/bulkhead/auth/v1/token_pb.js";
import type { AuditSink } from "./audit.js";
import { auditService } from "./audit-service.js";
import { Revocations } from "./revocation.js";
import { tokenService } from "./token-service.js";
import type { TokenSettings } from "./auth.js";
import { tokenSettings } from "./identity.js";
import { trustCa } from "./clients.js";
import { ConfigError, readConfig, vars, type Config, type ConfigSpec } from "./config.js";
import { HealthState, ServingStatus, healthService } from "./health.js";
import { createInterceptors, kRemoteAddress } from "./interceptors.js";
import { listen } from "./listener.js";
import { RateLimiter } from "./ratelimit.js";
import { Periodic } from "./sagas.js";
import { createLogger, createMetrics, type DestinationStream, type Logger } from "./observability.js";
import { DescriptorIndex, reflectionServiceV1, reflectionServiceV1alpha } from "./reflection.js";

/** Variables every service reads; services add their own BULKHEAD_<SERVICE>_* variables. */
function commonConfigSpec(defaultPort: number) {
  return {
    PORT: vars.int("TCP port the service listens on for every protocol (0 picks a free port)", { default: defaultPort, min: 0, max: 65535 }),
    BULKHEAD_LISTEN_HOST: vars.string("Address to listen on; 0.0.0.0 to accept remote connections", { default: "127.0.0.1" }),
    BULKHEAD_JWT_SECRET: vars.string("HMAC-SHA256 key (at least 32 characters) that Bulkhead's own bearer tokens are signed with; not needed with BULKHEAD_JWT_PUBLIC_KEY_FILE or BULKHEAD_SERVICE_KEYS_DIR (production: leave it unset, so no service can sign a user's token)", { secret: true, minLength: 32, default: "" }),
    BULKHEAD_JWT_PUBLIC_KEY_FILE: vars.optionalFile("PEM Ed25519 public key: Bulkhead's own tokens are accepted only when signed with its private half, never with the secret (device agents: the reconciler's key)"),
    BULKHEAD_SERVICE_KEY_FILE: vars.optionalFile("PEM Ed25519 private key of this service: its calls to other services and the agent tokens it issues are signed with it (kid: the service's name); such tokens never carry a user's roles"),
    BULKHEAD_SERVICE_KEYS_DIR: vars.optionalDirectory("Directory of every service's public key, <service>.pub: a token signed by one is accepted as that service (or as an agent it issued a token to), never as a user"),
    BULKHEAD_JWT_ISSUER: vars.string("Required `iss` claim of Bulkhead's own bearer tokens", { default: "bulkhead" }),
    BULKHEAD_JWT_AUDIENCE: vars.string("Required `aud` claim of Bulkhead's own bearer tokens", { default: "bulkhead" }),
    BULKHEAD_JWT_CLOCK_SKEW_S: vars.int("Clock skew tolerated when checking a token's expiry and not-before, in seconds", { default: 30, min: 0, max: 600 }),
    BULKHEAD_OIDC_ISSUER: vars.optionalString("Issuer URL of an OpenID Connect provider whose tokens identify people (users); unset: no OIDC"),
    BULKHEAD_OIDC_AUDIENCE: vars.string("Required `aud` claim of the OIDC provider's tokens (the client id Bulkhead is registered as)", { default: "bulkhead" }),
    BULKHEAD_OIDC_JWKS_URL: vars.optionalString("The provider's JWKS URL; unset: taken from the issuer's /.well-known/openid-configuration"),
    BULKHEAD_OIDC_ROLES_CLAIM: vars.string("Claim of OIDC tokens listing platform roles (admin, viewer)", { default: "bulkhead_roles" }),
    BULKHEAD_OIDC_PROJECTS_CLAIM: vars.string("Claim of OIDC tokens mapping project ids to roles (owner, editor, viewer)", { default: "bulkhead_projects" }),
    BULKHEAD_TLS_CERT_FILE: vars.optionalFile("PEM certificate; with BULKHEAD_TLS_KEY_FILE the port serves TLS only (HTTP/2 and HTTP/1.1 via ALPN)"),
    BULKHEAD_TLS_KEY_FILE: vars.optionalFile("PEM private key for BULKHEAD_TLS_CERT_FILE"),
    BULKHEAD_TLS_CA_FILE: vars.optionalFile("PEM CA certificates this service trusts for https URLs of other services and agents (besides the system's)"),
    BULKHEAD_LOG_LEVEL: vars.oneOf("Log level of the JSON logs", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, { default: "info" }),
    BULKHEAD_SHUTDOWN_GRACE_MS: vars.int("On SIGTERM, how long in-flight calls may run before they are cancelled", { default: 10_000, min: 0, max: 600_000 }),
    BULKHEAD_MAX_MESSAGE_BYTES: vars.int("Largest request or response message accepted", { default: 4 * 1024 * 1024, min: 1024, max: 256 * 1024 * 1024 }),
    BULKHEAD_MAX_TIMEOUT_MS: vars.int("Largest deadline a client may ask for", { default: 60_000, min: 100, max: 3_600_000 }),
  };
}

/** How often records past the audit retention and idempotency keys older than a day are deleted. */
const HOUSEKEEPING_INTERVAL_MS = 3_600_000;

/** How long a starting service waits for the first revocation list before it serves anyway (refusing people's and agents' tokens until it is read). */
const REVOCATIONS_FIRST_READ_MS = 3_000;

/** Variables of services that keep state in Postgres and publish changes through Valkey. */
function storageConfigSpec() {
  return {
    DATABASE_URL: vars.url("Postgres connection URL; the service keeps its tables in its own schema", { protocols: ["postgres", "postgresql"], secret: true }),
    BULKHEAD_DATABASE_PASSWORD_FILE: vars.optionalFile("File holding the Postgres password, which then replaces any in DATABASE_URL (a mounted secret; see `pnpm --filter @bulkhead/db provision`)"),
    VALKEY_URL: vars.url("Valkey/Redis URL for the fabric-changes queue", { default: "redis://127.0.0.1:6379", protocols: ["redis", "rediss"], secret: true }),
    BULKHEAD_DB_POOL_SIZE: vars.int("Postgres connections per process", { default: 10, min: 1, max: 500 }),
    BULKHEAD_DB_STATEMENT_TIMEOUT_MS: vars.int("Server-side timeout of a single SQL statement (0 disables)", { default: 30_000, min: 0, max: 3_600_000 }),
    BULKHEAD_DB_NAMED_STATEMENTS: vars.bool("Use server-side prepared statements; false for Postgres servers whose connections share one session (PGlite)", { default: true }),
    BULKHEAD_QUEUE_PREFIX: vars.string("Key prefix of the BullMQ queues in Valkey", { default: "bulkhead" }),
    BULKHEAD_VALKEY_COMMAND_TIMEOUT_MS: vars.int("Deadline of the Valkey commands a request waits for (rate limits, revocations): past it a rate limit is not enforced and the last revocation list holds", { default: 500, min: 10, max: 60_000 }),
    BULKHEAD_AUDIT_RETENTION_DAYS: vars.int("Audit records older than this many days are deleted (hourly; through the one function the append-only trigger lets delete); 0 keeps them forever", { default: 400, min: 0, max: 36_500 }),
    BULKHEAD_RATE_LIMIT_ANONYMOUS_PER_SECOND: vars.int("Sustained calls per second without a valid token from one source address (each is audited; beyond it refused unaudited: the audit log cannot be flooded); 0: no limit", { default: 5, min: 0, max: 1_000_000 }),
    BULKHEAD_RATE_LIMIT_ANONYMOUS_BURST: vars.int("Calls without a valid token one source address may make at once", { default: 20, min: 1, max: 1_000_000 }),
    BULKHEAD_RATE_LIMIT_PER_SECOND: vars.int("Sustained calls per second each user or agent may make to this service (0: no limit; services are never limited)", { default: 100, min: 0, max: 1_000_000 }),
    BULKHEAD_RATE_LIMIT_BURST: vars.int("Calls a user or agent may make at once before the per-second limit applies", { default: 200, min: 1, max: 1_000_000 }),
    BULKHEAD_OUTBOX_POLL_MS: vars.int("Outbox relay safety-net poll interval (NOTIFY wakes it immediately)", { default: 1000, min: 50, max: 600_000 }),
  };
}

/** The kit's variables: all of them, or without the storage ones for a service with `storage: "none"`. */
export function kitConfigSpec(defaultPort: number, storage: "postgres" | "none" = "postgres") {
  return { ...commonConfigSpec(defaultPort), ...(storage === "none" ? {} : storageConfigSpec()) } as ReturnType<typeof commonConfigSpec> & ReturnType<typeof storageConfigSpec>;
}

type KitSpec = ReturnType<typeof kitConfigSpec>;

export interface ServiceContext<S extends ConfigSpec> {
  config: Config<KitSpec> & Config<S>;
  logger: Logger;
  tokens: TokenSettings;
  /** The service's pool; its connections resolve names in the service's schema. */
  pool: Pool;
  /** Appends an event to the service's outbox in the caller's transaction. */
  outbox(client: Queryable, event: OutboxEvent): Promise<string>;
  /** Runs at shutdown, after the server stopped and before the pool closes (last added first). */
  onClose(fn: () => Promise<void> | void): void;
  /** Runs once the service listens, with its base URL (known only then when PORT is 0). */
  onServing(fn: (url: string) => void): void;
}

export interface ServiceDefinition<S extends ConfigSpec = Record<never, never>> {
  /** Short name: package `@bulkhead/<name>`, Postgres schema `<name>` (with - as _). */
  name: string;
  defaultPort: number;
  /**
   * `postgres` (the default): a pool on the service's schema, migrations, the outbox relay and the
   * audit log in Postgres. `none` (device agents): no database and no queue; `context.pool` and
   * `context.outbox` must not be used, and audit records go to the log.
   */
  storage?: "postgres" | "none";
  /** Directory of the service's NNN_name.sql migrations (storage `postgres`). */
  migrations?: URL;
  config?: S;
  /** Builds the domain and registers the service's RPC handlers. */
  setup(context: ServiceContext<S>): Promise<(router: ConnectRouter) => void>;
}

export interface RunningService {
  name: string;
  port: number;
  url: string;
  health: HealthState;
  pool: Pool;
  logger: Logger;
  stop(): Promise<void>;
}

export function schemaOf(name: string): string {
  return name.replace(/-/g, "_");
}

/** The complete configuration spec of a service, kit variables first. */
export function serviceConfigSpec(definition: ServiceDefinition<ConfigSpec>): ConfigSpec {
  return { ...kitConfigSpec(definition.defaultPort, definition.storage), ...definition.config };
}

export interface StartOptions {
  /** Where the JSON logs go; standard output when unset. */
  logDestination?: DestinationStream;
}

/** Starts a service and resolves once it is SERVING. */
export async function startService<S extends ConfigSpec>(definition: ServiceDefinition<S>, env: Record<string, string | undefined> = process.env, options: StartOptions = {}): Promise<RunningService> {
  const config = readConfig(serviceConfigSpec(definition as ServiceDefinition<ConfigSpec>), env) as Config<KitSpec> & Config<S>;
  if (!config.BULKHEAD_TLS_CERT_FILE !== !config.BULKHEAD_TLS_KEY_FILE) throw new ConfigError(["BULKHEAD_TLS_CERT_FILE and BULKHEAD_TLS_KEY_FILE must be set together"]);
  const logger = createLogger(definition.name, config.BULKHEAD_LOG_LEVEL, options.logDestination);
  const schema = schemaOf(definition.name);
  const tokens = tokenSettings(config, definition.name);
  if (config.BULKHEAD_JWT_SECRET && config.BULKHEAD_SERVICE_KEY_FILE) logger.warn("BULKHEAD_JWT_SECRET is set besides this service's own key: holding it, this service can still sign any token, a user's too; unset it once users sign in through OIDC or BULKHEAD_JWT_PUBLIC_KEY_FILE");
  if (config.BULKHEAD_TLS_CA_FILE) trustCa(readFileSync(config.BULKHEAD_TLS_CA_FILE));
  const closers: (() => Promise<void> | void)[] = [];
  const servingHooks: ((url: string) => void)[] = [];

  const storage = await openStorage(definition, config, schema, logger, tokens);
  try {
    const context: ServiceContext<S> = {
      config,
      logger,
      tokens,
      pool: storage.pool,
      outbox: storage.outbox,
      onClose: (fn) => closers.push(fn),
      onServing: (fn) => servingHooks.push(fn),
    };
    const registerRoutes = await definition.setup(context);

    const auditSink: AuditSink = storage.audit;
    const health = new HealthState();
    const shutdown = new AbortController();
    // Every in-flight call listens on this one signal.
    setMaxListeners(0, shutdown.signal);
    const validator = createValidator({ registry: createApiRegistry() });
    const metrics = createMetrics(definition.name);
    const index = new DescriptorIndex(loadDescriptorSet());
    const served: string[] = [];
    const handler = connectNodeAdapter({
      routes(router) {
        registerRoutes(router);
        storage.routes(router);
        served.push(...new Set(router.handlers.map((h) => h.service.typeName)));
        health.addServices(served);
        const all = [...served, Health.typeName, ReflectionV1.typeName, ReflectionV1alpha.typeName];
        router.service(Health, healthService(health));
        router.service(ReflectionV1, reflectionServiceV1(index, all));
        router.service(ReflectionV1alpha, reflectionServiceV1alpha(index, all));
      },
      interceptors: createInterceptors({ service: definition.name, logger, metrics, tokens, audit: auditSink, validator, rateLimiter: storage.rateLimiter, anonymousLimiter: storage.anonymousLimiter, idempotency: storage.idempotency, revocations: storage.revocations }),
      contextValues: (req) => createContextValues().set(kRemoteAddress, req.socket.remoteAddress ?? ""),
      readMaxBytes: config.BULKHEAD_MAX_MESSAGE_BYTES,
      writeMaxBytes: config.BULKHEAD_MAX_MESSAGE_BYTES,
      maxTimeoutMs: config.BULKHEAD_MAX_TIMEOUT_MS,
      shutdownSignal: shutdown.signal,
      fallback(req, res) {
        if (req.method === "GET" && req.url === "/metrics") {
          void metrics.registry.metrics().then((text) => {
            res.writeHead(200, { "content-type": metrics.registry.contentType });
            res.end(text);
          });
        } else if (req.method === "GET" && req.url === "/healthz") {
          const serving = health.get("") === ServingStatus.SERVING;
          res.writeHead(serving ? 200 : 503, { "content-type": "text/plain" });
          res.end(serving ? "SERVING\n" : "NOT_SERVING\n");
        } else {
          res.writeHead(404, { "content-type": "text/plain" });
          res.end("not found\n");
        }
      },
    });
    const tls = config.BULKHEAD_TLS_CERT_FILE ? { certFile: config.BULKHEAD_TLS_CERT_FILE, keyFile: config.BULKHEAD_TLS_KEY_FILE! } : undefined;
    const maxSessionMemoryMb = Math.max(10, Math.ceil((4 * config.BULKHEAD_MAX_MESSAGE_BYTES) / (1024 * 1024)));
    const listener = await listen({ host: config.BULKHEAD_LISTEN_HOST, port: config.PORT, handler, tls, maxSessionMemoryMb });
    health.setAll(ServingStatus.SERVING);
    const url = `${tls ? "https" : "http"}://${config.BULKHEAD_LISTEN_HOST === "0.0.0.0" ? "127.0.0.1" : config.BULKHEAD_LISTEN_HOST}:${listener.port}`;
    logger.info({ url, services: served, tls: Boolean(tls) }, "serving");
    for (const hook of servingHooks) hook(url);

    let stopping: Promise<void> | undefined;
    const stop = () =>
      (stopping ??= (async () => {
        health.setAll(ServingStatus.NOT_SERVING);
        const cancel = setTimeout(() => shutdown.abort(), config.BULKHEAD_SHUTDOWN_GRACE_MS);
        await listener.close(config.BULKHEAD_SHUTDOWN_GRACE_MS + 1000);
        clearTimeout(cancel);
        await release();
        logger.info("stopped");
      })());
    return { name: definition.name, port: listener.port, url, health, pool: storage.pool, logger, stop };
  } catch (error) {
    await release();
    throw error;
  }

  async function release(): Promise<void> {
    for (const close of closers.reverse()) await Promise.resolve(close()).catch((error) => logger.error({ err: error }, "shutdown hook failed"));
    await storage.close();
  }
}

interface Storage {
  pool: Pool;
  /** The services that come with storage: the audit log and tokens (both need Postgres or Valkey). */
  routes(router: ConnectRouter): void;
  rateLimiter?: RateLimiter;
  /** Limits of calls without a valid token, per source address. */
  anonymousLimiter?: RateLimiter;
  idempotency?: IdempotencyKeys;
  revocations?: Revocations;
  outbox(client: Queryable, event: OutboxEvent): Promise<string>;
  audit: AuditSink;
  close(): Promise<void>;
}

/** A pool that refuses every use: what a service without storage gets as `context.pool`. */
const noPool = new Proxy({} as Pool, {
  get(_, property) {
    throw new Error(`this service has no database (storage: "none"); pool.${String(property)} is not available`);
  },
});

/**
 * Postgres (migrated, with the outbox relay and the audit writer) for services with storage, or
 * nothing but a log-based audit sink for agents.
 */
async function openStorage(definition: ServiceDefinition<ConfigSpec>, config: Config<KitSpec>, schema: string, logger: Logger, tokens: TokenSettings): Promise<Storage> {
  if (definition.storage === "none") {
    return {
      pool: noPool,
      outbox: () => Promise.reject(new Error(`${definition.name} has no outbox`)),
      audit: { record: (record) => logger.info({ audit: record }, "audit") },
      routes: () => {},
      close: async () => {},
    };
  }
  const pool = createPool({
    url: config.DATABASE_URL,
    password: config.BULKHEAD_DATABASE_PASSWORD_FILE ? readFileSync(config.BULKHEAD_DATABASE_PASSWORD_FILE, "utf8").trim() : undefined,
    schema,
    max: config.BULKHEAD_DB_POOL_SIZE,
    statementTimeoutMs: config.BULKHEAD_DB_STATEMENT_TIMEOUT_MS,
    namedStatements: config.BULKHEAD_DB_NAMED_STATEMENTS,
  });
  const redis = new Redis(config.VALKEY_URL, { maxRetriesPerRequest: null, enableOfflineQueue: false, lazyConnect: true });
  redis.on("error", (error) => logger.debug({ err: error }, "valkey connection error"));
  // Rate limits and revocations are read while a caller waits: a Valkey that hangs must cost a
  // request at most this long (rate limits are then not enforced, the last revocation list holds).
  const requestPath = new Redis(config.VALKEY_URL, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true, commandTimeout: config.BULKHEAD_VALKEY_COMMAND_TIMEOUT_MS });
  requestPath.on("error", (error) => logger.debug({ err: error }, "valkey connection error (request path)"));
  let relay: OutboxRelay | undefined;
  let audit: PgAuditWriter | undefined;
  let revocations: Revocations | undefined;
  let housekeeping: Periodic | undefined;
  const close = async () => {
    revocations?.stop();
    await housekeeping?.stop();
    await relay?.stop().catch((error) => logger.error({ err: error }, "outbox relay did not stop cleanly"));
    await audit?.close();
    redis.disconnect();
    requestPath.disconnect();
    await pool.end();
  };
  try {
    const applied = [
      ...(await migrate(pool, { schema, component: "bulkhead-db", migrations: loadMigrations(baseMigrationsDir) })),
      ...(definition.migrations ? await migrate(pool, { schema, component: definition.name, migrations: loadMigrations(definition.migrations) }) : []),
    ];
    if (applied.length > 0) logger.info({ applied }, "migrations applied");
    audit = new PgAuditWriter(pool, { onError: (error, pending) => logger.error({ err: error, pending }, "audit records could not be written yet; kept and retried") });
    const idempotency = new IdempotencyKeys(pool);
    const days = config.BULKHEAD_AUDIT_RETENTION_DAYS;
    housekeeping = new Periodic(HOUSEKEEPING_INTERVAL_MS, logger, "housekeeping", async () => {
      const deleted = days > 0 ? await pruneAuditLog(pool, days) : 0;
      if (deleted > 0) logger.info({ deleted, days }, "audit records past their retention deleted");
      await idempotency.prune();
    });
    housekeeping.start();
    // Not awaited: while Valkey is down the service serves, and the outbox relay keeps retrying.
    redis.connect().catch((error) => logger.warn({ err: error }, "valkey not reachable yet; the outbox relay keeps retrying"));
    requestPath.connect().catch(() => undefined);
    relay = new OutboxRelay({
      pool,
      schema,
      connection: redis,
      queuePrefix: config.BULKHEAD_QUEUE_PREFIX,
      pollMs: config.BULKHEAD_OUTBOX_POLL_MS,
      onError: (error) => logger.warn({ err: error }, "outbox relay could not publish; retrying"),
    });
    await relay.start();
    const revoked = new Revocations(requestPath, `${config.BULKHEAD_QUEUE_PREFIX}:revocations`, logger);
    revocations = revoked;
    await revoked.start(REVOCATIONS_FIRST_READ_MS);
    const limit = { perSecond: config.BULKHEAD_RATE_LIMIT_PER_SECOND, burst: config.BULKHEAD_RATE_LIMIT_BURST };
    const rateLimiter = limit.perSecond > 0 ? new RateLimiter(requestPath, limit, `${config.BULKHEAD_QUEUE_PREFIX}:${schema}`) : undefined;
    const anonymous = { perSecond: config.BULKHEAD_RATE_LIMIT_ANONYMOUS_PER_SECOND, burst: config.BULKHEAD_RATE_LIMIT_ANONYMOUS_BURST };
    const anonymousLimiter = anonymous.perSecond > 0 ? new RateLimiter(requestPath, anonymous, `${config.BULKHEAD_QUEUE_PREFIX}:${schema}:anonymous`) : undefined;
    const routes = (router: ConnectRouter) => {
      router.service(AuditService, auditService(pool));
      router.service(TokenService, tokenService(tokens, revoked));
    };
    return { pool, outbox: (client, event) => appendOutbox(client, schema, event), audit, routes, rateLimiter, anonymousLimiter, idempotency, revocations: revoked, close };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * Process entry point: starts the service with the environment, stops it on SIGTERM/SIGINT,
 * and exits non-zero with a readable message when it cannot start.
 */
export function main<S extends ConfigSpec>(definition: ServiceDefinition<S>): void {
  startService(definition).then(
    (service) => {
      const onSignal = () => {
        service.stop().then(
          () => process.exit(0),
          (error) => {
            service.logger.error({ err: error }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
    },
    (error) => {
      process.stderr.write(`${definition.name}: cannot start: ${error instanceof ConfigError ? error.message : (error as Error).stack}\n`);
      process.exit(1);
    },
  );
}

export type { DescService };
