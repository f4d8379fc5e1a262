// Bad input against every RPC of every service (agents aside): garbage bodies in the binary and
// JSON encodings and oversize messages, as an administrator. Refused with a client error — never
// a 5xx.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { bulkheadServices } from "@bulkhead/api";
import { firewallPolicyService } from "@bulkhead/firewall-policy";
import { startFabric, type Fabric } from "@bulkhead/inventory/testing";
import { peeringService } from "@bulkhead/peering";
import { reconcilerService } from "@bulkhead/reconciler";
import { startTestService, type TestService } from "@bulkhead/testkit";

/** A small deterministic generator (mulberry32) for the garbage bodies. */
class Rng {
  constructor(private state: number) {}
  int(n: number): number {
    let t = (this.state += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n);
  }
}

const test = suite<{ f: Fabric; peering: TestService; policy: TestService; reconciler: TestService; urls: Map<string, string> }>("fuzz", {} as never);

test.before(async (ctx) => {
  ctx.f = await startFabric();
  const secret = ctx.f.inventory.tokens.secret;
  ctx.peering = await startTestService(peeringService, { secret, env: { BULKHEAD_NETWORK_URL: ctx.f.network.url, BULKHEAD_INVENTORY_URL: ctx.f.inventory.url } });
  ctx.policy = await startTestService(firewallPolicyService, { secret, env: { BULKHEAD_NETWORK_URL: ctx.f.network.url, BULKHEAD_INVENTORY_URL: ctx.f.inventory.url } });
  ctx.reconciler = await startTestService(reconcilerService, {
    secret,
    env: { BULKHEAD_INVENTORY_URL: ctx.f.inventory.url, BULKHEAD_NETWORK_URL: ctx.f.network.url, BULKHEAD_PEERING_URL: ctx.peering.url, BULKHEAD_FIREWALL_POLICY_URL: ctx.policy.url, BULKHEAD_FULL_RESYNC_MS: "3600000" },
  });
  const byPackage: Record<string, string> = {
    "bulkhead.ipam.v1": ctx.f.ipam.url,
    "bulkhead.network.v1": ctx.f.network.url,
    "bulkhead.inventory.v1": ctx.f.inventory.url,
    "bulkhead.peering.v1": ctx.peering.url,
    "bulkhead.firewall.v1": ctx.policy.url,
    "bulkhead.fabric.v1": ctx.reconciler.url,
    // Every service with storage serves its own audit log.
    "bulkhead.audit.v1": ctx.f.network.url,
  };
  ctx.urls = new Map(Object.entries(byPackage));
});
test.after(async (ctx) => {
  await ctx.reconciler?.stop();
  await ctx.policy?.stop();
  await ctx.peering?.stop();
  await ctx.f?.stop();
});

const servicesUnderTest = (urls: Map<string, string>) => bulkheadServices.filter((s) => urls.has(s.typeName.slice(0, s.typeName.lastIndexOf("."))));
const urlOf = (urls: Map<string, string>, s: DescService) => urls.get(s.typeName.slice(0, s.typeName.lastIndexOf(".")))!;

test("garbage bodies and oversize messages: refused with a client error, never a 5xx", async (ctx) => {
  const rng = new Rng(7);
  let tried = 0;
  for (const service of servicesUnderTest(ctx.urls)) {
    const url = urlOf(ctx.urls, service);
    for (const method of service.methods as DescMethod[]) {
      for (const [type, body] of [
        ["application/proto", Uint8Array.from({ length: 1 + rng.int(200) }, () => rng.int(256))],
        ["application/json", '{"project": 12, "name": [}'],
        ["application/json", JSON.stringify({ unknownField: true, id: { nested: [1, 2, 3] } })],
      ] as const) {
        const res = await fetch(`${url}/${service.typeName}/${method.name}`, { method: "POST", headers: { "Content-Type": type, Authorization: `Bearer ${ctx.f.admin}` }, body });
        tried++;
        assert.ok(res.status < 500, `${service.typeName}/${method.name} ${type}: HTTP ${res.status} ${await res.text()}`);
      }
    }
    const first = service.methods[0]!;
    const huge = new Uint8Array(5 * 1024 * 1024).fill(0x41);
    const res = await fetch(`${url}/${service.typeName}/${first.name}`, { method: "POST", headers: { "Content-Type": "application/proto", Authorization: `Bearer ${ctx.f.admin}` }, body: huge });
    const answer = await res.text();
    assert.ok(res.status < 500 && /resource_exhausted/.test(answer), `${service.typeName}: a 5 MiB message is refused by the size limit (HTTP ${res.status} ${answer.slice(0, 200)})`);
    tried++;
  }
  console.log(`fuzz: ${tried} garbage and oversize bodies`);
});

test.run();
