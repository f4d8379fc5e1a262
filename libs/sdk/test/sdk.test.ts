// One factory, every service, from Node (gRPC, Connect) and browsers (Connect-Web over fetch),
// against real services; and the README's runnable example.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code, ConnectError, createRouterTransport, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { IDEMPOTENCY_HEADER } from "@bulkhead/api/headers";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { buildBulkhead, callInterceptors } from "../src/clients.js";
import { startFabric, type Fabric } from "@bulkhead/inventory/testing";
import { createBulkhead } from "../src/index.js";
import { createBulkhead as createWebBulkhead } from "../src/web.js";

const test = suite<{ f: Fabric }>("sdk", {} as never);
test.before(async (ctx) => {
  ctx.f = await startFabric();
});
test.after(async (ctx) => ctx.f?.stop());

const endpoints = (f: Fabric) => ({ ipam: f.ipam.url, network: f.network.url, inventory: f.inventory.url });

test("Node clients over gRPC and Connect reach every server they are given", async ({ f }) => {
  for (const protocol of ["grpc", "connect"] as const) {
    const bh = createBulkhead({ endpoints: endpoints(f), token: f.admin, protocol });
    assert.equal((await bh.partitions.listPartitions({})).partitions.map((p) => p.id), ["fra1"]);
    assert.ok((await bh.switches.listSwitches({})).switches.some((s) => s.id === "leaf01"), protocol);
    assert.ok((await bh.images.listImages({})).images.length > 0);
    const { network } = await bh.networks.allocateNetwork({ project: f.projectA, partition: "fra1", name: `via-${protocol}` });
    assert.ok(network!.prefixes.length > 0);
  }
});

test("browser clients (Connect-Web on fetch) and a token from a function", async ({ f }) => {
  let asked = 0;
  const bh = createWebBulkhead({ endpoints: endpoints(f), token: async () => (asked++, f.admin) });
  assert.equal((await bh.projects.getProject({ project: f.projectA })).project?.id, f.projectA);
  const grpcWeb = createWebBulkhead({ endpoints: endpoints(f), token: f.admin, protocol: "grpc-web" });
  assert.equal((await grpcWeb.networks.getNetwork({ id: f.netA.id })).network?.vrf, f.netA.vrf);
  assert.is(asked, 1);
});

test("every mutating call carries a fresh idempotency key, reads none; a retry after unavailable reuses it", async () => {
  const seen: { method: string; key: string | null }[] = [];
  let failFirst = true;
  const key = (ctx: HandlerContext, method: string) => seen.push({ method, key: ctx.requestHeader.get(IDEMPOTENCY_HEADER) });
  const routes = (router: ConnectRouter) =>
    router.service(NetworkService, {
      async allocateNetwork(_, ctx) {
        key(ctx, "AllocateNetwork");
        if (failFirst) {
          failFirst = false;
          throw new ConnectError("valkey hiccup", Code.Unavailable);
        }
        return { network: { id: "n1" } };
      },
      async getNetwork(_, ctx) {
        key(ctx, "GetNetwork");
        return { network: { id: "n1" } };
      },
      async deleteNetwork(_, ctx) {
        key(ctx, "DeleteNetwork");
        return {};
      },
    });
  const bh = buildBulkhead({ endpoints: "http://in-memory" }, () => createRouterTransport(routes, { transport: { interceptors: callInterceptors("token") } }));
  await bh.networks.allocateNetwork({ project: "p", partition: "fra1", name: "retried" });
  await bh.networks.getNetwork({ id: "n1" });
  await bh.networks.deleteNetwork({ id: "n1" });
  const [first, retry, get, del] = seen;
  assert.equal(seen.map((s) => s.method), ["AllocateNetwork", "AllocateNetwork", "GetNetwork", "DeleteNetwork"], "retried once after unavailable");
  assert.match(first!.key ?? "", /^[0-9a-f-]{36}$/);
  assert.is(retry!.key, first!.key, "the retry reuses its key");
  assert.is(get!.key, null, "reads carry none");
  assert.ok(del!.key && del!.key !== first!.key, "each call its own");
});

test("errors are the servers' Connect errors; a server without an endpoint is named", async ({ f }) => {
  const bh = createBulkhead({ endpoints: endpoints(f) });
  const unauthenticated = await bh.partitions.listPartitions({}).catch((e: unknown) => ConnectError.from(e));
  assert.is((unauthenticated as ConnectError).code, Code.Unauthenticated);
  assert.throws(() => bh.fabric, /no endpoint for the reconciler server/);
});

test.run();

const example = suite<{ f: Fabric }>("sdk example", {} as never);
example.before(async (ctx) => {
  ctx.f = await startFabric();
});
example.after(async (ctx) => ctx.f?.stop());
example("the README's example runs against an installation", async ({ f }) => {
  const config = join(mkdtempSync(join(tmpdir(), "bh-sdk-")), "cli.json");
  writeFileSync(config, JSON.stringify({ endpoints: endpoints(f), token: f.admin }));
  const script = new URL("../examples/inventory.ts", import.meta.url).pathname;
  const stdout = await new Promise<string>((resolve, reject) => execFile(process.execPath, ["--import", "tsx", script, config], { cwd: new URL("..", import.meta.url).pathname }, (e, out, err) => (e ? reject(new Error(err)) : resolve(out))));
  assert.match(stdout, /^fra1: 4 switches \(leaf01, leaf02, leaf03, spine01\), \d+ networks/);
  assert.match(stdout, `vrf ${f.netA.vrf}`);
});
example.run();
