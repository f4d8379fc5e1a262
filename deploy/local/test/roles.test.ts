// Each service runs as its own database role (provisioned by the `provision` command): it migrates
// and serves, and cannot read another service's tables.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { serviceRoleName } from "@bulkhead/db";
import { createTestDatabase, testServerUrl, type TestDatabase } from "@bulkhead/db/testing";
import { ipamService } from "@bulkhead/ipam";
import { servicePassword, servicePasswordFile, type ConfigSpec, type ServiceDefinition } from "@bulkhead/service-kit";
import { startTestService, type TestService } from "@bulkhead/testkit";

const provision = new URL("../../../libs/service-kit/src/provision.ts", import.meta.url).pathname;
const test = suite<{ db: TestDatabase; dir: string; started: TestService[] }>("a role per service", {} as never);

function provisionRun(args: string[], adminUrl?: string) {
  return spawnSync(process.execPath, ["--import", "tsx", provision, ...args], { encoding: "utf8", env: { ...process.env, BULKHEAD_DATABASE_ADMIN_URL: adminUrl ?? "" }, timeout: 60_000 });
}

/** The test database's URL as the service's own role, without a password (it comes from the file). */
function roleUrl(db: TestDatabase, service: string): string {
  const url = new URL(db.url);
  url.username = serviceRoleName(service.replace(/-/g, "_"));
  url.password = "";
  return url.toString();
}

test.before(async (ctx) => {
  ctx.db = await createTestDatabase("roles");
  ctx.dir = mkdtempSync(join(tmpdir(), "bh-db-roles-"));
  ctx.started = [];
});

test.after(async ({ db, dir, started }) => {
  for (const s of started ?? []) await s.stop();
  await db?.drop();
  rmSync(dir, { recursive: true, force: true });
  const admin = new pg.Client({ connectionString: testServerUrl() });
  await admin.connect();
  // Roles are cluster-wide; the ones this test made own nothing once its database is gone.
  for (const name of ["ipam", "network"]) await admin.query(`DROP ROLE IF EXISTS ${serviceRoleName(name)}`).catch(() => {});
  await admin.end();
});

test("provision without an admin URL or an absolute directory prints its usage and exits 2", () => {
  for (const [args, url] of [[["/tmp/x", "ipam"], undefined], [["relative", "ipam"], "postgres://x@127.0.0.1/x"], [["/tmp/x"], "postgres://x@127.0.0.1/x"]] as const) {
    const run = provisionRun([...args], url);
    assert.is(run.status, 2, run.stderr);
    assert.match(run.stderr, /usage: BULKHEAD_DATABASE_ADMIN_URL=/);
  }
});

test("services provisioned by the command migrate and serve as their own roles, and cannot read each other's tables", async (ctx) => {
  const made = provisionRun([ctx.dir, "ipam", "network"], ctx.db.url);
  assert.is(made.status, 0, made.stderr);
  assert.match(made.stdout, /ipam: role bulkhead_ipam, password in .*\/ipam\/password/);
  assert.is(statSync(servicePasswordFile(ctx.dir, "ipam")).mode & 0o777, 0o600);
  const ipam = await startTestService(ipamService as ServiceDefinition<ConfigSpec>, { env: { DATABASE_URL: roleUrl(ctx.db, "ipam"), BULKHEAD_DATABASE_PASSWORD_FILE: servicePasswordFile(ctx.dir, "ipam") } });
  ctx.started.push(ipam);
  const created = await ipam.client(IpamService, await ipam.adminToken()).createPrefix({ cidr: "10.40.0.0/16" });
  assert.is(created.prefix?.cidr, "10.40.0.0/16");

  // The network service's role: its own schema only.
  const network = new pg.Client({ connectionString: roleUrl(ctx.db, "network"), password: servicePassword(ctx.dir, "network") });
  await network.connect();
  try {
    const denied = await network.query("SELECT * FROM ipam.prefixes").then(() => "read", (error: { code?: string }) => error.code);
    assert.is(denied, "42501", "the network role read the IPAM's prefixes");
  } finally {
    await network.end();
  }
  // Provisioning again (a restart of the init job) keeps the passwords and the service's data.
  const again = provisionRun([ctx.dir, "ipam", "network"], ctx.db.url);
  assert.is(again.status, 0, again.stderr);
  await ipam.restart();
  const read = await ipam.client(IpamService, await ipam.adminToken()).getPrefix({ cidr: "10.40.0.0/16" });
  assert.is(read.prefix?.cidr, "10.40.0.0/16");
});

test.run();
