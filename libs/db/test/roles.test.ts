import { randomBytes } from "node:crypto";
import pg from "pg";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createPool, migrate, provisionServiceRoles, serviceRoleName, sqlState } from "../src/index.js";
import { createTestDatabase, testServerUrl, type TestDatabase } from "../src/testing.js";

// Roles are cluster-wide: every schema (hence role) name of this run is unique and dropped after.
const run = randomBytes(3).toString("hex");
const schemas = { a: `rt${run}_a`, b: `rt${run}_b`, shared: `rt${run}_c` };
const test = suite<{ db: TestDatabase }>("service roles", {} as never);

/** The test database's URL, logged in as `role`. */
function as(db: TestDatabase, role: string, password: string): string {
  const url = new URL(db.url);
  url.username = role;
  url.password = password;
  return url.toString();
}

async function query(url: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

async function refusal(url: string, sql: string): Promise<string | undefined> {
  try {
    await query(url, sql);
    return undefined;
  } catch (error) {
    return sqlState(error);
  }
}

test.before(async (ctx) => {
  ctx.db = await createTestDatabase("roles");
});

test.after(async ({ db }) => {
  await db?.drop();
  for (const schema of Object.values(schemas)) await query(testServerUrl(), `DROP ROLE IF EXISTS ${serviceRoleName(schema)}`);
});

test("each service's role owns its schema and cannot read or create anywhere else", async ({ db }) => {
  await provisionServiceRoles(db.url, [
    { schema: schemas.a, password: "pw-a" },
    { schema: schemas.b, password: "pw-b" },
  ]);
  const a = as(db, serviceRoleName(schemas.a), "pw-a");
  const b = as(db, serviceRoleName(schemas.b), "pw-b");
  // Migrations run as the service's role, in its schema (btree_gist was installed by the admin).
  for (const [url, schema] of [[a, schemas.a], [b, schemas.b]] as const) {
    const pool = createPool({ url, schema });
    try {
      await migrate(pool, { schema, component: "svc", migrations: [{ version: 1, name: "things", checksum: "x", sql: "CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public; CREATE TABLE things (id serial PRIMARY KEY, r int4range, EXCLUDE USING gist (id WITH =, r WITH &&))" }] });
      await pool.query("INSERT INTO things (r) VALUES ('[1,2)')");
    } finally {
      await pool.end();
    }
  }
  assert.is((await query(a, `SELECT count(*)::int AS n FROM ${schemas.a}.things`)).rows[0].n, 1);
  assert.is(await refusal(a, `SELECT * FROM ${schemas.b}.things`), "42501", "another service's table");
  assert.is(await refusal(a, `INSERT INTO ${schemas.b}.things (r) VALUES ('[5,6)')`), "42501");
  assert.is(await refusal(a, `CREATE TABLE ${schemas.b}.planted (id int)`), "42501", "creating in another service's schema");
  assert.is(await refusal(a, "CREATE TABLE public.planted (id int)"), "42501", "creating in public");
  assert.is(await refusal(a, `CREATE SCHEMA rt${run}_new`), "42501", "creating a schema");
  assert.is(await refusal(a, `CREATE ROLE rt${run}_x`), "42501", "creating a role");
});

test("provisioning again is harmless, changes the password, and hands over what a shared role made", async ({ db }) => {
  // An installation that ran every service as one role: its objects belong to the admin.
  await query(db.url, `CREATE SCHEMA ${schemas.shared}; CREATE TABLE ${schemas.shared}.t (id serial PRIMARY KEY); CREATE FUNCTION ${schemas.shared}.f() RETURNS int LANGUAGE sql AS 'SELECT 1'`);
  await provisionServiceRoles(db.url, [{ schema: schemas.shared, password: "one" }]);
  await provisionServiceRoles(db.url, [{ schema: schemas.shared, password: "two" }]);
  const role = serviceRoleName(schemas.shared);
  const owners = await query(db.url, `SELECT c.relname, pg_get_userbyid(c.relowner) AS owner FROM pg_class c WHERE c.relnamespace = '${schemas.shared}'::regnamespace ORDER BY 1`);
  assert.equal(owners.rows.map((r) => [r.relname, r.owner]), [["t", role], ["t_id_seq", role], ["t_pkey", role]]);
  const fn = await query(db.url, `SELECT pg_get_userbyid(proowner) AS owner FROM pg_proc WHERE pronamespace = '${schemas.shared}'::regnamespace`);
  assert.is(fn.rows[0].owner, role);
  // The role can now change its tables (owner rights), as its next migration will.
  await query(as(db, role, "two"), `ALTER TABLE ${schemas.shared}.t ADD COLUMN name text; INSERT INTO ${schemas.shared}.t (name) VALUES ('x')`);
  const stored = await query(testServerUrl(), `SELECT rolpassword IS NOT NULL AS has FROM pg_authid WHERE rolname = '${role}'`);
  assert.ok(stored.rows[0].has);
});

test("a schema name that is not a plain identifier is refused before anything is created", async ({ db }) => {
  const refused = await provisionServiceRoles(db.url, [{ schema: "x; DROP TABLE y", password: "p" }]).then(() => undefined, (error: Error) => error.message);
  assert.match(refused ?? "", /schema "x; DROP TABLE y" must match/);
  const roles = await query(db.url, "SELECT count(*)::int AS n FROM pg_roles WHERE rolname LIKE 'bulkhead_x%'");
  assert.is(roles.rows[0].n, 0);
});

test.run();
