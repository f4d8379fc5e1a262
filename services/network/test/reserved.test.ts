// Reserved VNIs (BULKHEAD_RESERVED_VNIS, by default the PXE segment's 104000) are never a
// network's: the pool skips them, an external network may not name one, and a service refuses to
// start while a network holds one.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { startService } from "@bulkhead/service-kit";
import { count, failure, startWorld, type World } from "./harness.js";
import { createNetworkService, reservedVnis } from "../src/service.js";

const test = suite<{ w: World }>("reserved VNIs", {} as never);
test.before(async (ctx) => {
  // A pool of five around the PXE VNI, two of them reserved.
  ctx.w = await startWorld({ env: { BULKHEAD_VRF_MIN: "103998", BULKHEAD_VRF_MAX: "104002", BULKHEAD_RESERVED_VNIS: "104000, 104001" } });
});
test.after(async (ctx) => ctx.w?.stop());

test("the pool never hands out a reserved VNI", async ({ w }) => {
  const vrfs = [];
  for (let i = 0; i < 3; i++) vrfs.push((await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: `n${i}`, addressFamily: AddressFamily.IPV4 })).network!.vrf);
  assert.equal(vrfs.sort(), [103998, 103999, 104002]);
  const full = await failure(w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "one more", addressFamily: AddressFamily.IPV4 }));
  assert.is(full.code, Code.ResourceExhausted, "the two reserved ones are not free");
});

test("an external network may not name a reserved VNI; nothing is written", async ({ w }) => {
  const before = await count(w.network, "SELECT count(*) FROM networks");
  const e = await failure(w.networks.createNetwork({ id: "pxe-clash", name: "clash", type: NetworkType.EXTERNAL, prefixes: ["192.0.2.0/24"], destinationPrefixes: ["0.0.0.0/0"], vrf: 104000 }));
  assert.is(e.code, Code.InvalidArgument);
  assert.match(e.rawMessage, /vrf: VRF 104000 is reserved/);
  assert.is(await count(w.network, "SELECT count(*) FROM networks"), before);
  assert.is(await count(w.ipamService, "SELECT count(*) FROM prefixes WHERE cidr = '192.0.2.0/24'"), 0);
});

test("a service refuses to start while a network holds a VNI it is told to reserve", async ({ w }) => {
  const error = await startService(createNetworkService(), { ...w.network.env, PORT: "0", BULKHEAD_RESERVED_VNIS: "104009" }).then(
    async (s) => {
      await s.stop();
      return undefined;
    },
    (e: Error) => e,
  );
  assert.ok(error, "it started");
  assert.match(error!.message, /network internet holds VRF 104009, which is reserved/);
});

test("the setting is read strictly", () => {
  assert.equal(reservedVnis("104000, 7,7"), [7, 104000]);
  assert.throws(() => reservedVnis("104000,x,0"), /x, 0 are not VNIs/);
});

test.run();
