// Bad input against every RPC of every service (agents aside): garbage bodies in the binary and
// JSON encodings and oversize messages, as an administrator. Refused with a client error — never
// a 5xx.
import type { DescMethod } from "@bufbuild/protobuf";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Rng } from "@bulkhead/testkit";
import { startStack, type Stack } from "./stack.js";

const test = suite<{ s: Stack }>("fuzz", {} as never);
test.before(async (ctx) => {
  ctx.s = await startStack();
});
test.after(async (ctx) => ctx.s?.stop());

test("garbage bodies and oversize messages: refused with a client error, never a 5xx", async ({ s }) => {
  const rng = new Rng(7);
  let tried = 0;
  for (const service of s.services) {
    const url = s.urlOf(service);
    for (const method of service.methods as DescMethod[]) {
      for (const [type, body] of [
        ["application/proto", Uint8Array.from({ length: 1 + rng.int(200) }, () => rng.int(256))],
        ["application/json", '{"project": 12, "name": [}'],
        ["application/json", JSON.stringify({ unknownField: true, id: { nested: [1, 2, 3] } })],
      ] as const) {
        const res = await fetch(`${url}/${service.typeName}/${method.name}`, { method: "POST", headers: { "Content-Type": type, Authorization: `Bearer ${s.f.admin}` }, body });
        tried++;
        assert.ok(res.status < 500, `${service.typeName}/${method.name} ${type}: HTTP ${res.status} ${await res.text()}`);
      }
    }
    const first = service.methods[0]!;
    const huge = new Uint8Array(5 * 1024 * 1024).fill(0x41);
    const res = await fetch(`${url}/${service.typeName}/${first.name}`, { method: "POST", headers: { "Content-Type": "application/proto", Authorization: `Bearer ${s.f.admin}` }, body: huge });
    const answer = await res.text();
    assert.ok(res.status < 500 && /resource_exhausted/.test(answer), `${service.typeName}: a 5 MiB message is refused by the size limit (HTTP ${res.status} ${answer.slice(0, 200)})`);
    tried++;
  }
  console.log(`fuzz: ${tried} garbage and oversize bodies`);
});

test.run();
