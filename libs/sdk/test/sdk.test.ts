// One factory, every service, from Node (gRPC, Connect) and browsers (Connect-Web over fetch),
// against real services; and the README's runnable example.
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code, ConnectError } from "@connectrpc/connect";
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
