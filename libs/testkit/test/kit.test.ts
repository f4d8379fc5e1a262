import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AuditService } from "@bulkhead/api/gen/bulkhead/audit/v1/audit_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { ResourceInfoSchema } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "@bulkhead/api/gen/grpc/health/v1/health_pb.js";
import { FABRIC_CHANGES_QUEUE, readAuditLog } from "@bulkhead/db";
import { testValkeyUrl } from "@bulkhead/db/testing";
import { failure, startTestService, type TestService } from "@bulkhead/testkit";
import { fixtureService } from "./fixture/service.js";

const run = promisify(execFile);
const buf = new URL("../../../node_modules/.bin/buf", import.meta.url).pathname;

const test = suite<{ svc: TestService; admin: string }>("service kit", {} as never);

test.before(async (ctx) => {
  ctx.svc = await startTestService(fixtureService);
  ctx.admin = await ctx.svc.adminToken();
  await ctx.svc.client(PartitionService, ctx.admin).createPartition({ id: "fra-1", name: "Frankfurt 1" });
});

test.after(async (ctx) => {
  await ctx.svc?.stop();
});

test("health reports SERVING for the server and each served service, without a token", async ({ svc }) => {
  const health = svc.client(Health, undefined, "grpc");
  assert.is((await health.check({ service: "" })).status, HealthCheckResponse_ServingStatus.SERVING);
  assert.is((await health.check({ service: "bulkhead.network.v1.PartitionService" })).status, HealthCheckResponse_ServingStatus.SERVING);
  const unknown = await failure(health.check({ service: "no.such.Service" }));
  assert.is(unknown.code, Code.NotFound);
});

test("buf curl lists the methods through server reflection and calls without --schema", async ({ svc, admin }) => {
  const { stdout } = await run(buf, ["curl", "--http2-prior-knowledge", "--list-methods", svc.url]);
  assert.match(stdout, "bulkhead.network.v1.PartitionService/GetPartition");
  assert.match(stdout, "grpc.health.v1.Health/Check");
  const call = await run(buf, ["curl", "--http2-prior-knowledge", "--protocol", "grpc", "-H", `Authorization: Bearer ${admin}`, "-d", '{"id":"fra-1"}', `${svc.url}/bulkhead.network.v1.PartitionService/GetPartition`]);
  assert.is(JSON.parse(call.stdout).partition.name, "Frankfurt 1");
});

test("a call without a token is unauthenticated", async ({ svc }) => {
  const error = await failure(svc.client(PartitionService).getPartition({ id: "fra-1" }));
  assert.is(error.code, Code.Unauthenticated);
  const forged = await failure(svc.client(PartitionService, "not.a.jwt").getPartition({ id: "fra-1" }));
  assert.is(forged.code, Code.Unauthenticated);
});

test("a token lacking the role is permission_denied, and the denial is audited", async ({ svc }) => {
  const viewer = await svc.projectToken("p1", "viewer");
  const error = await failure(svc.client(PartitionService, viewer).createPartition({ id: "fra-2", name: "x" }));
  assert.is(error.code, Code.PermissionDenied);
  await svc.service.stop().catch(() => {});
  await svc.restart();
  const log = await readAuditLog(svc.service.pool);
  const denial = log.find((r) => r.outcome === "permission_denied");
  assert.ok(denial, "the denial is in the audit log");
  assert.is(denial!.principal, "user:viewer-of-p1");
  assert.is(denial!.method, "bulkhead.network.v1.PartitionService/CreatePartition");
  assert.match(denial!.target, "id=fra-2");
  const created = log.find((r) => r.outcome === "ok" && r.method.endsWith("/CreatePartition"));
  assert.is(created?.principal, "user:admin");
});

test("admins read the audit log through AuditService: filters, paging, and only admins", async ({ svc, admin }) => {
  const before = new Date(Date.now() - 1000);
  const viewer = await svc.projectToken("p7", "viewer");
  for (let i = 0; i < 3; i++) await failure(svc.client(PartitionService, viewer).createPartition({ id: `denied-${i}`, name: "x" }));
  const audit = svc.client(AuditService, admin);
  let denied: { target: string }[] = [];
  // The writer batches off the request path: poll until the records are stored.
  for (let i = 0; i < 50 && denied.length < 3; i++) {
    denied = (await audit.listAuditEvents({ principal: "user:viewer-of-p7", outcome: "permission_denied", since: timestampFromDate(before) })).events;
    if (denied.length < 3) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(denied.map((e) => e.target), ["id=denied-2 name=x", "id=denied-1 name=x", "id=denied-0 name=x"], "newest first");
  const first = await audit.listAuditEvents({ principal: "user:viewer-of-p7", pageSize: 2 });
  assert.is(first.events.length, 2);
  const rest = await audit.listAuditEvents({ principal: "user:viewer-of-p7", pageSize: 2, pageToken: first.nextPageToken });
  assert.equal(rest.events.map((e) => e.target), ["id=denied-0 name=x"]);
  assert.is(rest.nextPageToken, "");
  assert.is((await audit.listAuditEvents({ target: "denied-1", method: "CreatePartition" })).events.length, 1);
  assert.is((await failure(svc.client(AuditService, viewer).listAuditEvents({}))).code, Code.PermissionDenied);
  assert.is((await failure(svc.client(AuditService, await svc.projectToken("p7", "owner")).listAuditEvents({}))).code, Code.PermissionDenied);
  assert.is((await failure(audit.listAuditEvents({ pageToken: "garbage" }))).code, Code.InvalidArgument);
  assert.is((await failure(audit.listAuditEvents({ since: timestampFromDate(new Date()), until: timestampFromDate(before) }))).code, Code.InvalidArgument);
});

test("a malformed request is invalid_argument with a buf.validate.Violations detail naming the field", async ({ svc, admin }) => {
  const error = await failure(svc.client(PartitionService, admin).getPartition({ id: "Not An Id" }));
  assert.is(error.code, Code.InvalidArgument);
  const [violations] = error.findDetails(ViolationsSchema);
  assert.is(violations?.violations[0]?.field?.elements[0]?.fieldName, "id");
  assert.is(violations?.violations[0]?.ruleId, "string.id");
});

test("validation runs after authorization: nothing about the request leaks to an unauthorized caller", async ({ svc }) => {
  const viewer = await svc.projectToken("p1", "viewer");
  const error = await failure(svc.client(PartitionService, viewer).createPartition({ id: "Not An Id", name: "" }));
  assert.is(error.code, Code.PermissionDenied);
});

test("a domain NotFound is not_found with a ResourceInfo detail", async ({ svc, admin }) => {
  const error = await failure(svc.client(PartitionService, admin).getPartition({ id: "nowhere" }));
  assert.is(error.code, Code.NotFound);
  assert.is(error.findDetails(ResourceInfoSchema)[0]?.resourceName, "nowhere");
});

test("a duplicate is already_exists", async ({ svc, admin }) => {
  const error = await failure(svc.client(PartitionService, admin).createPartition({ id: "fra-1", name: "again" }));
  assert.is(error.code, Code.AlreadyExists);
});

test("an unexpected throw is internal and its message does not leak", async ({ svc, admin }) => {
  const error = await failure(svc.client(PartitionService, admin).listPartitions({}));
  assert.is(error.code, Code.Internal);
  assert.not.match(error.message, "secret");
});

test("an unimplemented method answers unimplemented", async ({ svc, admin }) => {
  const error = await failure(svc.client(PartitionService, admin).deletePartition({ id: "fra-1" }));
  assert.is(error.code, Code.Unimplemented);
});

test("the same call works over gRPC, gRPC-Web and Connect, and over plain HTTP/1.1 curl", async ({ svc, admin }) => {
  for (const protocol of ["grpc", "grpc-web", "connect"] as const) {
    const { partition } = await svc.client(PartitionService, admin, protocol).getPartition({ id: "fra-1" });
    assert.is(partition?.name, "Frankfurt 1", protocol);
  }
  const { stdout } = await run("curl", ["-sS", "--http1.1", "-H", "Content-Type: application/json", "-H", `Authorization: Bearer ${admin}`, "-d", '{"id":"fra-1"}', `${svc.url}/bulkhead.network.v1.PartitionService/GetPartition`]);
  assert.is(JSON.parse(stdout).partition.name, "Frankfurt 1");
  const denied = await run("curl", ["-sS", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json", "-d", '{"id":"fra-1"}', `${svc.url}/bulkhead.network.v1.PartitionService/GetPartition`]);
  assert.is(denied.stdout, "401");
});

test("/metrics counts calls by method and code over HTTP/1.1", async ({ svc }) => {
  const { stdout } = await run("curl", ["-sS", "--http1.1", `${svc.url}/metrics`]);
  assert.match(stdout, /bulkhead_rpc_requests_total\{[^}]*method="GetPartition"[^}]*code="not_found"/);
});

test("a change's outbox event reaches the fabric-changes queue", async ({ svc, admin }) => {
  await svc.client(PartitionService, admin).createPartition({ id: "ams-1", name: "Amsterdam 1" });
  const connection = new Redis(testValkeyUrl(), { maxRetriesPerRequest: null });
  const queue = new Queue(FABRIC_CHANGES_QUEUE, { connection, prefix: svc.queuePrefix });
  try {
    let jobs: { data: { topic: string; key: string } }[] = [];
    for (let i = 0; i < 50 && !jobs.some((j) => j.data.key === "partition/ams-1"); i++) {
      await new Promise((r) => setTimeout(r, 50));
      jobs = await queue.getJobs(["waiting", "active", "completed"]);
    }
    const job = jobs.find((j) => j.data.key === "partition/ams-1");
    assert.is(job?.data.topic, "partition.created");
  } finally {
    await queue.close();
    connection.disconnect();
  }
});

test("stopping drains: health turns NOT_SERVING and the port closes", async ({ svc }) => {
  const { health } = svc.service;
  const stopping = svc.service.stop();
  assert.is(health.get(""), HealthCheckResponse_ServingStatus.NOT_SERVING);
  await stopping;
  const error = await failure(svc.client(Health, undefined, "grpc").check({ service: "" }));
  assert.is(error.code, Code.Unavailable);
  await svc.restart();
});

test.run();
