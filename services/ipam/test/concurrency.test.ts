import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code, type Client } from "@connectrpc/connect";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { parsePrefix, overlaps } from "@bulkhead/netaddr";
import { failure, startTestService, type TestService } from "@bulkhead/testkit";
import { ipamService } from "../src/service.js";

const test = suite<{ svc: TestService; clients: Client<typeof IpamService>[] }>("ipam concurrency", {} as never);

test.before(async (ctx) => {
  ctx.svc = await startTestService(ipamService, { env: { BULKHEAD_DB_POOL_SIZE: "32" } });
  const token = await ctx.svc.serviceToken("network");
  // 64 clients over 8 connections.
  const transports = Array.from({ length: 8 }, () => ctx.svc.client(IpamService, token, "grpc"));
  ctx.clients = Array.from({ length: 64 }, (_, i) => transports[i % 8]!);
});
test.after(async (ctx) => ctx.svc?.stop());

/** Runs `work` on every client at once until it fails with `stopCode`; returns all results. */
async function untilExhausted<T>(clients: Client<typeof IpamService>[], work: (c: Client<typeof IpamService>) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  await Promise.all(
    clients.map(async (client) => {
      for (;;) {
        try {
          results.push(await work(client));
        } catch (error) {
          assert.is((error as { code?: Code }).code, Code.ResourceExhausted, String(error));
          return;
        }
      }
    }),
  );
  return results;
}

test("64 parallel clients fill a /22: every address handed out exactly once, then resource_exhausted", async ({ svc, clients }) => {
  await clients[0]!.createPrefix({ cidr: "10.20.0.0/22" });
  const ips = await untilExhausted(clients, async (c) => (await c.acquireIP({ prefixCidr: "10.20.0.0/22" })).ip!.ip);
  assert.is(ips.length, 1022, "capacity of a /22 without network and broadcast");
  assert.is(new Set(ips).size, 1022, "no address twice");
  assert.not.ok(ips.includes("10.20.0.0") || ips.includes("10.20.3.255"));
  assert.is(Number((await svc.service.pool.query("SELECT count(*) FROM ips")).rows[0].count), 1022);
  assert.is((await failure(clients[0]!.acquireIP({ prefixCidr: "10.20.0.0/22" }))).code, Code.ResourceExhausted);
});

test("then parallel release and re-acquire: the same addresses come back, each once", async ({ clients }) => {
  const released = Array.from({ length: 256 }, (_, i) => `10.20.${1 + Math.floor(i / 128)}.${(i % 128) * 2}`);
  await Promise.all(released.map((ip, i) => clients[i % 64]!.releaseIP({ ip })));
  const again = await untilExhausted(clients, async (c) => (await c.acquireIP({ prefixCidr: "10.20.0.0/22" })).ip!.ip);
  assert.equal([...again].sort(), [...released].sort());
  const usage = (await clients[0]!.getPrefixUsage({ cidrs: ["10.20.0.0/22"] })).prefixes[0];
  assert.is(usage?.availableIps, "0");
  assert.is(usage?.acquiredIps, 1022n);
});

test("parallel child prefix acquisitions never overlap and fill the parent exactly", async ({ clients }) => {
  await clients[0]!.createPrefix({ cidr: "10.30.0.0/16" });
  const children = await untilExhausted(clients, async (c) => (await c.acquireChildPrefix({ parentCidr: "10.30.0.0/16", child: { case: "length", value: 24 } })).prefix!.cidr);
  assert.is(children.length, 256);
  const parsed = children.map((c) => parsePrefix(c)!);
  for (let i = 0; i < parsed.length; i++) for (let j = i + 1; j < parsed.length; j++) assert.not.ok(overlaps(parsed[i]!, parsed[j]!), `${children[i]} overlaps ${children[j]}`);
  await Promise.all(children.map((cidr, i) => clients[i % 64]!.releaseChildPrefix({ cidr })));
  assert.is((await clients[0]!.getPrefixUsage({ cidrs: ["10.30.0.0/16"] })).prefixes[0]?.largestFreeBlock, "10.30.0.0/16", "parallel releases merged back into one block");
});

test("allocations in different prefixes proceed in parallel", async ({ clients }) => {
  const pools = Array.from({ length: 8 }, (_, i) => `10.40.${i}.0/24`);
  await Promise.all(pools.map((cidr) => clients[0]!.createPrefix({ cidr })));
  const results = await Promise.all(clients.map((c, i) => c.acquireIP({ prefixCidr: pools[i % 8]! })));
  assert.is(new Set(results.map((r) => r.ip!.ip)).size, 64);
});

test("deleting a prefix while clients acquire from it never orphans an address", async ({ svc, clients }) => {
  for (let round = 0; round < 5; round++) {
    const cidr = `10.60.${round}.0/24`;
    await clients[0]!.createPrefix({ cidr });
    const acquiring = Promise.allSettled(clients.slice(0, 32).map((c) => c.acquireIP({ prefixCidr: cidr })));
    await new Promise((r) => setTimeout(r, round * 3));
    const deleted = await clients[63]!.deletePrefix({ cidr }).then(() => true, (error) => {
      assert.is(error.code, Code.FailedPrecondition, String(error));
      return false;
    });
    const outcomes = await acquiring;
    for (const o of outcomes) if (o.status === "rejected") assert.is(o.reason.code, Code.NotFound, String(o.reason));
    if (deleted) assert.ok(outcomes.every((o) => o.status === "rejected"), "a deleted prefix handed out nothing");
  }
  const { rows } = await svc.service.pool.query("SELECT count(*)::int AS n FROM ips WHERE prefix_id NOT IN (SELECT id FROM prefixes)");
  assert.is(rows[0].n, 0);
});

test("the same request_id sent concurrently yields one allocation", async ({ svc, clients }) => {
  await clients[0]!.createPrefix({ cidr: "10.50.0.0/24" });
  const results = await Promise.all(clients.slice(0, 16).map((c) => c.acquireIP({ prefixCidr: "10.50.0.0/24", requestId: "same-request" })));
  assert.is(new Set(results.map((r) => r.ip!.ip)).size, 1);
  assert.is(Number((await svc.service.pool.query("SELECT count(*) FROM ips WHERE request_id = 'same-request'")).rows[0].count), 1);
});

test.run();
