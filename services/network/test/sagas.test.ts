// Allocation and freeing span this service's database and IPAM. These tests break them in the
// middle and check that nothing leaks: no orphan prefix, VRF or address, and retries return the
// original result.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { createTestDatabase, testValkeyUrl, type TestDatabase } from "@bulkhead/db/testing";
import { ipamService } from "@bulkhead/ipam";
import { createServiceClient, signToken } from "@bulkhead/service-kit";
import { randomSecret, startServiceProcess, startTestService, type TestService } from "@bulkhead/testkit";
import { count, failure, startWorld, type World } from "./harness.js";

/** Lets the named IPAM method reach IPAM, then loses its answer — the worst case for a saga. */
function loseAnswerOf(method: string, when: (req: unknown) => boolean = () => true): { interceptor: Interceptor; armed: { on: boolean } } {
  const armed = { on: false };
  const interceptor: Interceptor = (next) => async (req) => {
    const res = await next(req);
    if (armed.on && req.method.name === method && when(req.message)) throw new ConnectError("connection lost", Code.Unavailable);
    return res;
  };
  return { interceptor, armed };
}

const children = async (w: World, parent: string) => (await w.ipam.listPrefixes({ parentCidr: parent, pageSize: 1000 })).prefixes.length;

const lost = suite<{ w: World; childFault: ReturnType<typeof loseAnswerOf>; ipFault: ReturnType<typeof loseAnswerOf> }>("sagas: IPAM fails mid-way", {} as never);

lost.before(async (ctx) => {
  ctx.childFault = loseAnswerOf("AcquireChildPrefix", (m) => (m as { parentCidr: string }).parentCidr.includes(":"));
  ctx.ipFault = loseAnswerOf("AcquireIP");
  ctx.w = await startWorld({ ipamInterceptors: [ctx.childFault.interceptor, ctx.ipFault.interceptor] });
});
lost.after(async (ctx) => ctx.w?.stop());

lost("a failure after IPAM cut both prefixes releases them and the VRF; nothing is left", async ({ w, childFault }) => {
  const before = { v4: await children(w, "10.0.0.0/16"), v6: await children(w, "2001:db8::/48"), vrfs: await count(w.network, "SELECT count(*) FROM vrfs") };
  childFault.armed.on = true;
  const error = await failure(w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "doomed" }));
  childFault.armed.on = false;
  assert.is(error.code, Code.Unavailable);
  assert.is(await children(w, "10.0.0.0/16"), before.v4, "the IPv4 child was released");
  assert.is(await children(w, "2001:db8::/48"), before.v6, "the IPv6 child IPAM cut before the answer was lost was released");
  assert.is(await count(w.network, "SELECT count(*) FROM vrfs"), before.vrfs);
  assert.is(await count(w.network, "SELECT count(*) FROM networks WHERE name = 'doomed'"), 0);
  assert.is(await count(w.network, "SELECT count(*) FROM outbox WHERE topic = 'network.allocated'"), 0, "no event for what did not happen");
  const ok = (await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "fine" })).network!;
  assert.equal(ok.prefixes, ["10.0.0.0/22", "2001:db8::/64"], "the released blocks are the first ones again");
});

lost("an update whose removed prefix IPAM cannot confirm deleting keeps its change and its added prefix; the release is retried", async ({ w }) => {
  const deletes = loseAnswerOf("DeletePrefix");
  const w2 = await startWorld({ ipamInterceptors: [deletes.interceptor] });
  try {
    const inRoot = async () => (await w2.ipam.listPrefixes({ topLevelOnly: true })).prefixes.map((p) => p.cidr);
    await w2.networks.updateNetwork({ id: "internet", addPrefixes: ["198.51.100.0/24"] });
    deletes.armed.on = true;
    const updated = (await w2.networks.updateNetwork({ id: "internet", addPrefixes: ["203.0.113.0/24"], removePrefixes: ["198.51.100.0/24"] })).network!;
    deletes.armed.on = false;
    assert.equal(updated.prefixes.sort(), ["185.1.2.0/24", "203.0.113.0/24"], "the change is made");
    assert.ok((await inRoot()).includes("203.0.113.0/24"), "the added prefix the row lists stays in IPAM");
    assert.not.ok((await inRoot()).includes("198.51.100.0/24"), "IPAM deleted the removed one (only its answer was lost)");
    assert.is(await count(w2.network, "SELECT count(*) FROM networks WHERE update_saga IS NOT NULL"), 1, "the release is left to the sweeper");
  } finally {
    await w2.stop();
  }
  void w;
});

lost("a lost AcquireIP answer releases the address", async ({ w, ipFault }) => {
  const usage = async () => (await w.ipam.getPrefixUsage({ cidrs: ["185.1.2.0/24"] })).prefixes[0]!.acquiredIps;
  const before = await usage();
  ipFault.armed.on = true;
  assert.is((await failure(w.editorA.ips.allocateIP({ project: w.projectA, network: "internet" }))).code, Code.Unavailable);
  ipFault.armed.on = false;
  assert.is(await usage(), before);
  assert.is(await count(w.network, "SELECT count(*) FROM ips"), 0);
});

lost.run();

// --- the network service killed between steps ---

const crash = suite<{ ipam: TestService; db: TestDatabase; secret: string; env: Record<string, string>; admin: string; project: string }>("sagas: process killed between steps", {} as never);

crash.before(async (ctx) => {
  ctx.secret = randomSecret();
  ctx.ipam = await startTestService(ipamService, { secret: ctx.secret });
  ctx.db = await createTestDatabase("network_crash");
  ctx.env = {
    DATABASE_URL: ctx.db.url,
    VALKEY_URL: testValkeyUrl(),
    BULKHEAD_JWT_SECRET: ctx.secret,
    BULKHEAD_IPAM_URL: ctx.ipam.url,
    BULKHEAD_SAGA_TIMEOUT_MS: "1000",
    BULKHEAD_QUEUE_PREFIX: ctx.ipam.queuePrefix,
  };
  ctx.admin = await signToken(ctx.ipam.tokens, { kind: "user", subject: "admin", roles: ["admin"] });
  const svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), ctx.env);
  const client = <T extends Parameters<typeof createServiceClient>[0]>(desc: T) => createServiceClient(desc, { baseUrl: svc.url, token: ctx.admin, protocol: "grpc" });
  await client(PartitionService).createPartition({ id: "fra1", name: "fra1" });
  await client(TenantService).createTenant({ id: "acme", name: "ACME" });
  ctx.project = (await client(ProjectService).createProject({ tenant: "acme", name: "p" })).project!.id;
  await client(NetworkService).createNetwork({ id: "super", name: "super", type: NetworkType.SUPER, partition: "fra1", prefixes: ["10.0.0.0/16"], defaultChildPrefixLength: { ipv4: 24 } });
  await client(NetworkService).createNetwork({ id: "internet", name: "internet", type: NetworkType.EXTERNAL, prefixes: ["185.1.2.0/24"], vrf: 104009 });
  await svc.stop();
});
crash.after(async (ctx) => {
  await ctx.db?.drop();
  await ctx.ipam?.stop();
});

const networkClient = (url: string, token: string) => createServiceClient(NetworkService, { baseUrl: url, token, protocol: "grpc" });

crash("killed after IPAM cut the prefix: a retry with the same request_id returns the network, with no second prefix", async (ctx) => {
  const ipam = ctx.ipam.client(IpamService, await ctx.ipam.adminToken());
  const dying = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...ctx.env, BULKHEAD_FAILPOINTS: "network.allocate.after-prefixes=exit" });
  const request = { project: ctx.project, partition: "fra1", name: "survivor", requestId: "alloc-1" };
  assert.ok(await failure(networkClient(dying.url, ctx.admin).allocateNetwork(request)), "the process died mid-call");
  await dying.stop();
  const cut = (await ipam.listPrefixes({ parentCidr: "10.0.0.0/16" })).prefixes;
  assert.is(cut.length, 1, "IPAM did cut a prefix before the crash");

  // The retry, not the sweeper, finishes this saga: however slow the restart, the saga is not yet stale.
  const svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...ctx.env, BULKHEAD_SAGA_TIMEOUT_MS: "600000" });
  try {
    const network = (await networkClient(svc.url, ctx.admin).allocateNetwork(request)).network!;
    assert.equal(network.prefixes, [cut[0]!.cidr], "the retry finished the saga with the prefix cut before the crash");
    assert.is((await ipam.listPrefixes({ parentCidr: "10.0.0.0/16" })).prefixes.length, 1, "no second prefix");
    const again = (await networkClient(svc.url, ctx.admin).allocateNetwork(request)).network!;
    assert.is(again.id, network.id);
    await networkClient(svc.url, ctx.admin).deleteNetwork({ id: network.id });
  } finally {
    await svc.stop();
  }
});

crash("killed without a retry: the sweeper compensates — prefix released, VRF free, no row", async (ctx) => {
  const ipam = ctx.ipam.client(IpamService, await ctx.ipam.adminToken());
  const dying = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...ctx.env, BULKHEAD_FAILPOINTS: "network.allocate.after-prefixes=exit" });
  await failure(networkClient(dying.url, ctx.admin).allocateNetwork({ project: ctx.project, partition: "fra1", name: "abandoned" }));
  await dying.stop();
  assert.is((await ipam.listPrefixes({ parentCidr: "10.0.0.0/16" })).prefixes.length, 1);

  const svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), ctx.env);
  try {
    for (let i = 0; i < 60 && (await ipam.listPrefixes({ parentCidr: "10.0.0.0/16" })).prefixes.length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.is((await ipam.listPrefixes({ parentCidr: "10.0.0.0/16" })).prefixes.length, 0, "the sweeper released the orphan prefix");
    const rows = await networkClient(svc.url, ctx.admin).listNetworks({});
    assert.not.ok(rows.networks.some((n) => n.name === "abandoned"));
    assert.is((await networkClient(svc.url, ctx.admin).getVrfPool({})).acquired, 1, "only the internet network's VRF is in use");
  } finally {
    await svc.stop();
  }
});

crash("killed while freeing or while taking an IP: the sweeper completes the free and releases the address", async (ctx) => {
  const ipam = ctx.ipam.client(IpamService, await ctx.ipam.adminToken());
  let svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...ctx.env, BULKHEAD_FAILPOINTS: "network.free.after-prefixes=exit,network.ip.after-acquire=exit" });
  const net = (await networkClient(svc.url, ctx.admin).allocateNetwork({ project: ctx.project, partition: "fra1", name: "to-free" })).network!;
  await failure(networkClient(svc.url, ctx.admin).deleteNetwork({ id: net.id }));
  await svc.stop();
  svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...ctx.env, BULKHEAD_FAILPOINTS: "network.ip.after-acquire=exit" });
  await failure(createServiceClient(IPService, { baseUrl: svc.url, token: ctx.admin, protocol: "grpc" }).allocateIP({ project: ctx.project, network: "internet" }));
  await svc.stop();
  assert.is((await ipam.getPrefixUsage({ cidrs: ["185.1.2.0/24"] })).prefixes[0]?.acquiredIps, 1n, "IPAM handed out the address before the crash");

  svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), ctx.env);
  try {
    const settled = async () => (await ipam.getPrefixUsage({ cidrs: ["185.1.2.0/24"] })).prefixes[0]?.acquiredIps === 0n && !(await networkClient(svc.url, ctx.admin).listNetworks({})).networks.some((n) => n.id === net.id);
    for (let i = 0; i < 60 && !(await settled()); i++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(await settled(), "the free finished and the address was released");
    assert.is((await ipam.listPrefixes({ parentCidr: "10.0.0.0/16" })).prefixes.length, 0);
  } finally {
    await svc.stop();
  }
});

crash("an update killed after IPAM took its added prefix, or before it released a removed one: the sweeper finishes both", async (ctx) => {
  const ipam = ctx.ipam.client(IpamService, await ctx.ipam.adminToken());
  const inRoot = async () => (await ipam.listPrefixes({ topLevelOnly: true })).prefixes.map((p) => p.cidr);
  let svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...ctx.env, BULKHEAD_FAILPOINTS: "network.update.after-prefixes=exit" });
  await failure(networkClient(svc.url, ctx.admin).updateNetwork({ id: "internet", addPrefixes: ["198.51.100.0/24"] }));
  await svc.stop();
  assert.ok((await inRoot()).includes("198.51.100.0/24"), "IPAM has the added prefix; the row does not list it");

  svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...ctx.env, BULKHEAD_FAILPOINTS: "network.update.before-release=exit" });
  for (let i = 0; i < 60 && (await inRoot()).includes("198.51.100.0/24"); i++) await new Promise((r) => setTimeout(r, 100));
  assert.not.ok((await inRoot()).includes("198.51.100.0/24"), "the sweeper deleted the prefix the row never listed");
  assert.equal((await networkClient(svc.url, ctx.admin).getNetwork({ id: "internet" })).network?.prefixes, ["185.1.2.0/24"]);
  await networkClient(svc.url, ctx.admin).updateNetwork({ id: "internet", addPrefixes: ["203.0.113.0/24"] });
  await failure(networkClient(svc.url, ctx.admin).updateNetwork({ id: "internet", removePrefixes: ["203.0.113.0/24"] }));
  await svc.stop();
  assert.ok((await inRoot()).includes("203.0.113.0/24"), "killed after the row dropped it, before IPAM did");

  svc = await startServiceProcess(new URL("../src/main.ts", import.meta.url), ctx.env);
  try {
    assert.equal((await networkClient(svc.url, ctx.admin).getNetwork({ id: "internet" })).network?.prefixes, ["185.1.2.0/24"], "the removal was made");
    for (let i = 0; i < 60 && (await inRoot()).includes("203.0.113.0/24"); i++) await new Promise((r) => setTimeout(r, 100));
    assert.not.ok((await inRoot()).includes("203.0.113.0/24"), "the sweeper released the removed prefix");
    assert.ok((await inRoot()).includes("185.1.2.0/24"));
  } finally {
    await svc.stop();
  }
});

crash.run();
