// npm start: the whole Bulkhead control plane in one process, with embedded defaults.
//   Postgres: DATABASE_URL, else a PostgreSQL server of its own (data in .bulkhead/postgres), one
//             role and schema per service as in production
//   Valkey:   VALKEY_URL, else a valkey-server or redis-server child process (data in .bulkhead/valkey)
//   --reset   start from an empty data directory
//   --tls     every listener serves TLS with certificates of a local CA made in .bulkhead/tls
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createPrivateKey, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, relative, resolve } from "node:path";
import { ConfigError, provisionServices, serviceKeyPair, serviceKeysDir, signTokenWithKey, startService, userIssuerKeyPair, type RunningService } from "@bulkhead/service-kit";
import { probeVerifyTools } from "@bulkhead/reconciler";
import { agentSigningKey, localCa, tlsEnv } from "./credentials.js";
import { launcherPorts, startDemo, type Demo } from "./demo.js";
import { LOCK_FILE, lockDataDir } from "./lock.js";
import { PostgresStartError, startEmbeddedPostgres, type EmbeddedPostgres } from "./postgres.js";
import { serviceUrls, services } from "./services.js";
import { bufCurlWalkthrough, cliWalkthrough } from "./walkthrough.js";

const args = process.argv.slice(2);
const reset = args.includes("--reset");
const tls = args.includes("--tls");
const dataDir = resolve(process.env.BULKHEAD_DATA_DIR ?? ".bulkhead");
const basePort = Number(process.env.BULKHEAD_BASE_PORT ?? 7001);
const say = (line = "") => process.stdout.write(`${line}\n`);
/** How long Valkey may take to stop before it is killed. */
const VALKEY_STOP_MS = 5_000;

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
      // The same Ctrl-C may have ended it already; a server that ignores SIGTERM gets SIGKILL.
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const killed = setTimeout(() => child.kill("SIGKILL"), VALKEY_STOP_MS);
      await exited;
      clearTimeout(killed);
    },
  };
}

async function main(): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const lock = lockDataDir(dataDir);
  if ("heldBy" in lock) {
    say(`Bulkhead is already running on ${dataDir} (launcher pid ${lock.heldBy}); stop it first, or start another with BULKHEAD_DATA_DIR and BULKHEAD_BASE_PORT set elsewhere.`);
    process.exit(1);
  }
  process.once("exit", () => lock.release());
  const taken = await firstPortInUse(launcherPorts(basePort));
  if (taken !== undefined) {
    say(portInUse(taken));
    process.exit(1);
  }
  if (reset) for (const entry of readdirSync(dataDir)) if (entry !== LOCK_FILE) rmSync(join(dataDir, entry), { recursive: true, force: true });
  // No shared token secret: each service signs its calls with its own key, and user tokens with
  // the launcher's user-token issuer key, which no service holds.
  const keysDir = join(dataDir, "keys");
  const serviceKeys = new Map(services.map((d) => [d.name, serviceKeyPair(keysDir, d.name).privateKeyFile]));
  const userIssuer = userIssuerKeyPair(keysDir);
  // The inventory encrypts BMC credentials with this key; losing it loses them.
  const secretsKey = process.env.BULKHEAD_SECRETS_KEY ?? persistentSecret("secrets-key", 32, "base64");
  const signing = agentSigningKey(dataDir);
  let ca: ReturnType<typeof localCa> | undefined;
  try {
    ca = tls ? localCa(dataDir) : undefined;
  } catch (error) {
    say((error as Error).message);
    process.exit(1);
  }
  const external = process.env.DATABASE_URL;
  if (!external && existsSync(join(dataDir, "pgdata"))) {
    say(`${join(dataDir, "pgdata")} holds the data of the earlier embedded PGlite, which this version does not read (it runs a PostgreSQL server).`);
    say("Start clean with `npm start -- --reset` (that data is deleted), or keep using it from an older checkout.");
    process.exit(1);
  }
  let postgres: EmbeddedPostgres | undefined;
  try {
    postgres = external ? undefined : await startEmbeddedPostgres(dataDir, await freePort());
  } catch (error) {
    say(error instanceof PostgresStartError ? error.message : startFailure(error));
    process.exit(1);
  }
  // Each service logs in as its own role, owning its schema (DATABASE_URL: one login for all).
  const databaseEnv = new Map<string, Record<string, string>>();
  for (const made of postgres ? await provisionServices(postgres.adminUrl, join(dataDir, "postgres-passwords"), services.map((d) => d.name)) : []) {
    databaseEnv.set(made.service, { DATABASE_URL: postgres!.urlAs(made.role), BULKHEAD_DATABASE_PASSWORD_FILE: made.passwordFile });
  }
  const valkey = process.env.VALKEY_URL ? { url: process.env.VALKEY_URL, stop: async () => {} } : await localValkey();

  const running: RunningService[] = [];
  const tools = await probeTools();
  let stopDemo = async () => {};
  // Every service finds every other as BULKHEAD_<NAME>_URL (e.g. BULKHEAD_IPAM_URL); the ports are
  // fixed up front, so a service may name one that starts after it (network → peering).
  const urls = serviceUrls(basePort, ca ? "https://127.0.0.1" : "http://127.0.0.1");
  const stop = async () => {
    await stopDemo();
    for (const service of running.reverse()) await service.stop().catch(() => {});
    await valkey.stop();
    await postgres?.stop();
  };
  // The first signal stops everything in order; a second one exits at once.
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(1);
    stopping = true;
    void stop().then(() => process.exit(0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    for (const [i, definition] of services.entries()) {
      const service = await startService(definition, {
          ...process.env,
          ...urls,
          PORT: String(basePort + i),
          ...(databaseEnv.get(definition.name) ?? { DATABASE_URL: external! }),
          VALKEY_URL: valkey.url,
          BULKHEAD_JWT_SECRET: "",
          BULKHEAD_JWT_PUBLIC_KEY_FILE: userIssuer.publicKeyFile,
          BULKHEAD_SERVICE_KEY_FILE: serviceKeys.get(definition.name)!,
          BULKHEAD_SERVICE_KEYS_DIR: serviceKeysDir(keysDir),
          BULKHEAD_SECRETS_KEY: secretsKey,
          BULKHEAD_AGENT_SIGNING_KEY_FILE: signing.privateKeyFile,
          ...(ca ? tlsEnv(ca.caFile, ca.certificate(definition.name)) : {}),
          BULKHEAD_LOG_LEVEL: process.env.BULKHEAD_LOG_LEVEL ?? "warn",
          BULKHEAD_VERIFY_TOOLS: process.env.BULKHEAD_VERIFY_TOOLS ?? "auto",
      });
      running.push(service);
    }
  } catch (error) {
    say(error instanceof ConfigError ? error.message : startFailure(error));
    await stop();
    process.exit(1);
  }

  const tokens = { secret: "", issuer: "bulkhead", audience: "bulkhead" };
  const issuerKey = createPrivateKey(readFileSync(userIssuer.privateKeyFile));
  const token = await signTokenWithKey(tokens, issuerKey, { kind: "user", subject: "admin", roles: ["admin"], expiresIn: "30d" });
  writeFileSync(join(dataDir, "admin-token"), token, { mode: 0o600 });
  const urlOf = Object.fromEntries(running.map((s) => [s.name, s.url]));
  // `bulkhead token issue --user` signs development tokens with the issuer key; not when people sign in through OIDC.
  const issuer = process.env.BULKHEAD_OIDC_ISSUER ? {} : { userIssuerKey: userIssuer.privateKeyFile };
  writeFileSync(join(dataDir, "cli.json"), JSON.stringify({ endpoints: urlOf, token, ...(ca ? { ca: ca.caFile } : {}), ...issuer }, null, 2), { mode: 0o600 });
  let demo: Demo;
  try {
    demo = await startDemo({ urls, admin: token, agentToken: (device) => signTokenWithKey(tokens, issuerKey, { kind: "agent", subject: device, device, expiresIn: "30d" }), agentPublicKeyFile: signing.publicKeyFile, tls: ca, dataDir, basePort, validate: tools, say });
  } catch (error) {
    say(`The demo fabric did not start: ${startFailure(error)}`);
    await stop();
    process.exit(1);
  }
  stopDemo = () => demo.stop();

  say("Bulkhead is running.");
  say();
  for (const service of running) say(`  ${service.name.padEnd(16)} ${service.url}   (Connect, gRPC, gRPC-Web; /metrics, /healthz)`);
  say(`  ${"postgres".padEnd(16)} ${postgres ? `${postgres.description}, a role and schema per service` : "DATABASE_URL"}`);
  say(`  ${"valkey".padEnd(16)} ${valkey.url}`);
  say(`  ${"tls".padEnd(16)} ${ca ? `every listener, certificates of the local CA ${ca.caFile}` : "off (npm start -- --tls serves TLS with a local CA)"}`);
  say(`  ${"devices".padEnd(16)} simulated agents of leaf01–04, exit01 and fw01 write what they apply to ${join(dataDir, "devices")}/<device>/`);
  if (tools.note) say(`  ${"".padEnd(16)} ${tools.note}`);
  say();
  say(`Demo partition "demo": spines spine01–02, leaves leaf01–02 (rack r1) and leaf03–04 (r2), exit switch exit01,`);
  say(`machines m01–m08 and firewall fw01 cabled to both leaves of their rack; tenant acme, project web (${demo.project}).`);
  say();
  say(`Admin token (30 days) in ${join(dataDir, "admin-token")}; the CLI finds it and the endpoints in ${join(dataDir, "cli.json")}.`);
  say();
  say("Try it with the bulkhead CLI (from this directory):");
  say(`  export PROJECT=${demo.project}`);
  // The CLI finds ./.bulkhead/cli.json by itself; another data directory's it is told.
  if (dataDir !== resolve(".bulkhead")) say(`  export BULKHEAD_CONFIG=${join(dataDir, "cli.json")}`);
  for (const line of cliWalkthrough(relative(process.cwd(), dataDir) || ".")) say(`  ${line}`);
  say();
  say("Or with buf curl (./buf is the checkout's buf):");
  const shown = (file: string) => relative(process.cwd(), file) || file;
  for (const line of bufCurlWalkthrough(urls, shown(join(dataDir, "admin-token")), ca && shown(ca.caFile))) say(`  ${line}`);
  say();
  say("Ctrl-C stops everything; data stays in .bulkhead/ (npm start -- --reset starts clean).");
}

/** The first of `ports` that something already listens on (127.0.0.1), if any. */
async function firstPortInUse(ports: number[]): Promise<number | undefined> {
  for (const port of ports) {
    const free = await new Promise<boolean>((resolveFree) => {
      const server = createServer();
      server.once("error", () => resolveFree(false));
      server.listen(port, "127.0.0.1", () => server.close(() => resolveFree(true)));
    });
    if (!free) return port;
  }
  return undefined;
}

/** One line for a port in use, naming the variable that moves the ports. */
const portInUse = (port: number | string) => `port ${port} is in use by another program; start Bulkhead on other ports with BULKHEAD_BASE_PORT (now ${basePort}), e.g. BULKHEAD_BASE_PORT=${basePort + 1000} npm start`;

/** A port in use in one line, anything else with its stack. */
function startFailure(error: unknown): string {
  const e = error as NodeJS.ErrnoException & { port?: number };
  return e.code === "EADDRINUSE" ? portInUse(e.port ?? "?") : String(e.stack ?? e);
}

/**
 * Which of FRR's and nftables' checkers work here, for the simulated agents: the reconciler's own
 * probe (`nft -c` needs CAP_NET_ADMIN: unprivileged it runs in a user and network namespace of its
 * own), as command templates for the agents' BULKHEAD_*_VALIDATE.
 */
async function probeTools(): Promise<{ frr: string; nft: string; note?: string }> {
  const found = await probeVerifyTools("auto");
  const template = (name: string) => {
    const active = found.active.find((a) => a.tool.name === name);
    return active ? active.command("{file}").flat().join(" ") : "";
  };
  const missing = found.unavailable.map((u) => u.name);
  return { frr: template("vtysh -C"), nft: template("nft -c"), note: missing.length ? `configurations are not syntax-checked without ${missing.join(" and ")} (apt-get install frr nftables)` : undefined };
}

await main();
