// Random requests typed by the contracts, to every RPC of every service, as an administrator:
// wrong-but-well-typed values — huge strings, invalid CIDRs and ids, extreme and negative numbers,
// unknown enum values, long lists, deep messages. Never `internal` (or unknown, data loss), every
// service still serving afterwards, and no change of state: mutations are sent only when
// protovalidate rejects them, so each must be refused before it touches anything.
import { create, toBinary, ScalarType, type DescField, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import { Code, ConnectError } from "@connectrpc/connect";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createApiRegistry } from "@bulkhead/api";
import type { TestService } from "@bulkhead/testkit";
import { Rng } from "@bulkhead/testkit";
import { anyMethodClient, startStack, type Stack } from "./stack.js";

const PER_METHOD = Number(process.env.BULKHEAD_FUZZ_PER_METHOD ?? 24);
const MAX_REQUEST_BYTES = 1 << 20;
const validator = createValidator({ registry: createApiRegistry() });

const STRINGS = ["", "a", "fra1", "demo", "10.0.0.0/33", "10.0.0.0/8", "::/129", "2001:db8::/200", "999.1.1.1", "not an id!", "-1", "00000000-0000-0000-0000-000000000000", "'; DROP TABLE networks; --", "../../etc/passwd", "ünïcødé-☃", "x".repeat(70_000), "a,b;c|d"];
const INT32 = [0, -1, 1, 2147483647, -2147483648, 4094, 65536];
const UINT32 = [0, 1, 4294967295, 2147483648, 33, 129];
const INT64 = [0n, -1n, 9223372036854775807n, -9223372036854775808n];
const UINT64 = [0n, 1n, 18446744073709551615n];

function scalar(rng: Rng, type: ScalarType): unknown {
  switch (type) {
    case ScalarType.STRING:
      return rng.pick(STRINGS);
    case ScalarType.BOOL:
      return rng.next() < 0.5;
    case ScalarType.BYTES:
      return Uint8Array.from({ length: rng.int(64) }, () => rng.int(256));
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return rng.pick(INT64);
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return rng.pick(UINT64);
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return rng.pick(UINT32);
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return rng.pick([0, -1, 1e308, Number.NaN]);
    default:
      return rng.pick(INT32);
  }
}

function value(rng: Rng, field: DescField, depth: number): unknown {
  const one = (): unknown => {
    switch (field.fieldKind) {
      case "scalar":
        return scalar(rng, field.scalar);
      case "enum":
        return rng.next() < 0.2 ? 99 : rng.pick(field.enum.values).number;
      case "message":
        return message(rng, field.message, depth + 1);
      default:
        return undefined;
    }
  };
  if (field.fieldKind === "list") {
    // Long lists of scalars; lists of messages stay short enough to validate quickly.
    const n = rng.pick(field.listKind === "message" ? [0, 1, 3, 50] : [0, 1, 3, 2000]);
    const item = () => (field.listKind === "scalar" ? scalar(rng, field.scalar) : field.listKind === "enum" ? rng.pick(field.enum.values).number : message(rng, field.message, depth + 1));
    return Array.from({ length: depth > 1 ? Math.min(n, 3) : n }, item);
  }
  if (field.fieldKind === "map") {
    const entries = Array.from({ length: rng.pick([0, 2, 300]) }, (_, i) => [`${rng.pick(STRINGS).slice(0, 100)}${i}`, field.mapKind === "scalar" ? scalar(rng, field.scalar) : field.mapKind === "enum" ? 0 : message(rng, field.message, depth + 1)]);
    return Object.fromEntries(entries);
  }
  return one();
}

function message(rng: Rng, desc: DescMessage, depth = 0): Record<string, unknown> {
  const init: Record<string, unknown> = {};
  if (depth > 3) return init;
  for (const member of desc.members) {
    if (rng.next() < 0.3) continue;
    if (member.kind === "oneof") {
      const field = rng.pick(member.fields);
      init[member.localName] = { case: field.localName, value: value(rng, field, depth) };
    } else {
      init[member.localName] = value(rng, member, depth);
    }
  }
  return init;
}

/** A request for `method`: any for reads; for mutations one that protovalidate refuses (or none). */
function requestFor(rng: Rng, method: DescMethod): unknown | undefined {
  const mutates = method.idempotency !== 1; // 1 = NO_SIDE_EFFECTS
  for (let attempt = 0; attempt < 20; attempt++) {
    let request;
    try {
      request = create(method.input, message(rng, method.input) as never);
    } catch {
      continue;
    }
    // Oversize messages are fuzz.test.ts' part (refused by the size limit); here they stay below it.
    if (toBinary(method.input, request).length > MAX_REQUEST_BYTES) continue;
    if (!mutates || validator.validate(method.input, request).kind === "invalid") return request;
  }
  return undefined;
}

async function rowCounts(services: TestService[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const svc of services) {
    const { rows } = await svc.service.pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name NOT IN ('audit_log', 'schema_migrations')");
    for (const { table_name } of rows) counts[`${svc.service.name}.${table_name}`] = Number((await svc.service.pool.query(`SELECT count(*) FROM "${table_name}"`)).rows[0].count);
  }
  return counts;
}

const test = suite<{ s: Stack }>("typed fuzz", {} as never);
test.before(async (ctx) => {
  ctx.s = await startStack();
});
test.after(async (ctx) => ctx.s?.stop());

test("random typed requests: never internal, nothing changed, every service still serving", async ({ s }) => {
  const all = [s.f.ipam, s.f.network, s.f.inventory, s.peering, s.policy, s.reconciler];
  const before = await rowCounts(all);
  const rng = new Rng(20261122);
  const failures: string[] = [];
  const codes = new Map<string, number>();
  let tried = 0;
  for (const service of s.services) {
    const client = anyMethodClient(service, s.urlOf(service), s.f.admin, "grpc");
    for (const method of service.methods as DescMethod[]) {
      const started = performance.now();
      const requests = Array.from({ length: PER_METHOD }, () => requestFor(rng, method)).filter((r) => r !== undefined);
      // Four at a time: some concurrency, without drowning two cores.
      for (let i = 0; i < requests.length; i += 4) {
        await Promise.all(
          requests.slice(i, i + 4).map(async (request) => {
            tried++;
            const code = await client[method.localName]!(request).then(
              () => "ok",
              (error) => {
                const e = ConnectError.from(error);
                if (e.code === Code.Internal || e.code === Code.Unknown || e.code === Code.DataLoss) {
                  failures.push(`${service.typeName}/${method.name}: ${Code[e.code]} ${e.rawMessage.slice(0, 300)}`);
                }
                return Code[e.code];
              },
            );
            codes.set(code, (codes.get(code) ?? 0) + 1);
            if (code === "ok" && method.idempotency !== 1) failures.push(`${service.typeName}/${method.name}: an invalid mutation succeeded`);
          }),
        );
      }
      if (process.env.BULKHEAD_FUZZ_TRACE) console.log(`${method.name} ${requests.length} ${Math.round(performance.now() - started)} ms`);
    }
  }
  assert.equal(failures.slice(0, 20), [], `${failures.length} failures`);
  assert.equal(await rowCounts(all), before, "no state changed");
  for (const svc of all) assert.is((await fetch(`${svc.url}/healthz`)).status, 200, `${svc.service.name} still serves`);
  console.log(`typed fuzz: ${tried} requests; answers ${[...codes].map(([c, n]) => `${c} ${n}`).join(", ")}`);
  assert.ok(tried >= 1500, `${tried} requests`);
});

test.run();
