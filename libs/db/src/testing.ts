// Test helpers: every suite gets a database of its own on the real Postgres server.
import { randomBytes } from "node:crypto";
import pg from "pg";

/** Where tests find Postgres: BULKHEAD_TEST_DATABASE_URL, else DATABASE_URL, else the local default. */
export function testServerUrl(): string {
  return process.env.BULKHEAD_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
}

/** Where tests find Valkey/Redis: VALKEY_URL, else the local default. */
export function testValkeyUrl(): string {
  return process.env.VALKEY_URL ?? "redis://127.0.0.1:6379";
}

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** Creates an empty database named after the suite; drop() removes it, ending open sessions. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `bh_test_${label.toLowerCase().replace(/[^a-z0-9]+/g, "_").slice(0, 30)}_${randomBytes(4).toString("hex")}`;
  const serverUrl = testServerUrl();
  const admin = new pg.Client({ connectionString: serverUrl });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`tests need Postgres at ${serverUrl.replace(/:[^:@/]*@/, ":***@")} (set BULKHEAD_TEST_DATABASE_URL): ${(error as Error).message}`);
  }
  try {
    await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    async drop() {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
