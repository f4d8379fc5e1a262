// Idempotency keys: a mutating call named with `idempotency-key` runs once per principal and key;
// a retry with the same request gets the first response, another request under the key is refused.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { CHANGES_HEADER, IDEMPOTENCY_HEADER } from "@bulkhead/api/headers";
import { failure, startTestService, type TestService } from "@bulkhead/testkit";
import { fixtureService } from "./fixture/service.js";

const test = suite<{ svc: TestService; admin: string }>("idempotency keys", {} as never);
test.before(async (ctx) => {
  ctx.svc = await startTestService(fixtureService);
  ctx.admin = await ctx.svc.adminToken();
});
test.after(async (ctx) => ctx.svc?.stop());

const keyed = (key: string) => ({ headers: { [IDEMPOTENCY_HEADER]: key } });
const count = async (svc: TestService, sql: string) => Number((await svc.service.pool.query(sql)).rows[0].n);

test("a retry with the same key and request gets the first response; the change is made once", async ({ svc, admin }) => {
  const client = svc.client(PartitionService, admin);
  const changes: string[] = [];
  const noting = (key: string) => ({ ...keyed(key), onHeader: (h: Headers) => void changes.push(h.get(CHANGES_HEADER) ?? "") });
  const first = (await client.createPartition({ id: "idem-1", name: "once" }, noting("k-1"))).partition!;
  const retried = (await client.createPartition({ id: "idem-1", name: "once" }, noting("k-1"))).partition!;
  assert.equal(retried, first, "the same response, not already_exists");
  assert.match(changes[0]!, /^[a-z_]+:\d+$/, "the first call names its change");
  assert.is(changes[1], changes[0], "and the replay names the same change, for a retried call's --wait");
  for (const protocol of ["grpc", "grpc-web"] as const) {
    const other = svc.client(PartitionService, admin, protocol);
    assert.equal((await other.createPartition({ id: "idem-1", name: "once" }, keyed("k-1"))).partition, first, `replayed over ${protocol}`);
  }
  assert.is(await count(svc, "SELECT count(*) AS n FROM outbox WHERE key = 'partition/idem-1'"), 1, "one change");
  assert.is((await failure(client.createPartition({ id: "idem-1", name: "once" }))).code, Code.AlreadyExists, "without the key it is a new call");
});

test("another request under a used key is already_exists and changes nothing; another principal's key is its own", async ({ svc, admin }) => {
  const client = svc.client(PartitionService, admin);
  await client.createPartition({ id: "idem-2", name: "two" }, keyed("k-2"));
  const other = await failure(client.createPartition({ id: "idem-3", name: "three" }, keyed("k-2")));
  assert.is(other.code, Code.AlreadyExists);
  assert.match(other.rawMessage, "idempotency-key k-2 was used for another request");
  assert.is((await failure(client.getPartition({ id: "idem-3" }))).code, Code.NotFound, "nothing was created");
  const viewerAdmin = svc.client(PartitionService, await svc.token({ kind: "user", subject: "other-admin", roles: ["admin"] }));
  assert.is((await viewerAdmin.createPartition({ id: "idem-3", name: "three" }, keyed("k-2"))).partition?.id, "idem-3");
});

test("a failed call leaves its key free: the retry runs; concurrent calls under one key make one change", async ({ svc, admin }) => {
  const client = svc.client(PartitionService, admin);
  await client.createPartition({ id: "idem-4", name: "taken" });
  assert.is((await failure(client.createPartition({ id: "idem-4", name: "taken" }, keyed("k-4")))).code, Code.AlreadyExists);
  assert.is(await count(svc, "SELECT count(*) AS n FROM idempotency_keys WHERE key = 'k-4'"), 0);
  const outcomes = await Promise.all(Array.from({ length: 6 }, () => client.createPartition({ id: "idem-5", name: "raced" }, keyed("k-5")).then((r) => r.partition!.id, (e) => Code[e.code])));
  assert.ok(outcomes.every((o) => o === "idem-5" || o === "Aborted"), outcomes.join());
  assert.is(await count(svc, "SELECT count(*) AS n FROM outbox WHERE key = 'partition/idem-5'"), 1, "one change");
});

test("a key is 1 to 128 printable characters; reads ignore it", async ({ svc, admin }) => {
  const client = svc.client(PartitionService, admin);
  assert.is((await failure(client.createPartition({ id: "idem-6", name: "x" }, keyed("has space")))).code, Code.InvalidArgument);
  assert.is((await failure(client.createPartition({ id: "idem-6", name: "x" }, keyed("k".repeat(129))))).code, Code.InvalidArgument);
  await client.getPartition({ id: "idem-1" }, keyed("k-1"));
});

test.run();
