import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ConnectError } from "@connectrpc/connect";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { createServiceClient } from "@bulkhead/service-kit";
import { startTestService, type TestService } from "@bulkhead/testkit";
import { fixtureService } from "./fixture/service.js";

const run = promisify(execFile);
const test = suite<{ svc: TestService; dir: string; ca: Buffer; admin: string }>("tls", {} as never);

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), "bh-tls-"));
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=bulkhead-test", "-addext", "subjectAltName=IP:127.0.0.1,DNS:leaf01", "-keyout", join(ctx.dir, "key.pem"), "-out", join(ctx.dir, "cert.pem")], { stdio: "ignore" });
  ctx.ca = readFileSync(join(ctx.dir, "cert.pem"));
  ctx.svc = await startTestService(fixtureService, { env: { BULKHEAD_TLS_CERT_FILE: join(ctx.dir, "cert.pem"), BULKHEAD_TLS_KEY_FILE: join(ctx.dir, "key.pem") } });
  ctx.admin = await ctx.svc.adminToken();
  await createServiceClient(PartitionService, { baseUrl: ctx.svc.url, token: ctx.admin, ca: ctx.ca }).createPartition({ id: "tls-1", name: "over TLS" });
});
test.after(async (ctx) => ctx.svc?.stop());

test("with a certificate configured the port serves TLS: gRPC and Connect over HTTP/2, Connect JSON over HTTP/1.1", async ({ svc, ca, admin, dir }) => {
  assert.match(svc.url, /^https:/);
  for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
    const { partition } = await createServiceClient(PartitionService, { baseUrl: svc.url, token: admin, ca, protocol }).getPartition({ id: "tls-1" });
    assert.is(partition?.name, "over TLS", protocol);
  }
  const { stdout } = await run("curl", ["-sS", "--http1.1", "--cacert", join(dir, "cert.pem"), "-H", "Content-Type: application/json", "-H", `Authorization: Bearer ${admin}`, "-d", '{"id":"tls-1"}', `${svc.url}/bulkhead.network.v1.PartitionService/GetPartition`]);
  assert.is(JSON.parse(stdout).partition.name, "over TLS");
});

test("cleartext and untrusted clients are refused", async ({ svc, admin }) => {
  const untrusted = await createServiceClient(PartitionService, { baseUrl: svc.url, token: admin })
    .getPartition({ id: "tls-1" })
    .then(() => undefined, (error) => ConnectError.from(error));
  assert.ok(untrusted, "a client that does not trust the certificate fails");
  assert.match(untrusted!.message, /certificate/i);
  const cleartext = await createServiceClient(PartitionService, { baseUrl: svc.url.replace("https:", "http:"), token: admin, protocol: "grpc", timeoutMs: 2000 })
    .getPartition({ id: "tls-1" })
    .then(() => undefined, (error) => ConnectError.from(error));
  assert.ok(cleartext, "a cleartext call fails");
});

test("a client naming its peer accepts only a certificate that names it, whatever address it dialled", async ({ svc, ca, admin }) => {
  const call = (peerName: string) =>
    createServiceClient(PartitionService, { baseUrl: svc.url, token: admin, ca, protocol: "grpc", peerName })
      .getPartition({ id: "tls-1" })
      .then((r) => r.partition?.name, (error) => ConnectError.from(error).message);
  assert.is(await call("leaf01"), "over TLS");
  assert.match(await call("leaf02") ?? "", "the peer's certificate does not name leaf02 (it names IP Address:127.0.0.1, DNS:leaf01)");
});

test.run();
