import pg from "pg";

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;
/** Anything that runs a query: a pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, "query"> | Pick<pg.PoolClient, "query">;

const identifier = /^[a-z_][a-z0-9_]{0,62}$/;

/** Throws unless `name` is a plain lowercase SQL identifier (schemas are interpolated into SQL). */
export function assertIdentifier(name: string, what = "identifier"): string {
  if (!identifier.test(name)) throw new Error(`${what} ${JSON.stringify(name)} must match ${identifier}`);
  return name;
}

export interface PoolOptions {
  url: string;
  /** Replaces the URL's password (one read from a mounted secret). */
  password?: string;
  /** Schema the service owns; every connection resolves unqualified names there first. */
  schema: string;
  max?: number;
  applicationName?: string;
  /** Server-side statement timeout in milliseconds (0 disables). */
  statementTimeoutMs?: number;
  /**
   * Named (server-side prepared) statements; on by default. Off for servers whose connections
   * share one session, such as PGlite behind pglite-socket, where every connection would prepare
   * the same name again.
   */
  namedStatements?: boolean;
}

/** `url` with `password` in it (pg lets a connection string's fields override separate options). */
function withPassword(url: string, password: string): string {
  const parsed = new URL(url);
  parsed.password = password;
  return parsed.toString();
}

/** A pg pool whose connections use the service's schema as search_path. */
export function createPool(options: PoolOptions): pg.Pool {
  const schema = assertIdentifier(options.schema, "schema");
  const settings = [`-c search_path=${schema},public`];
  if (options.statementTimeoutMs) settings.push(`-c statement_timeout=${Math.trunc(options.statementTimeoutMs)}`);
  const pool = new pg.Pool({
    connectionString: options.password === undefined ? options.url : withPassword(options.url, options.password),
    max: options.max ?? 10,
    application_name: options.applicationName ?? `bulkhead-${schema}`,
    options: settings.join(" "),
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
  });
  // An idle client losing its connection emits on the pool; without a listener Node would crash.
  pool.on("error", () => {});
  if (options.namedStatements === false) pool.on("connect", unnameStatements);
  return pool;
}

/** Makes a client run every named statement as an unnamed one. */
function unnameStatements(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as { query: unknown }).query = (config: unknown, ...rest: unknown[]) =>
    query(typeof config === "object" && config !== null && "name" in config ? { ...(config as object), name: undefined } : config, ...rest);
}
