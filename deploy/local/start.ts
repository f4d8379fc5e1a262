// npm start: the whole Bulkhead control plane in one process, with embedded defaults.
//   Postgres: DATABASE_URL, else an embedded PGlite served on a local port (data in .bulkhead/pgdata)
//   Valkey:   VALKEY_URL, else a valkey-server or redis-server child process (data in .bulkhead/valkey)
//   --reset   start from an empty data directory
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { btree_gist } from "@electric-sql/pglite/contrib/btree_gist";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";
import { ConfigError, schemaOf, signToken, startService, type RunningService } from "@bulkhead/service-kit";
import { services } from "./services.js";

const args = process.argv.slice(2);
const reset = args.includes("--reset");
const dataDir = resolve(process.env.BULKHEAD_DATA_DIR ?? ".bulkhead");
const basePort = Number(process.env.BULKHEAD_BASE_PORT ?? 7001);
const say = (line = "") => process.stdout.write(`${line}\n`);

async function freePort(): Promise<number> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

/** A random secret made on the first start and kept in the data directory (mode 0600). */
function persistentSecret(name: string, bytes: number, encoding: "base64" | "base64url"): string {
  const file = join(dataDir, name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(bytes).toString(encoding), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
}

/**
 * An embedded Postgres for one service. PGlite serves every socket connection from a single
 * backend session, so each service gets its own instance (its tables share names with other
 * services' tables) and the session's search_path is set once, here.
 */
async function embeddedPostgres(service: string): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = join(dataDir, "pgdata", service);
  mkdirSync(dirname(dir), { recursive: true });
  const db = await PGlite.create(dir, { extensions: { btree_gist } });
  await db.exec(`SET search_path TO ${schemaOf(service)}, public`);
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, port, host: "127.0.0.1", maxConnections: 64 });
  await server.start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await server.stop();
      await db.close();
    },
  };
}

async function localValkey(): Promise<{ url: string; stop(): Promise<void> }> {
  const binary = ["valkey-server", "redis-server"].find((b) => spawnSync("sh", ["-c", `command -v ${b}`]).status === 0);
  if (!binary) {
    say("Bulkhead needs Valkey or Redis for its change queue, and neither valkey-server nor redis-server is installed.");
    say("Install one, e.g. on Debian/Ubuntu:  sudo apt-get install redis-server   (or: valkey-server)");
    say("or point Bulkhead at a running one:   VALKEY_URL=redis://host:6379 npm start");
    process.exit(1);
  }
  const port = await freePort();
  const dir = join(dataDir, "valkey");
  mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn(binary, ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--appendonly", "yes", "--save", "", "--maxmemory-policy", "noeviction"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 300));
  if (child.exitCode !== null) throw new Error(`${binary} exited at start (code ${child.exitCode})`);
  return {
    url: `redis://127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
    },
  };
}

async function main(): Promise<void> {
  if (reset) rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  const jwtSecret = persistentSecret("jwt-secret", 48, "base64url");
  // The inventory encrypts BMC credentials with this key; losing it loses them.
  const secretsKey = process.env.BULKHEAD_SECRETS_KEY ?? persistentSecret("secrets-key", 32, "base64");
  const external = process.env.DATABASE_URL;
  const databases = new Map<string, { url: string; stop(): Promise<void> }>();
  for (const definition of services) databases.set(definition.name, external ? { url: external, stop: async () => {} } : await embeddedPostgres(definition.name));
  const valkey = process.env.VALKEY_URL ? { url: process.env.VALKEY_URL, stop: async () => {} } : await localValkey();

  const running: RunningService[] = [];
  // Every service finds every other as BULKHEAD_<NAME>_URL (e.g. BULKHEAD_IPAM_URL); the ports are
  // fixed up front, so a service may name one that starts after it (network → peering).
  const urls = Object.fromEntries(services.map((d, i) => [`BULKHEAD_${d.name.toUpperCase().replace(/-/g, "_")}_URL`, `http://127.0.0.1:${basePort + i}`]));
  const stop = async () => {
    for (const service of running.reverse()) await service.stop().catch(() => {});
    await valkey.stop();
    for (const database of databases.values()) await database.stop();
  };
  process.once("SIGINT", () => void stop().then(() => process.exit(0)));
  process.once("SIGTERM", () => void stop().then(() => process.exit(0)));

  try {
    for (const [i, definition] of services.entries()) {
      const service = await startService(definition, {
          ...process.env,
          ...urls,
          PORT: String(basePort + i),
          DATABASE_URL: databases.get(definition.name)!.url,
          VALKEY_URL: valkey.url,
          BULKHEAD_JWT_SECRET: jwtSecret,
          BULKHEAD_SECRETS_KEY: secretsKey,
          BULKHEAD_LOG_LEVEL: process.env.BULKHEAD_LOG_LEVEL ?? "warn",
          // One process shares one PGlite: keep each service's pool small.
          BULKHEAD_DB_POOL_SIZE: process.env.BULKHEAD_DB_POOL_SIZE ?? (external ? "10" : "4"),
          // PGlite serves all connections from one session: no per-connection prepared statements.
          ...(external ? {} : { BULKHEAD_DB_NAMED_STATEMENTS: "false" }),
      });
      running.push(service);
    }
  } catch (error) {
    say(error instanceof ConfigError ? error.message : String((error as Error).stack));
    await stop();
    process.exit(1);
  }

  const token = await signToken({ secret: jwtSecret, issuer: "bulkhead", audience: "bulkhead" }, { kind: "user", subject: "admin", roles: ["admin"], expiresIn: "30d" });
  writeFileSync(join(dataDir, "admin-token"), token, { mode: 0o600 });
  const ipam = running.find((s) => s.name === "ipam")!;
  say("Bulkhead is running.");
  say();
  for (const service of running) say(`  ${service.name.padEnd(16)} ${service.url}   (Connect, gRPC, gRPC-Web; /metrics, /healthz)`);
  say(`  ${"postgres".padEnd(16)} ${external ? "DATABASE_URL" : `embedded PGlite per service, data in ${join(dataDir, "pgdata")}`}`);
  say(`  ${"valkey".padEnd(16)} ${valkey.url}`);
  say();
  say(`Admin token (30 days, also in ${join(dataDir, "admin-token")}):`);
  say(`  export TOKEN=$(cat ${join(dataDir, "admin-token")})`);
  say();
  const network = running.find((s) => s.name === "network")!;
  const call = (url: string, method: string, body: string) => `  buf curl --http2-prior-knowledge -H "Authorization: Bearer $TOKEN" -d '${body}' ${url}/${method}`;
  say("Try it (buf is in node_modules/.bin; every call also works as plain curl with Content-Type: application/json):");
  say(`  buf curl --http2-prior-knowledge --list-methods ${network.url}`);
  say(call(network.url, "bulkhead.network.v1.PartitionService/CreatePartition", '{"id":"fra1","name":"Frankfurt 1"}'));
  say(call(network.url, "bulkhead.network.v1.TenantService/CreateTenant", '{"id":"acme","name":"ACME"}'));
  const capture = (variable: string, command: string, path: string) => say(`  ${variable}=$(${command.trim()} | node -pe 'JSON.parse(require("fs").readFileSync(0)).${path}')`);
  capture("PROJECT", call(network.url, "bulkhead.network.v1.ProjectService/CreateProject", '{"tenant":"acme","name":"web"}'), "project.id");
  say(call(network.url, "bulkhead.network.v1.NetworkService/CreateNetwork", '{"id":"fra1-super","name":"tenant super","type":"NETWORK_TYPE_SUPER","partition":"fra1","prefixes":["10.0.0.0/16","2001:db8::/48"],"defaultChildPrefixLength":{"ipv4":22,"ipv6":64}}'));
  capture("WEB", call(network.url, "bulkhead.network.v1.NetworkService/AllocateNetwork", '{"project":"\'$PROJECT\'","partition":"fra1","name":"web"}'), "network.id");
  capture("DB", call(network.url, "bulkhead.network.v1.NetworkService/AllocateNetwork", '{"project":"\'$PROJECT\'","partition":"fra1","name":"db","addressFamily":"ADDRESS_FAMILY_IPV4"}'), "network.id");
  say(call(ipam.url, "bulkhead.ipam.v1.IpamService/GetPrefixUsage", '{"cidrs":["10.0.0.0/16"]}'));
  const inventory = running.find((s) => s.name === "inventory")!;
  say(call(inventory.url, "bulkhead.inventory.v1.ImageService/CreateImage", '{"name":"ubuntu-24-04","url":"https://images.example.org/ubuntu-24.04.img","checksum":{"algorithm":"sha256","digest":"' + "0".repeat(64) + '"}}'));
  say(call(inventory.url, "bulkhead.inventory.v1.SwitchService/ListSwitches", "{}"));
  const peering = running.find((s) => s.name === "peering")!;
  say(call(peering.url, "bulkhead.peering.v1.PeeringService/CreatePeering", '{"project":"\'$PROJECT\'","name":"web-db","type":"PEERING_TYPE_LOCAL","network1":"\'$WEB\'","network2":"\'$DB\'"}'));
  say(call(peering.url, "bulkhead.peering.v1.PeeringService/GetRouteLeakPlan", '{"partition":"fra1"}'));
  say();
  say("Ctrl-C stops everything; data stays in .bulkhead/ (npm start -- --reset starts clean).");
}

await main();
