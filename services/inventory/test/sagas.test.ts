// Allocation and freeing span this service's database and the network service. These tests break
// them in the middle — a lost answer, a killed process — and check that no IP or ASN leaks.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { MachineService, MachineState } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { createServiceClient } from "@bulkhead/service-kit";
import { startServiceProcess } from "@bulkhead/testkit";
import { failure, startFabric, type Fabric } from "./harness.js";

/** Lets the named network-service call through, then loses its answer while armed. */
function loseAnswerOf(method: string, when: (req: Record<string, unknown>) => boolean = () => true) {
  const armed = { on: false };
  const interceptor: Interceptor = (next) => async (req) => {
    const res = await next(req);
    if (armed.on && req.method.name === method && when(req.message as Record<string, unknown>)) throw new ConnectError("connection lost", Code.Unavailable);
    return res;
  };
  return { interceptor, armed };
}

const count = async (f: Fabric, sql: string) => Number((await f.inventory.service.pool.query(sql)).rows[0].count);
const until = async (done: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 100 && !(await done()); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok(await done(), what);
};
const projectIps = async (f: Fabric) => (await f.ips.listIPs({ project: f.projectA })).ips.length;
const allocation = (f: Fabric, extra: Record<string, string> = {}) => ({
  project: f.projectA,
  partition: "fra1",
  machine: "m1",
  hostname: "web",
  image: "ubuntu-24-04",
  networks: [{ network: f.netA.id, autoAcquire: true }, { network: "internet", autoAcquire: true }],
  ...extra,
});

// --- the network service's answer is lost ---

const lost = suite<{ f: Fabric; ipv6: ReturnType<typeof loseAnswerOf>; release: ReturnType<typeof loseAnswerOf> }>("sagas: the network service fails mid-way", {} as never);
lost.before(async (ctx) => {
  ctx.ipv6 = loseAnswerOf("AllocateIP", (m) => m.addressFamily === 2);
  ctx.release = loseAnswerOf("ReleaseIP");
  ctx.f = await startFabric({ networkInterceptors: [ctx.ipv6.interceptor, ctx.release.interceptor] });
  await ctx.f.register("m1", [["leaf01", "Eth1/1"], ["leaf02", "Eth1/1"]]);
});
lost.after(async (ctx) => ctx.f?.stop());

lost("a lost answer after two of three addresses releases all of them, the ASN and the machine", async ({ f, ipv6 }) => {
  const editor = await f.editor(f.projectA);
  ipv6.armed.on = true;
  const error = await failure(editor.allocateMachine(allocation(f)));
  ipv6.armed.on = false;
  assert.is(error.code, Code.Unavailable, "the caller learns the allocation failed");
  assert.is(await projectIps(f), 0, "the IPv4 and the IPv6 address the network service handed out were released");
  assert.is(await count(f, "SELECT count(*) FROM allocations"), 0, "no allocation, no ASN");
  assert.is((await f.machines.getMachine({ id: "m1" })).machine?.state, MachineState.REGISTERED);
  assert.is(await count(f, "SELECT count(*) FROM outbox WHERE topic = 'machine.allocated'"), 0, "no event for what did not happen");
  const ok = (await editor.allocateMachine(allocation(f))).machine!;
  assert.is(ok.allocation?.networks.flatMap((n) => n.ips).length, 3);
});

lost("a free whose release answer is lost is finished by the sweeper", async ({ f, release }) => {
  const editor = await f.editor(f.projectA);
  release.armed.on = true;
  assert.is((await failure(editor.freeMachine({ project: f.projectA, id: "m1" }))).code, Code.Unavailable);
  release.armed.on = false;
  assert.is((await f.machines.getMachine({ id: "m1" })).machine?.state, MachineState.FREEING, "the free is pending, not forgotten");
  await until(async () => (await f.machines.getMachine({ id: "m1" })).machine?.state === MachineState.REGISTERED, "the sweeper finished the free");
  assert.is(await projectIps(f), 0);
  assert.is(await count(f, "SELECT count(*) FROM allocations"), 0);
});

lost.run();

// --- the inventory process is killed between steps ---

const crash = suite<{ f: Fabric }>("sagas: process killed between steps", {} as never);
crash.before(async (ctx) => {
  // A long timeout, so that the retry below comes before the sweeper.
  ctx.f = await startFabric({ env: { BULKHEAD_SAGA_TIMEOUT_MS: "3000" } });
  await ctx.f.register("m1", [["leaf01", "Eth1/1"], ["leaf02", "Eth1/1"]]);
});
crash.after(async (ctx) => ctx.f?.stop());

/** A second inventory process on the same database that dies right after taking the IPs. */
async function dyingAllocation(f: Fabric, request: ReturnType<typeof allocation>): Promise<void> {
  const dying = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...f.inventory.env, BULKHEAD_LOG_LEVEL: "error", BULKHEAD_FAILPOINTS: "inventory.allocate.after-ips=exit" });
  const token = await f.inventory.projectToken(f.projectA, "editor");
  assert.ok(await failure(createServiceClient(MachineService, { baseUrl: dying.url, token, protocol: "grpc" }).allocateMachine(request)), "the process died mid-call");
  await dying.stop();
  assert.is(await projectIps(f), 3, "the addresses were taken before the crash");
}

crash("killed after taking the IPs: a retry with the same request_id finishes the allocation with them", async ({ f }) => {
  const request = allocation(f, { requestId: "web-1" });
  await dyingAllocation(f, request);
  const agent = f.inventory.client(MachineService, await f.inventory.agentToken("m1"));
  assert.is((await agent.getMachineView({ device: "m1" })).machine?.allocation, undefined, "half an allocation is none in the machine's view (nothing is rendered from it)");
  const taken = (await f.ips.listIPs({ project: f.projectA })).ips.map((ip) => ip.ip).sort();
  const machine = (await (await f.editor(f.projectA)).allocateMachine(request)).machine!;
  assert.equal(machine.allocation?.networks.flatMap((n) => n.ips).sort(), taken, "the same addresses, no second set");
  assert.ok((await agent.getMachineView({ device: "m1" })).machine?.allocation, "finished, it is the machine's");
  assert.is(await projectIps(f), 3);
  assert.is(await count(f, "SELECT count(*) FROM outbox WHERE topic = 'machine.allocated'"), 1);
  await (await f.editor(f.projectA)).freeMachine({ project: f.projectA, id: "m1" });
  assert.is(await projectIps(f), 0);
});

crash("killed without a retry: the sweeper releases the IPs and the ASN and frees the machine", async ({ f }) => {
  await dyingAllocation(f, allocation(f));
  await until(async () => (await projectIps(f)) === 0, "the sweeper released the orphaned addresses");
  await until(async () => (await count(f, "SELECT count(*) FROM allocations")) === 0, "and dropped the allocation with its ASN");
  assert.is((await f.machines.getMachine({ id: "m1" })).machine?.state, MachineState.REGISTERED);
});

crash.run();
