import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import {
  FABRIC_CHANGES_QUEUE,
  OutboxRelay,
  PgAuditWriter,
  pruneAuditLog,
  appendOutbox,
  baseMigrationsDir,
  collectChanges,
  createPool,
  loadMigrations,
  migrate,
  readAuditLog,
  sqlState,
  withTransaction,
  type Pool,
} from "../src/index.js";
import { createTestDatabase, testValkeyUrl, type TestDatabase } from "../src/testing.js";

const test = suite<{ db: TestDatabase; pool: Pool }>("db", {} as never);
const schema = "svc";

test.before(async (ctx) => {
  ctx.db = await createTestDatabase("db");
  ctx.pool = createPool({ url: ctx.db.url, schema });
  await migrate(ctx.pool, { schema, component: "bulkhead-db", migrations: loadMigrations(baseMigrationsDir) });
});

test.after(async (ctx) => {
  await ctx.pool?.end();
  await ctx.db?.drop();
});

function migrationsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(`${tmpdir()}/bh-migrations-`);
  for (const [name, sql] of Object.entries(files)) writeFileSync(`${dir}/${name}`, sql);
  return dir;
}

test("instances starting together apply each migration exactly once", async ({ db }) => {
  const dir = migrationsDir({ "001_things.sql": "CREATE TABLE things (id int PRIMARY KEY);", "002_more.sql": "ALTER TABLE things ADD COLUMN name text;" });
  const pools = Array.from({ length: 4 }, () => createPool({ url: db.url, schema: "racing" }));
  try {
    const results = await Promise.all(pools.map((p) => migrate(p, { schema: "racing", component: "svc", migrations: loadMigrations(dir) })));
    assert.equal(results.flat().sort(), ["1_things", "2_more"]);
    const { rows } = await pools[0]!.query("SELECT count(*)::int AS n FROM racing.schema_migrations WHERE component = 'svc'");
    assert.is(rows[0].n, 2);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});

test("a migration changed after it was applied stops the start", async ({ pool }) => {
  await migrate(pool, { schema, component: "edited", migrations: loadMigrations(migrationsDir({ "001_a.sql": "CREATE TABLE edited_a (id int);" })) });
  try {
    await migrate(pool, { schema, component: "edited", migrations: loadMigrations(migrationsDir({ "001_a.sql": "CREATE TABLE edited_a (id bigint);" })) });
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, "was changed after it was applied");
  }
});

test("a failing migration is rolled back and not recorded", async ({ pool }) => {
  const dir = migrationsDir({ "001_ok.sql": "CREATE TABLE half_ok (id int);", "002_bad.sql": "CREATE TABLE half_bad (id int); SELECT no_such_function();" });
  try {
    await migrate(pool, { schema, component: "half", migrations: loadMigrations(dir) });
    assert.unreachable();
  } catch (error) {
    assert.match((error as Error).message, "half/2_bad failed");
  }
  const { rows } = await pool.query("SELECT to_regclass('svc.half_ok') AS ok, to_regclass('svc.half_bad') AS bad");
  assert.is(rows[0].ok, "half_ok");
  assert.is(rows[0].bad, null);
});

test("serialization failures are retried until both transactions commit", async ({ pool }) => {
  await pool.query("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)");
  let attempts = 0;
  const increment = () =>
    withTransaction(
      pool,
      async (client) => {
        attempts++;
        const { rows } = await client.query("SELECT n FROM counter WHERE id = 1");
        await new Promise((r) => setTimeout(r, 20));
        await client.query("UPDATE counter SET n = $1 WHERE id = 1", [rows[0].n + 1]);
      },
      { isolation: "serializable" },
    );
  await Promise.all(Array.from({ length: 6 }, increment));
  const { rows } = await pool.query("SELECT n FROM counter");
  assert.is(rows[0].n, 6, "no lost update");
  assert.ok(attempts > 6, `conflicts were retried (${attempts} attempts)`);
});

test("other errors roll back and propagate without retry", async ({ pool }) => {
  await pool.query("CREATE TABLE once (id int PRIMARY KEY)");
  let attempts = 0;
  try {
    await withTransaction(pool, async (client) => {
      attempts++;
      await client.query("INSERT INTO once VALUES (1)");
      await client.query("INSERT INTO once VALUES (1)");
    });
    assert.unreachable();
  } catch (error) {
    assert.is(sqlState(error), "23505");
  }
  assert.is(attempts, 1);
  assert.is((await pool.query("SELECT count(*)::int AS n FROM once")).rows[0].n, 0);
});

async function queueJobIds(prefix: string): Promise<Set<string>> {
  const connection = new Redis(testValkeyUrl(), { maxRetriesPerRequest: null });
  const queue = new Queue(FABRIC_CHANGES_QUEUE, { connection, prefix });
  try {
    const jobs = await queue.getJobs(["waiting", "active", "completed", "delayed"], 0, -1);
    return new Set(jobs.map((j) => j.id!));
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

test("an event is published only if its transaction commits", async ({ pool }) => {
  const prefix = `bhtest-${randomBytes(4).toString("hex")}`;
  const connection = new Redis(testValkeyUrl(), { maxRetriesPerRequest: null });
  const relay = new OutboxRelay({ pool, schema, connection, queuePrefix: prefix });
  try {
    await pool.query("TRUNCATE outbox");
    await withTransaction(pool, (client) => appendOutbox(client, schema, { topic: "kept", key: "k/1" }));
    await withTransaction(pool, async (client) => {
      await appendOutbox(client, schema, { topic: "rolled-back", key: "k/2" });
      throw new Error("abort");
    }).catch(() => {});
    await relay.drain();
    const { rows } = await pool.query("SELECT id, topic, published_at FROM outbox");
    assert.equal(rows.map((r) => r.topic), ["kept"]);
    assert.ok(rows[0].published_at);
    assert.equal([...(await queueJobIds(prefix))], [`${schema}-${rows[0].id}`]);
  } finally {
    await relay.stop();
    connection.disconnect();
  }
});

test("a request names the events its committed transactions appended, not those of an attempt that rolled back", async ({ pool }) => {
  const changes: string[] = [];
  let attempts = 0;
  const committed = await collectChanges(changes, () =>
    withTransaction(pool, async (client) => {
      const change = await appendOutbox(client, schema, { topic: "retried", key: "k/3" });
      if (++attempts === 1) throw Object.assign(new Error("could not serialize access"), { code: "40001" });
      return change;
    }),
  );
  assert.is(attempts, 2);
  assert.equal(changes, [committed], "only the committed attempt's event");
  const id = Number(committed.slice(`${schema}:`.length));
  assert.is((await pool.query("SELECT topic FROM outbox WHERE id = $1", [id])).rows[0]?.topic, "retried");
});

test("a relay killed mid-way loses nothing: after restart every event is published at least once", async ({ db, pool }) => {
  const prefix = `bhtest-${randomBytes(4).toString("hex")}`;
  await pool.query("TRUNCATE outbox");
  const total = 3000;
  await pool.query("INSERT INTO outbox (topic, key, payload) SELECT 'e', 'k/' || i, jsonb_build_object('i', i) FROM generate_series(1, $1) AS i", [total]);

  const child = spawn(process.execPath, ["--import", "tsx", new URL("./helpers/relay-process.ts", import.meta.url).pathname], {
    env: { ...process.env, DATABASE_URL: db.url, VALKEY_URL: testValkeyUrl(), SCHEMA: schema, PREFIX: prefix, BATCH: "5" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  for (let i = 0; i < 400; i++) {
    await new Promise((r) => setTimeout(r, 10));
    if ((await queueJobIds(prefix)).size >= 50) break;
  }
  child.kill("SIGKILL");
  await exited;

  const pendingAfterKill = (await pool.query("SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL")).rows[0].n;
  assert.ok(pendingAfterKill > 0 && pendingAfterKill < total, `killed mid-way (${pendingAfterKill} of ${total} pending)`);

  const connection = new Redis(testValkeyUrl(), { maxRetriesPerRequest: null });
  const relay = new OutboxRelay({ pool, schema, connection, queuePrefix: prefix });
  try {
    await relay.drain();
  } finally {
    await relay.stop();
    connection.disconnect();
  }
  const { rows } = await pool.query("SELECT id FROM outbox ORDER BY id");
  const published = await queueJobIds(prefix);
  const missing = rows.filter((r) => !published.has(`${schema}-${r.id}`));
  assert.is(missing.length, 0, "every event is in the queue");
  assert.is((await pool.query("SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL")).rows[0].n, 0);
});

test("audit records are written in batches and cannot be changed", async ({ pool }) => {
  const writer = new PgAuditWriter(pool, { flushMs: 10_000 });
  for (let i = 0; i < 3; i++) writer.record({ at: new Date(), principal: "user:a", method: "M", target: `id=${i}`, requestId: `r${i}`, outcome: "ok" });
  await writer.close();
  const log = await readAuditLog(pool, 10);
  assert.equal(log.map((r) => r.target), ["id=2", "id=1", "id=0"]);
  for (const statement of ["UPDATE audit_log SET outcome = 'forged'", "DELETE FROM audit_log"]) {
    try {
      await pool.query(statement);
      assert.unreachable(statement);
    } catch (error) {
      assert.match((error as Error).message, "append-only");
    }
  }
});

const record = (target: string, at = new Date()) => ({ at, principal: "user:b", method: "M", target, requestId: target, outcome: "ok" });

test("a batch the database refuses is kept and retried; a full buffer makes its caller wait instead of dropping", async ({ pool }) => {
  const failures: number[] = [];
  await pool.query("ALTER TABLE audit_log RENAME TO audit_log_away");
  const writer = new PgAuditWriter(pool, { flushMs: 20, maxBuffered: 3, onError: (_, pending) => failures.push(pending) });
  let third: Promise<unknown> = Promise.resolve();
  try {
    await writer.record(record("bp=0"));
    await writer.record(record("bp=1"));
    let written = false;
    third = writer.record(record("bp=2")).then(() => (written = true));
    for (let i = 0; i < 200 && failures.length < 3; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(failures.length >= 3, "writes were tried and failed");
    assert.is(written, false, "the caller whose record filled the buffer waits");
    assert.is(failures.at(-1), 3, "nothing was dropped");
  } finally {
    await pool.query("ALTER TABLE audit_log_away RENAME TO audit_log");
  }
  await third;
  await writer.close();
  assert.equal((await readAuditLog(pool, 100, { target: "bp=" })).map((r) => r.target).sort(), ["bp=0", "bp=1", "bp=2"]);
});

test("retention deletes old records only through audit_log_prune, never one younger than a day", async ({ pool }) => {
  const writer = new PgAuditWriter(pool);
  await writer.record(record("retention-old", new Date(Date.now() - 10 * 86_400_000)));
  await writer.record(record("retention-young", new Date(Date.now() - 3_600_000)));
  await writer.close();
  assert.is(await pruneAuditLog(pool, 5), 1);
  assert.equal((await readAuditLog(pool, 100, { target: "retention-" })).map((r) => r.target), ["retention-young"]);
  for (const attempt of [() => pruneAuditLog(pool, 0), () => withTransaction(pool, async (c) => {
    await c.query("SELECT set_config('bulkhead.audit_prune', 'on', true)");
    await c.query("DELETE FROM audit_log WHERE target = 'retention-young'");
  })]) {
    try {
      await attempt();
      assert.unreachable("deleted");
    } catch (error) {
      assert.match((error as Error).message, /at least a day|append-only/);
    }
  }
});

test.run();
