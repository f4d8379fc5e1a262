// Per-principal rate limits shared by every replica through Valkey: refused with
// resource_exhausted, RetryInfo and retry-after; services are never limited; Valkey gone → open;
// calls without a valid token limited per source address.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { RetryInfoSchema } from "@bulkhead/api/gen/google/rpc/error_details_pb.js";
import { failure, freePort, startTestService, startValkey, type TestService } from "@bulkhead/testkit";
import { fixtureService } from "./fixture/service.js";

const test = suite<{ a: TestService; b: TestService }>("rate limits", {} as never);
// One call per second: a slow machine does not earn a token between the burst and the refusal.
const limits = { BULKHEAD_RATE_LIMIT_PER_SECOND: "1", BULKHEAD_RATE_LIMIT_BURST: "3" };

test.before(async (ctx) => {
  ctx.a = await startTestService(fixtureService, { env: limits });
  // A second replica: same secret, same queue prefix, so the same buckets.
  ctx.b = await startTestService(fixtureService, { secret: ctx.a.tokens.secret, env: { ...limits, BULKHEAD_QUEUE_PREFIX: ctx.a.queuePrefix } });
  for (const svc of [ctx.a, ctx.b]) await svc.client(PartitionService, await svc.adminToken()).createPartition({ id: "fra1", name: "Frankfurt" });
});
test.after(async (ctx) => {
  await ctx.b?.stop();
  await ctx.a?.stop();
});

const viewer = (svc: TestService, name: string) => svc.token({ kind: "user", subject: name, roles: ["viewer"] });
const list = (svc: TestService, token: string) => svc.client(PartitionService, token).getPartition({ id: "fra1" });

test("a principal's burst is shared by the replicas; beyond it resource_exhausted with retry info", async ({ a, b }) => {
  const alice = await viewer(a, "alice");
  await list(a, alice);
  await list(b, alice);
  await list(a, alice);
  const refused = await failure(list(b, alice));
  assert.is(refused.code, Code.ResourceExhausted);
  assert.match(refused.rawMessage, "rate limit exceeded for user:alice");
  const [retry] = refused.findDetails(RetryInfoSchema);
  const delay = durationMs(retry!.retryDelay!);
  assert.ok(delay > 0 && delay <= 1000, `retry in ${delay} ms`);
  assert.is(refused.metadata.get("retry-after"), "1");
  // Another principal has its own bucket; a service is never limited.
  await list(a, await viewer(a, "bob"));
  const service = await a.serviceToken("network");
  for (let i = 0; i < 10; i++) await list(a, service);
  // After the advised delay the principal may call again.
  await new Promise((r) => setTimeout(r, delay + 20));
  await list(a, alice);
});

test("calls without a valid token are limited per source address: past the burst refused unaudited, the audit log does not flood", async () => {
  const svc = await startTestService(fixtureService, { env: { BULKHEAD_RATE_LIMIT_ANONYMOUS_PER_SECOND: "1", BULKHEAD_RATE_LIMIT_ANONYMOUS_BURST: "3" } });
  try {
    const codes = [];
    for (let i = 0; i < 10; i++) codes.push(Code[(await failure(svc.client(PartitionService, i % 2 ? "forged.token.x" : undefined).getPartition({ id: "fra1" }))).code]);
    assert.equal(codes, [...Array(3).fill("Unauthenticated"), ...Array(7).fill("ResourceExhausted")]);
    await svc.service.stop();
    await svc.restart();
    const audited = (await svc.service.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE outcome = 'unauthenticated'")).rows[0].n;
    assert.is(audited, 3, "only what was let through is audited");
  } finally {
    await svc.stop();
  }
});

test("the refusal is audited", async ({ a }) => {
  const carol = await viewer(a, "carol");
  const outcomes = await Promise.all(Array.from({ length: 6 }, () => list(a, carol).then(() => "ok", (e) => String(e.code))));
  assert.is(outcomes.filter((o) => o === "ok").length, 3, outcomes.join());
  const refusals = async () => (await a.service.pool.query("SELECT count(*)::int AS n FROM audit_log WHERE principal = 'user:carol' AND outcome = 'resource_exhausted'")).rows[0].n as number;
  // The audit writer stores records off the request path.
  for (let i = 0; i < 50 && (await refusals()) < 3; i++) await new Promise((r) => setTimeout(r, 100));
  assert.is(await refusals(), 3);
});

test("Valkey gone after start: the limits are not enforced rather than failing every call", async () => {
  const port = await freePort();
  const valkey = await startValkey(port, mkdtempSync(join(tmpdir(), "bh-valkey-")));
  const lonely = await startTestService(fixtureService, { env: { BULKHEAD_RATE_LIMIT_PER_SECOND: "1", BULKHEAD_RATE_LIMIT_BURST: "1", VALKEY_URL: `redis://127.0.0.1:${port}` } });
  try {
    await lonely.client(PartitionService, await lonely.adminToken()).createPartition({ id: "fra1", name: "Frankfurt" });
    valkey.kill("SIGKILL");
    await new Promise((r) => valkey.once("exit", r));
    const dave = await viewer(lonely, "dave");
    for (let i = 0; i < 5; i++) await list(lonely, dave);
  } finally {
    await lonely.stop();
    valkey.kill("SIGKILL");
  }
});

test.run();
