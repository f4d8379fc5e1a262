// API tenant isolation, generated from the contracts: every RPC of every service is called by
// every kind of principal that is not A's — project B's owner, editor and viewer, a user without
// project claims, an agent of a switch and one of project B's firewall — once naming project A and
// once naming B with A's objects in every field that can refer to one. Each call must be refused (permission_denied or not_found) or, for reads
// that B may make, answer without a trace of A; afterwards A's objects are exactly as before.
// Where a service answers a reference to another project's object as it answers a reference to
// nothing (invalid_argument "there is no network …"), the test proves exactly that: the same call
// with made-up ids gets the same answer, so the API is no oracle for what other projects own.
// Besides: without a token every RPC is unauthenticated; a platform viewer changes nothing; a
// service principal is refused every method that does not admit services.
import { create, toJson, type DescField, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createApiRegistry, methodAccess } from "@bulkhead/api";
import { NetworkPolicyService, Protocol } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { PeeringService, PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { anyMethodClient, startStack, type Stack } from "./stack.js";

const registry = createApiRegistry();
const descOf = (message: { $typeName: string }) => registry.getMessage(message.$typeName)!;

interface World {
  s: Stack;
  a: string;
  b: string;
  /** Scalar values by field name that point at A's objects, per service (`*` for all). */
  refs: Record<string, Record<string, string>>;
  /** Each of A's identifiers → a made-up one of the same form that names nothing. */
  ghosts: Map<string, string>;
  /** Strings that appear only in A's data. */
  secrets: string[];
  /** Principals that are not A's, by what they are. */
  intruders: [string, string][];
}

const test = suite<World>("tenant isolation of the API", {} as never);

test.before(async (ctx) => {
  const s = (ctx.s = await startStack());
  const { f } = s;
  ctx.a = f.projectA;
  ctx.b = f.projectB;
  const netA2 = (await f.networks.allocateNetwork({ project: f.projectA, partition: "fra1", name: "a-net-2" })).network!;
  const ipA = (await f.ips.allocateIP({ project: f.projectA, network: f.netA.id, name: "a-ip" })).ip!;
  await f.register("m-a", [["leaf01", "Eth1/1"], ["leaf02", "Eth1/1"]]);
  await f.machines.allocateMachine({ project: f.projectA, partition: "fra1", machine: "m-a", hostname: "m-a", image: "ubuntu-24-04", networks: [{ network: f.netA.id, autoAcquire: true }] });
  await f.register("fw-a", [["leaf01", "Eth1/2"], ["leaf02", "Eth1/2"]]);
  await f.machines.allocateFirewall({ project: f.projectA, partition: "fra1", machine: "fw-a", hostname: "fw-a", image: "ubuntu-24-04", networks: [{ network: f.netA.id, autoAcquire: true }, { network: "internet", autoAcquire: true }] });
  const peering = (await s.peering.client(PeeringService, f.admin).createPeering({ project: f.projectA, name: "a-to-a2", type: PeeringType.LOCAL, network1: f.netA.id, network2: netA2.id })).peering!;
  const policy = (
    await s.policy.client(NetworkPolicyService, f.admin).createPolicy({ project: f.projectA, spec: { name: "web-out", firewall: "fw-a", egress: [{ to: [{ cidr: "0.0.0.0/0" }], ports: [{ protocol: Protocol.TCP, port: 443 }] }] } })
  ).policy!;
  ctx.refs = {
    "*": { network: f.netA.id, network1: f.netA.id, network2: netA2.id, machine: "m-a", firewall: "fw-a", uuid: ipA.uuid, ips: ipA.uuid, ip: ipA.ip, device: "m-a" },
    "bulkhead.network.v1.NetworkService": { id: f.netA.id, parent_network: f.netA.id },
    "bulkhead.network.v1.IPService": { id: ipA.uuid },
    "bulkhead.inventory.v1.MachineService": { id: "m-a" },
    "bulkhead.peering.v1.PeeringService": { id: peering.id },
    "bulkhead.firewall.v1.NetworkPolicyService": { id: policy.id },
  };
  ctx.ghosts = new Map([
    [f.netA.id, "0b5e7c1e-0000-4000-8000-000000000001"],
    [netA2.id, "0b5e7c1e-0000-4000-8000-000000000002"],
    [ipA.uuid, "0b5e7c1e-0000-4000-8000-000000000003"],
    [peering.id, "0b5e7c1e-0000-4000-8000-000000000004"],
    [policy.id, "0b5e7c1e-0000-4000-8000-000000000005"],
    [ipA.ip, "10.0.250.250"],
    ["m-a", "m-ghost"],
    ["fw-a", "fw-ghost"],
  ]);
  ctx.secrets = [f.projectA, f.netA.id, netA2.id, ipA.uuid, ipA.ip, peering.id, policy.id, "a-net-2", "a-to-a2", "web-out"];
  await f.register("fw-b", [["leaf01", "Eth1/3"], ["leaf02", "Eth1/3"]]);
  const netB = (await f.networks.allocateNetwork({ project: f.projectB, partition: "fra1", name: "b-net" })).network!;
  await f.machines.allocateFirewall({ project: f.projectB, partition: "fra1", machine: "fw-b", hostname: "fw-b", image: "ubuntu-24-04", networks: [{ network: netB.id, autoAcquire: true }, { network: "internet", autoAcquire: true }] });
  ctx.intruders = [
    ["project B's owner", await f.network.projectToken(f.projectB, "owner", "mallory")],
    ["project B's editor", await f.network.projectToken(f.projectB, "editor", "eve")],
    ["project B's viewer", await f.network.projectToken(f.projectB, "viewer", "victor")],
    ["a user without project claims", await f.network.token({ kind: "user", subject: "nemo" })],
    ["the agent of switch leaf03", await f.network.agentToken("leaf03")],
    ["the agent of project B's firewall", await f.network.agentToken("fw-b")],
  ];
});
test.after(async (ctx) => ctx.s?.stop());

/** A's objects as an administrator sees them. */
async function snapshotOfA({ s, a }: World): Promise<string> {
  const { f } = s;
  const parts = await Promise.all([
    f.networks.listNetworks({ project: a }),
    f.ips.listIPs({ project: a }),
    f.machines.listMachines({ project: a }),
    s.peering.client(PeeringService, f.admin).listPeerings({ project: a }),
    s.policy.client(NetworkPolicyService, f.admin).listPolicies({ project: a }),
  ]);
  return JSON.stringify(parts.map((p) => toJson(descOf(p), p as never)));
}

/** The request for `method`: the project, and for every field that can name an object, A's. */
function requestFor(w: World, service: DescService, method: DescMethod, project: string, ghostly = false): { request: unknown; namesA: boolean } {
  const refs = Object.fromEntries(Object.entries({ ...w.refs["*"], ...w.refs[service.typeName] }).map(([k, v]) => [k, ghostly ? (w.ghosts.get(v) ?? v) : v]));
  const init: Record<string, unknown> = {};
  let namesA = project === w.a && method.input.fields.some((f) => f.name === "project");
  const put = (field: DescField, value: unknown) => {
    init[field.localName] = value;
    namesA = true;
  };
  for (const field of method.input.fields) {
    if (field.name === "project") init[field.localName] = project;
    else if (field.fieldKind === "scalar" && field.scalar === 9 /* string */ && refs[field.name]) put(field, refs[field.name]);
    else if (field.fieldKind === "list" && field.listKind === "scalar" && refs[field.name]) put(field, [refs[field.name]]);
    else if (field.fieldKind === "list" && field.listKind === "message" && field.message.typeName === "bulkhead.inventory.v1.NetworkAttachment") put(field, [{ network: refs.network, autoAcquire: true }]);
    else if (field.fieldKind === "message" && field.message.typeName === "bulkhead.firewall.v1.PolicySpec") {
      put(field, { name: "intrusion", firewall: refs.firewall, egress: [{ to: [{ cidr: "0.0.0.0/0" }], ports: [{ protocol: Protocol.TCP, port: 22 }] }] });
    } else if (field.fieldKind === "message" && field.message.typeName === "bulkhead.firewall.v1.FirewallOptions") init[field.localName] = {};
  }
  // Required names and images, so that validation does not hide what the handler would do.
  for (const [name, value] of [["name", "intrusion"], ["hostname", "intrusion"], ["partition", "fra1"], ["image", "ubuntu-24-04"]] as const) {
    const field = method.input.fields.find((f) => f.name === name && f.fieldKind === "scalar");
    if (field && init[field.localName] === undefined) init[field.localName] = value;
  }
  const typeField = method.input.fields.find((f) => f.name === "type" && f.fieldKind === "enum" && f.enum.typeName === "bulkhead.peering.v1.PeeringType");
  if (typeField) init[typeField.localName] = PeeringType.LOCAL;
  return { request: create(method.input, init as never), namesA };
}

/** Every RPC called by `token` naming A (and B with A's objects): what it got that it should not have. */
async function intrusions(w: World, token: string): Promise<{ leaks: string[]; calls: number }> {
  const leaks: string[] = [];
  let calls = 0;
  for (const service of w.s.services) {
    const client = anyMethodClient(service, w.s.urlOf(service), token, "connect");
    for (const method of service.methods as DescMethod[]) {
      const access = methodAccess(method)!;
      const hasProject = method.input.fields.some((f) => f.name === "project");
      for (const project of hasProject ? [w.a, w.b] : [w.b]) {
        // A call naming nothing of A is B acting on its own: only its answer is checked for A's data.
        const { request, namesA } = requestFor(w, service, method, project);
        calls++;
        const rpc = `${service.typeName}/${method.name}(project ${project === w.a ? "A" : "B"})`;
        try {
          const answer = (await client[method.localName]!(request)) as { $typeName: string };
          const text = JSON.stringify(toJson(descOf(answer), answer as never));
          const seen = w.secrets.filter((secret) => text.includes(secret));
          if (seen.length > 0) leaks.push(`${rpc} answered with A's ${seen.join(", ")}`);
          else if (namesA && !method.name.startsWith("List") && !access.authenticated) leaks.push(`${rpc} succeeded`);
        } catch (error) {
          const refused = ConnectError.from(error);
          if (refused.code === Code.PermissionDenied || refused.code === Code.NotFound || !namesA) continue;
          // Anything else must be what a reference to nothing gets.
          const ghost = await client[method.localName]!(requestFor(w, service, method, project, true).request).then(
            () => undefined,
            (e) => ConnectError.from(e),
          );
          const unghost = (text: string) => [...w.ghosts].reduce((t, [real, made]) => t.replaceAll(made, real), text);
          if (!ghost || ghost.code !== refused.code || unghost(ghost.rawMessage) !== refused.rawMessage) {
            leaks.push(`${rpc}: ${Code[refused.code]} "${refused.rawMessage}", but for made-up ids: ${ghost ? `${Code[ghost.code]} "${ghost.rawMessage}"` : "success"}`);
          }
        }
      }
    }
  }
  return { leaks, calls };
}

/** Every RPC called once by `token` with A's objects; `expect` says what each must answer, or undefined when anything goes. */
async function everyMethod(w: World, token: string | undefined, expect: (method: DescMethod) => Code | undefined): Promise<string[]> {
  const wrong: string[] = [];
  for (const service of w.s.services) {
    const client = anyMethodClient(service, w.s.urlOf(service), token, "connect");
    for (const method of service.methods as DescMethod[]) {
      const wanted = expect(method);
      if (wanted === undefined) continue;
      const got = await client[method.localName]!(requestFor(w, service, method, w.a).request).then(
        () => "success",
        (e) => Code[ConnectError.from(e).code],
      );
      if (got !== Code[wanted]) wrong.push(`${service.typeName}/${method.name}: ${got}, not ${Code[wanted]}`);
    }
  }
  return wrong;
}

const methodCount = (w: World) => w.s.services.reduce((n, s) => n + s.methods.length, 0);

test("every RPC refuses every principal that is not A's access to project A, and lists show nothing of A", async (w) => {
  const before = await snapshotOfA(w);
  let total = 0;
  for (const [who, token] of w.intruders) {
    const { leaks, calls } = await intrusions(w, token);
    assert.equal(leaks, [], `${who}:\n${leaks.join("\n")}`);
    assert.ok(calls > methodCount(w), `${who}: ${calls} calls for ${methodCount(w)} methods`);
    total += calls;
  }
  assert.is(await snapshotOfA(w), before, "A's objects are unchanged");
  console.log(`tenancy: ${total} calls by ${w.intruders.length} kinds of principal over ${methodCount(w)} methods: refused, or nothing of project A`);
});

test("without a token every RPC is unauthenticated", async (w) => {
  assert.equal(await everyMethod(w, undefined, () => Code.Unauthenticated), []);
});

test("a platform viewer changes nothing: every mutating RPC is permission_denied", async (w) => {
  const before = await snapshotOfA(w);
  const viewer = await w.s.f.network.viewerToken();
  const mutating = (m: DescMethod) => (m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || methodAccess(m)!.authenticated ? undefined : Code.PermissionDenied);
  assert.equal(await everyMethod(w, viewer, mutating), []);
  assert.is(await snapshotOfA(w), before);
});

test("a service principal is refused every RPC that does not admit services", async (w) => {
  const before = await snapshotOfA(w);
  const service = await w.s.f.network.serviceToken("intruding-service");
  const closed = (m: DescMethod) => {
    const access = methodAccess(m)!;
    return access.service || access.authenticated ? undefined : Code.PermissionDenied;
  };
  assert.equal(await everyMethod(w, service, closed), []);
  assert.is(await snapshotOfA(w), before);
});

test.run();
