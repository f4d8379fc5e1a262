// Policies through the service: scope and status, what each firewall's ruleset holds, plans,
// options, validation, access, and tenant isolation when a firewall changes hands.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { NetworkPolicyService, PolicyState, Protocol, RulesetOutcome, type PolicySpecSchema } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { encodePageToken } from "@bulkhead/service-kit";
import { inNs, namespaces, walkPages } from "@bulkhead/testkit";
import { appendOutbox } from "@bulkhead/db";
import { PolicyState as StoredState, PolicyStore } from "../src/store.js";
import { failure, startPolicyWorld, type PolicyWorld } from "./harness.js";

type Spec = MessageInitShape<typeof PolicySpecSchema>;
const test = suite<{ w: PolicyWorld }>("network policies", {} as never);
test.before(async (ctx) => {
  ctx.w = await startPolicyWorld();
});
test.after(async (ctx) => ctx.w?.stop());

const tcp = (port: number, endPort = 0) => ({ protocol: Protocol.TCP, port, endPort });
const fieldOf = (e: Awaited<ReturnType<typeof failure>>) => {
  const v = e.findDetails(ViolationsSchema)[0]?.violations[0];
  return v?.field?.elements.map((x) => (x.subscript.case === "index" ? `${x.fieldName}.${x.subscript.value}` : x.fieldName)).join(".") || v?.ruleId;
};
const ruleset = async (w: PolicyWorld, device: string) => (await w.policies.getFirewallRuleset({ device })).ruleset;

test("a policy on one firewall is deployed into that firewall's ruleset only, which nft accepts", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const spec: Spec = { name: "web-out", description: "HTTPS out", firewall: "fw-a", egress: [{ to: [{ cidr: "0.0.0.0/0", except: ["185.1.2.0/24"] }], ports: [tcp(443)] }] };
  const policy = (await editor.createPolicy({ project: w.f.projectA, spec })).policy!;
  assert.equal([policy.status?.state, policy.status?.firewalls, policy.status?.reason], [PolicyState.PENDING, ["fw-a"], "waiting for fw-a to apply it"]);
  const compiled = await w.policies.getFirewallRuleset({ device: "fw-a" });
  assert.match(compiled.ruleset, 'ip daddr 0.0.0.0/0 ip daddr != 185.1.2.0/24 tcp dport 443 counter accept comment "web-out: egress 0"');
  assert.equal(compiled.policies, [policy.id]);
  assert.match(compiled.hash, /^[0-9a-f]{64}$/);
  assert.not.match(await ruleset(w, "fw-a2"), "web-out");
  const event = (await w.service.service.pool.query("SELECT payload FROM outbox WHERE topic = 'policy.created'")).rows[0].payload;
  assert.equal([event.policy, event.firewalls], [policy.id, ["fw-a"]]);

  const ns = await namespaces("check");
  try {
    const file = join(tmpdir(), `bulkhead-fw-a-${process.pid}.nft`);
    writeFileSync(file, compiled.ruleset);
    await inNs(ns.check, "nft", "-c", "-f", file);
  } finally {
    await ns.remove();
  }
});

test("a policy on a network applies to every firewall of the project attached to it", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const policy = (await editor.createPolicy({ project: w.f.projectA, spec: { name: "dns-out", network: w.f.netA.id, egress: [{ to: [], ports: [{ protocol: Protocol.UDP, port: 53 }] }] } })).policy!;
  assert.equal([policy.status?.state, policy.status?.firewalls], [PolicyState.PENDING, ["fw-a", "fw-a2"]]);
  for (const fw of ["fw-a", "fw-a2"]) assert.match(await ruleset(w, fw), 'udp dport 53 counter accept comment "dns-out: egress 0"', fw);
  assert.not.match(await ruleset(w, "fw-b"), "dns-out", "another project's firewall never gets it");
  const listed = (await editor.listPolicies({ project: w.f.projectA, firewall: "fw-a2" })).policies.map((p) => p.name);
  assert.equal(listed, ["dns-out"]);
});

test("a policy is deployed once every firewall in scope applied the ruleset with it, rejected when one refused it; reading a ruleset changes nothing", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const spec: Spec = { name: "ntp-out", network: w.f.netA.id, egress: [{ to: [], ports: [{ protocol: Protocol.UDP, port: 123 }] }] };
  const policy = (await editor.createPolicy({ project: w.f.projectA, spec })).policy!;
  const status = async () => {
    const s = (await editor.getPolicy({ project: w.f.projectA, id: policy.id })).policy!.status!;
    return `${PolicyState[s.state]} ${s.reason}`;
  };
  assert.is(await status(), "PENDING waiting for fw-a, fw-a2 to apply it");
  const applied = await w.count("SELECT count(*) FROM rulesets");
  const [a, a2] = [(await w.policies.getFirewallRuleset({ device: "fw-a" })).ruleset, (await w.policies.getFirewallRuleset({ device: "fw-a2" })).ruleset];
  assert.equal([await status(), await w.count("SELECT count(*) FROM rulesets")], ["PENDING waiting for fw-a, fw-a2 to apply it", applied], "a read writes nothing");

  const reconciler = w.service.client(NetworkPolicyService, await w.service.serviceToken("reconciler"));
  const report = (device: string, ruleset: string, outcome: RulesetOutcome, reason = "") => reconciler.reportRulesetOutcome({ device, ruleset, outcome, reason });
  await report("fw-a", a, RulesetOutcome.APPLIED);
  assert.is(await status(), "PENDING waiting for fw-a2 to apply it");
  await report("fw-a2", "table inet bulkhead {}\n", RulesetOutcome.APPLIED);
  assert.is(await status(), "PENDING waiting for fw-a2 to apply it", "a ruleset without the policy is not it");
  assert.equal((await report("fw-a2", a2, RulesetOutcome.APPLIED)).policies.includes(policy.id), true);
  assert.is(await status(), "DEPLOYED ");

  await editor.updatePolicy({ project: w.f.projectA, id: policy.id, spec: { ...spec, egress: [{ to: [], ports: [{ protocol: Protocol.UDP, port: 1123 }] }] } });
  assert.is(await status(), "PENDING waiting for fw-a, fw-a2 to apply it", "a changed policy is on no firewall yet");
  await report("fw-a", (await w.policies.getFirewallRuleset({ device: "fw-a" })).ruleset, RulesetOutcome.REFUSED, "the agent refused it: nft: syntax error");
  assert.is(await status(), "REJECTED fw-a refused its ruleset: the agent refused it: nft: syntax error");

  for (const caller of [editor, w.service.client(NetworkPolicyService, await w.service.agentToken("fw-a"))]) {
    assert.is((await failure(caller.reportRulesetOutcome({ device: "fw-a", ruleset: a, outcome: RulesetOutcome.APPLIED }))).code, Code.PermissionDenied, "only services report");
  }
  assert.is((await failure(reconciler.reportRulesetOutcome({ device: "fw-a", ruleset: a, outcome: RulesetOutcome.UNSPECIFIED }))).code, Code.InvalidArgument);
  assert.is((await failure(report("fw-nowhere", a, RulesetOutcome.APPLIED))).code, Code.NotFound);
  // The refused ruleset held every policy of fw-a: dns-out and web-out too. Without ntp-out, the firewalls apply theirs again.
  assert.is((await editor.listPolicies({ project: w.f.projectA, state: PolicyState.REJECTED })).policies.map((p) => p.name).sort().join(), "dns-out,ntp-out,web-out");
  await editor.deletePolicy({ project: w.f.projectA, id: policy.id });
  for (const fw of ["fw-a", "fw-a2"]) await report(fw, (await w.policies.getFirewallRuleset({ device: fw })).ruleset, RulesetOutcome.APPLIED);
  assert.equal((await editor.listPolicies({ project: w.f.projectA })).policies.map((p) => `${p.name} ${PolicyState[p.status!.state]}`), ["dns-out DEPLOYED", "web-out DEPLOYED"]);
});

test("a policy no network of the firewall can carry is rejected with the reason, and left out", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const spec: Spec = { name: "v6-out", firewall: "fw-a", egress: [{ to: [{ cidr: "2001:db8:ffff::/48", except: [] }], ports: [tcp(443)] }] };
  const policy = (await editor.createPolicy({ project: w.f.projectA, spec })).policy!;
  assert.is(policy.status?.state, PolicyState.REJECTED);
  assert.match(policy.status!.reason, "fw-a: egress 0: 2001:db8:ffff::/48 is outside the networks the firewall reaches");
  assert.not.match(await ruleset(w, "fw-a"), "v6-out");
  assert.equal((await editor.listPolicies({ project: w.f.projectA, state: PolicyState.REJECTED })).policies.map((p) => p.name), ["v6-out"]);
  const pending = (await editor.createPolicy({ project: w.f.projectA, spec: { name: "later", network: (await w.f.networks.allocateNetwork({ project: w.f.projectA, partition: "fra1", name: "later" })).network!.id, ingress: [{ from: [], ports: [tcp(22)] }] } })).policy!;
  assert.equal([pending.status?.state, pending.status?.firewalls], [PolicyState.PENDING, []]);
  assert.match(pending.status!.reason, "no firewall");
});

test("a re-evaluated policy that starts or stops compiling is an event naming its firewalls; other status changes are not", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const policy = (await editor.createPolicy({ project: w.f.projectA, spec: { name: "syslog-out", firewall: "fw-a", egress: [{ to: [], ports: [{ protocol: Protocol.UDP, port: 514 }] }] } })).policy!;
  const store = new PolicyStore(w.service.service.pool, (client, event) => appendOutbox(client, "test", event));
  const events = async () => (await w.service.service.pool.query("SELECT topic, payload FROM outbox WHERE payload->>'policy' = $1 AND topic <> 'policy.created' ORDER BY id", [policy.id])).rows;
  const pending = { state: StoredState.Pending, reason: "waiting for fw-a to apply it", firewalls: ["fw-a"], compiles: true };
  await store.setStatus(policy.id, { ...pending, state: StoredState.Deployed, reason: "" });
  assert.equal(await events(), [], "deployed: what fw-a may hold is the same");
  await store.setStatus(policy.id, { ...pending, state: StoredState.Rejected, reason: "fw-a: egress 0: outside", compiles: false });
  await store.setStatus(policy.id, { ...pending, state: StoredState.Rejected, reason: "fw-a: egress 0: outside", compiles: false });
  await store.setStatus(policy.id, pending);
  assert.equal(
    (await events()).map((e) => [e.topic, e.payload.firewalls]),
    [
      ["policy.compiles.changed", ["fw-a"]],
      ["policy.compiles.changed", ["fw-a"]],
    ],
    "once when it stopped compiling (not again when recorded twice), once when it compiled again",
  );
  await editor.deletePolicy({ project: w.f.projectA, id: policy.id });
});

test("bad policies are refused naming the field, and nothing is written", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const before = await w.count("SELECT count(*) FROM policies");
  const events = await w.count("SELECT count(*) FROM outbox");
  const cases: [string, Spec, Code, string][] = [
    ["an exception outside its block", { name: "x", firewall: "fw-a", egress: [{ to: [{ cidr: "10.0.0.0/8", except: ["192.168.0.0/16"] }], ports: [tcp(443)] }] }, Code.InvalidArgument, "spec.egress.0.to.0.except.0"],
    ["an exception equal to its block", { name: "x", firewall: "fw-a", ingress: [{ from: [{ cidr: "10.0.0.0/8", except: ["10.0.0.0/8"] }], ports: [tcp(443)] }] }, Code.InvalidArgument, "spec.ingress.0.from.0.except.0"],
    ["host bits", { name: "x", firewall: "fw-a", egress: [{ to: [{ cidr: "10.0.0.1/8", except: [] }], ports: [tcp(443)] }] }, Code.InvalidArgument, "spec.egress.0.to.0.cidr"],
    ["a rule without ports (it would open every port by omission)", { name: "x", firewall: "fw-a", egress: [{ to: [{ cidr: "10.0.0.0/8", except: [] }] }] }, Code.InvalidArgument, "spec.egress.0.ports"],
    ["an ingress rule without ports", { name: "x", firewall: "fw-a", ingress: [{ from: [] }] }, Code.InvalidArgument, "spec.ingress.0.ports"],
    ["a range ending before it starts", { name: "x", firewall: "fw-a", egress: [{ ports: [tcp(2000, 1000)] }] }, Code.InvalidArgument, "spec.egress.0.ports.0"],
    ["a port above 65535", { name: "x", firewall: "fw-a", egress: [{ ports: [tcp(70000)] }] }, Code.InvalidArgument, "spec.egress.0.ports.0.port"],
    ["no scope", { name: "x", egress: [] }, Code.InvalidArgument, "spec"],
    ["two scopes", { name: "x", firewall: "fw-a", network: w.f.netA.id }, Code.InvalidArgument, "spec"],
    ["another project's firewall", { name: "x", firewall: "fw-b" }, Code.InvalidArgument, "spec.firewall"],
    ["another project's network", { name: "x", network: w.netB.id }, Code.InvalidArgument, "spec.network"],
    ["an external network", { name: "x", network: "internet" }, Code.InvalidArgument, "spec.network"],
    ["a name taken", { name: "web-out", firewall: "fw-a" }, Code.AlreadyExists, ""],
  ];
  for (const [name, spec, code, field] of cases) {
    const error = await failure(editor.createPolicy({ project: w.f.projectA, spec }));
    assert.is(error.code, code, `${name}: ${error.message}`);
    if (field) assert.is(fieldOf(error), field, name);
  }
  assert.is(await w.count("SELECT count(*) FROM policies"), before);
  assert.is(await w.count("SELECT count(*) FROM outbox"), events);
});

test("updates change the ruleset but never the name or scope; deletes take the rules out", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const [policy] = (await editor.listPolicies({ project: w.f.projectA })).policies.filter((p) => p.name === "web-out");
  const updated = (await editor.updatePolicy({ project: w.f.projectA, id: policy!.id, spec: { name: "web-out", firewall: "fw-a", egress: [{ to: [], ports: [tcp(443), tcp(8000, 8100)] }] } })).policy!;
  assert.is(updated.egress[0]?.ports.length, 2);
  assert.match(await ruleset(w, "fw-a"), 'tcp dport { 443, 8000-8100 } counter accept comment "web-out: egress 0"');
  assert.is((await failure(editor.updatePolicy({ project: w.f.projectA, id: policy!.id, spec: { name: "renamed", firewall: "fw-a" } }))).code, Code.InvalidArgument);
  assert.is((await failure(editor.updatePolicy({ project: w.f.projectA, id: policy!.id, spec: { name: "web-out", firewall: "fw-a2" } }))).code, Code.InvalidArgument);
  const temporary = (await editor.createPolicy({ project: w.f.projectA, spec: { name: "temporary", firewall: "fw-a", ingress: [{ from: [{ cidr: "185.1.2.0/24", except: [] }], ports: [tcp(22)] }] } })).policy!;
  assert.match(await ruleset(w, "fw-a"), "temporary");
  await editor.deletePolicy({ project: w.f.projectA, id: temporary.id });
  assert.not.match(await ruleset(w, "fw-a"), "temporary");
  const topics = (await w.service.service.pool.query("SELECT topic FROM outbox WHERE payload->>'policy' = $1 ORDER BY id", [temporary.id])).rows.map((r) => r.topic);
  assert.equal(topics, ["policy.created", "policy.deleted"]);
});

test("a plan shows the ruleset and diff a draft would give, and stores nothing", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const deployed = await ruleset(w, "fw-a");
  const policies = await w.count("SELECT count(*) FROM policies");
  const plan = await editor.planPolicy({ project: w.f.projectA, spec: { name: "ssh-in", network: w.f.netA.id, ingress: [{ from: [{ cidr: "185.1.2.0/24", except: [] }], ports: [tcp(22)] }] } });
  assert.equal(plan.firewalls.map((p) => p.firewall), ["fw-a", "fw-a2"]);
  assert.equal(plan.problems, []);
  const diff = plan.firewalls[0]!.diff;
  assert.match(diff, "--- fw-a (deployed)");
  assert.ok(diff.split("\n").some((l) => l.startsWith("+") && l.includes('tcp dport 22 counter accept comment "ssh-in: ingress 0"')));
  assert.ok(diff.split("\n").some((l) => l.startsWith("-# policies:")), "the header lists the new policy");
  assert.is(await w.count("SELECT count(*) FROM policies"), policies);
  assert.is(await ruleset(w, "fw-a"), deployed, "nothing changed");
  const replacing = await editor.planPolicy({ project: w.f.projectA, spec: { name: "dns-out", network: w.f.netA.id, egress: [{ to: [{ cidr: "2001:db8::/32", except: [] }], ports: [tcp(53)] }] } });
  assert.match(replacing.problems.join("\n"), "fw-a: egress 0: 2001:db8::/32 is outside");
  assert.ok(replacing.firewalls[0]!.diff.split("\n").some((l) => l.startsWith("-") && l.includes("dns-out")), "the draft replaces the policy of its name, which would go");
});

test("options: rate limits, SSH, logging and SNAT to the project's own addresses", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const own = (await w.f.ips.allocateIP({ project: w.f.projectA, network: "internet" })).ip!;
  const others = (await w.f.ips.allocateIP({ project: w.f.projectB, network: "internet" })).ip!;
  const options = { rateLimits: [{ network: "internet", bytesPerSecond: 10_485_760n }], logAcceptedConnections: true, sshAllowedFrom: ["192.0.2.0/24"], snat: [{ network: "internet", ips: [own.ip] }] };
  await editor.setFirewallOptions({ project: w.f.projectA, firewall: "fw-a", options });
  assert.equal((await editor.getFirewallOptions({ project: w.f.projectA, firewall: "fw-a" })).options?.snat[0]?.ips, [own.ip]);
  const compiled = await ruleset(w, "fw-a");
  assert.match(compiled, 'iifname { "vlan104009", "vrf104009" } limit rate over 10485760 bytes/second counter drop');
  assert.match(compiled, 'ip saddr 192.0.2.0/24 tcp dport 22 accept comment "SSH"');
  // B's DMZ is attached to A's firewall, but A's firewall is not its exit: only A's network leaves.
  assert.match(compiled, `oifname { "vlan104009", "vrf104009" } ip saddr ${w.f.netA.prefixes[0]} snat ip to ${own.ip}`);
  assert.equal(compiled.split("\n").filter((l) => (l.includes("snat") || l.includes("masquerade")) && l.includes(w.dmzB.prefixes[0]!)), [], "B's DMZ is never masqueraded");
  assert.not.match(compiled, `iifname { "vlan${w.dmzB.vrf}", "vrf${w.dmzB.vrf}" } oifname { "vlan104009"`, "nor let out to the internet");
  assert.match(compiled, 'log prefix "bulkhead-accepted: " level info counter accept');
  const refusals: [typeof options, string][] = [
    [{ ...options, snat: [{ network: "internet", ips: [others.ip] }] }, "options.snat.0.ips.0"],
    [{ ...options, rateLimits: [{ network: w.netB.id, bytesPerSecond: 2048n }] }, "options.rate_limits.0.network"],
    [{ ...options, rateLimits: [{ network: "underlay", bytesPerSecond: 2048n }] }, "options.rate_limits.0.network"],
  ];
  for (const [bad, field] of refusals) assert.is(fieldOf(await failure(editor.setFirewallOptions({ project: w.f.projectA, firewall: "fw-a", options: bad }))), field);
  const notNat = await failure(editor.setFirewallOptions({ project: w.f.projectA, firewall: "fw-a", options: { ...options, snat: [{ network: w.f.netA.id, ips: [own.ip] }] } }));
  assert.is(notNat.code, Code.FailedPrecondition);
});

test("viewers read, other projects see nothing, agents fetch only their own ruleset", async ({ w }) => {
  const viewer = w.client(await w.service.projectToken(w.f.projectA, "viewer"));
  const listed = (await viewer.listPolicies({ project: w.f.projectA })).policies;
  assert.ok(listed.length > 0);
  assert.ok((await viewer.planPolicy({ project: w.f.projectA, spec: { name: "p", firewall: "fw-a" } })).firewalls.length === 1, "viewers may plan");
  assert.is((await failure(viewer.createPolicy({ project: w.f.projectA, spec: { name: "v", firewall: "fw-a" } }))).code, Code.PermissionDenied);
  const b = await w.editor(w.f.projectB);
  assert.is((await failure(b.getPolicy({ project: w.f.projectB, id: listed[0]!.id }))).code, Code.NotFound);
  assert.is((await failure(b.deletePolicy({ project: w.f.projectB, id: listed[0]!.id }))).code, Code.NotFound);
  // Ids are compared as uuid: one that cannot be a uuid is not found, not a server error.
  assert.is((await failure(viewer.getPolicy({ project: w.f.projectA, id: "not-a-uuid" }))).code, Code.NotFound);
  assert.is((await failure(b.getFirewallOptions({ project: w.f.projectB, firewall: "fw-a" }))).code, Code.NotFound);
  assert.is((await failure(b.getFirewallRuleset({ device: "fw-a" }))).code, Code.PermissionDenied, "rulesets are for agents and services");
  const agent = w.client(await w.service.agentToken("fw-a"));
  assert.match((await agent.getFirewallRuleset({ device: "fw-a" })).ruleset, "table inet bulkhead");
  assert.is((await failure(agent.getFirewallRuleset({ device: "fw-b" }))).code, Code.PermissionDenied);
});

test("a firewall that changes hands takes none of the former project's policies or options along", async ({ w }) => {
  const editorA = w.f.inventory.client(MachineService, await w.f.inventory.projectToken(w.f.projectA, "editor"));
  await editorA.freeMachine({ project: w.f.projectA, id: "fw-a" });
  await w.f.inventory.client(MachineService, await w.f.inventory.projectToken(w.f.projectB, "editor")).allocateFirewall({
    project: w.f.projectB,
    partition: "fra1",
    machine: "fw-a",
    hostname: "fw-now-b",
    image: "ubuntu-24-04",
    networks: [{ network: w.netB.id, autoAcquire: true }, { network: "internet", autoAcquire: true }],
  });
  const compiled = await ruleset(w, "fw-a");
  for (const name of ["web-out", "dns-out", "SSH", "snat", "limit rate over"]) assert.not.match(compiled, name, `${name} of project A is gone`);
});

test("policies are listed in pages by name within a project; a foreign token is invalid_argument", async ({ w }) => {
  const editor = await w.editor(w.f.projectA);
  const created = [];
  for (const name of ["page-c", "page-a", "page-b"]) created.push((await editor.createPolicy({ project: w.f.projectA, spec: { name, network: w.f.netA.id, egress: [{ to: [], ports: [tcp(443)] }] } })).policy!);
  const names = await walkPages(2, async (page) => {
    const r = await editor.listPolicies({ project: w.f.projectA, ...page });
    return { items: r.policies, next: r.nextPageToken };
  }, (p) => p.name);
  assert.equal(names.filter((n) => n.startsWith("page-")), ["page-a", "page-b", "page-c"]);
  assert.equal(names, [...names].sort());
  for (const pageToken of ["x", encodePageToken("page-a")]) {
    const bad = await failure(editor.listPolicies({ project: w.f.projectA, pageToken }));
    assert.equal([bad.code, bad.rawMessage.startsWith("page_token")], [Code.InvalidArgument, true], bad.rawMessage);
  }
  for (const policy of created) await editor.deletePolicy({ project: w.f.projectA, id: policy.id });
});

test.run();
