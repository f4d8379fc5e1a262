import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { overlaps, parsePrefix } from "@bulkhead/netaddr";
import { count, failure, startWorld, type World } from "./harness.js";

const test = suite<{ w: World }>("network concurrency", {} as never);
test.before(async (ctx) => {
  // A VRF pool of 40 for 32 parallel allocations and an exhaustion test.
  ctx.w = await startWorld({ env: { BULKHEAD_VRF_MIN: "100", BULKHEAD_VRF_MAX: "139", BULKHEAD_DB_POOL_SIZE: "20" } });
});
test.after(async (ctx) => ctx.w?.stop());

test("32 parallel allocations get distinct VRFs and non-overlapping prefixes", async ({ w }) => {
  const results = await Promise.all(
    Array.from({ length: 32 }, (_, i) => (i % 2 ? w.editorA : w.editorB).networks.allocateNetwork({ project: i % 2 ? w.projectA : w.projectB, partition: "fra1", name: `n${i}`, addressFamily: AddressFamily.IPV4 })),
  );
  const networks = results.map((r) => r.network!);
  assert.is(new Set(networks.map((n) => n.vrf)).size, 32);
  assert.ok(networks.every((n) => n.vrf >= 100 && n.vrf <= 139));
  const prefixes = networks.map((n) => parsePrefix(n.prefixes[0]!)!);
  for (let i = 0; i < prefixes.length; i++) for (let j = i + 1; j < prefixes.length; j++) assert.not.ok(overlaps(prefixes[i]!, prefixes[j]!), `${networks[i]!.prefixes} / ${networks[j]!.prefixes}`);
});

test("an exhausted VRF pool is resource_exhausted and leaves nothing behind", async ({ w }) => {
  const children = async () => (await w.ipam.listPrefixes({ parentCidr: "10.0.0.0/16", pageSize: 1000 })).prefixes.length;
  const made = [];
  for (;;) {
    const result = await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "filler", addressFamily: AddressFamily.IPV4 }).catch((e) => e);
    if (!("network" in result)) {
      assert.is(result.code, Code.ResourceExhausted);
      assert.match(result.message, "VRF pool 100-139");
      break;
    }
    made.push(result.network);
  }
  assert.is(made.length, 8);
  const before = await children();
  assert.is((await failure(w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "one too many" }))).code, Code.ResourceExhausted);
  assert.is(await children(), before);
  assert.is(await count(w.network, "SELECT count(*) FROM networks WHERE state <> 'ready'"), 0);
  assert.equal((await w.networks.getVrfPool({})), { ...(await w.networks.getVrfPool({})), min: 100, max: 139, acquired: 40 });
});

test("the same request_id sent in parallel allocates one network", async ({ w }) => {
  await w.editorA.networks.deleteNetwork({ id: (await w.editorA.networks.listNetworks({ project: w.projectA, labels: {} })).networks.find((n) => n.name === "filler")!.id, project: w.projectA });
  const results = await Promise.all(Array.from({ length: 8 }, () => w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "once", requestId: "same", addressFamily: AddressFamily.IPV4 })));
  assert.is(new Set(results.map((r) => r.network!.id)).size, 1);
  assert.is(await count(w.network, "SELECT count(*) FROM networks WHERE name = 'once'"), 1);
});

test.run();
