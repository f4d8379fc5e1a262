import { createHash } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type pg from "pg";
import { assertIdentifier } from "./pool.js";

export interface Migration {
  version: number;
  name: string;
  sql: string;
  checksum: string;
}

const fileName = /^(\d{3,})_([a-z0-9_]+)\.sql$/;

/** Reads `NNN_name.sql` files of a directory, ordered by version. */
export function loadMigrations(dir: URL | string): Migration[] {
  const path = typeof dir === "string" ? dir : fileURLToPath(dir);
  const migrations = readdirSync(path)
    .filter((f) => f.endsWith(".sql"))
    .map((file) => {
      const match = fileName.exec(file);
      if (!match) throw new Error(`migration file ${file} in ${path} must be named NNN_name.sql`);
      const sql = readFileSync(`${path}/${file}`, "utf8");
      return { version: Number(match[1]), name: match[2]!, sql, checksum: createHash("sha256").update(sql).digest("hex") };
    })
    .sort((a, b) => a.version - b.version);
  migrations.forEach((m, i) => {
    if (i > 0 && m.version === migrations[i - 1]!.version) throw new Error(`two migrations in ${path} have version ${m.version}`);
  });
  return migrations;
}

export interface MigrateOptions {
  schema: string;
  /** Independent migration track inside the schema, e.g. `bulkhead-db` or the service name. */
  component: string;
  migrations: readonly Migration[];
}

/**
 * Applies pending migrations in order, each in its own transaction, under an advisory lock per
 * schema so that instances starting together apply each migration exactly once. Fails if an
 * applied migration's file has changed since.
 */
export async function migrate(pool: pg.Pool, options: MigrateOptions): Promise<string[]> {
  const schema = assertIdentifier(options.schema, "schema");
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [`bulkhead.migrate.${schema}`]);
    // A service's own role may not create schemas (provisioning made its schema): create only what is missing.
    if ((await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema])).rowCount === 0) await client.query(`CREATE SCHEMA ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${schema}.schema_migrations (
      component text NOT NULL,
      version integer NOT NULL,
      name text NOT NULL,
      checksum text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (component, version))`);
    const { rows } = await client.query<{ version: number; checksum: string; name: string }>(
      `SELECT version, checksum, name FROM ${schema}.schema_migrations WHERE component = $1`,
      [options.component],
    );
    const done = new Map(rows.map((r) => [r.version, r]));
    for (const migration of options.migrations) {
      const previous = done.get(migration.version);
      if (previous) {
        if (previous.checksum !== migration.checksum) {
          throw new Error(`migration ${options.component}/${migration.version}_${migration.name} was changed after it was applied; add a new migration instead`);
        }
        continue;
      }
      await client.query("BEGIN");
      try {
        await client.query(`SET LOCAL search_path = ${schema}, public`);
        await client.query(migration.sql);
        await client.query(`INSERT INTO ${schema}.schema_migrations (component, version, name, checksum) VALUES ($1, $2, $3, $4)`, [
          options.component,
          migration.version,
          migration.name,
          migration.checksum,
        ]);
        await client.query("COMMIT");
      } catch (error) {
        await client.query("ROLLBACK");
        throw new Error(`migration ${options.component}/${migration.version}_${migration.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(`${migration.version}_${migration.name}`);
    }
    return applied;
  } finally {
    await client.query("SELECT pg_advisory_unlock(hashtext($1))", [`bulkhead.migrate.${schema}`]).catch(() => {});
    client.release();
  }
}
