// The flow of a change end to end: a tenant's intent becomes verified revisions on the agents of
// exactly the devices it touches; agents that refuse, drift or go away are brought back.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { CHANGES_HEADER } from "@bulkhead/api/headers";
import { AgentService } from "@bulkhead/api/gen/bulkhead/agent/v1/agent_pb.js";
import { DesiredStateService } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { NetworkPolicyService, PolicyState, Protocol } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { create, type DescService } from "@bufbuild/protobuf";
import { MachineRole, MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { GetSwitchViewsResponseSchema, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { createLogger, createServiceClient, signToken, signTokenWithKey } from "@bulkhead/service-kit";
import { Reconciler, type Services } from "../src/reconciler.js";
import { ReconcilerStore } from "../src/store.js";
import { RecordsPart, recordsChangeOf } from "../src/records-changes.js";
import { noVerifyTools, probeVerifyTools } from "../src/verify.js";
import { freePort, startValkey } from "@bulkhead/testkit";
import { failure, inSync, startStack, SyncState, type Stack } from "./harness.js";

const test = suite<{ s: Stack }>("convergence", {} as never);
test.before(async (ctx) => {
  ctx.s = await startStack();
});
test.after(async (ctx) => ctx.s?.stop());

const inSyncAll = (s: Stack, ...devices: string[]) => s.until(async () => (await Promise.all(devices.map((d) => s.status(d)))).every(inSync), `${devices.join(", ")} in sync`);

test("agents that report in get their switch's configuration", async ({ s }) => {
  await s.startAgent("leaf01");
  await s.startAgent("leaf02");
  await inSyncAll(s, "leaf01", "leaf02");
  const leaf01 = s.agents.get("leaf01")!;
  assert.match(leaf01.read("frr/frr.conf"), "hostname leaf01");
  assert.match(leaf01.read("network/interfaces"), "iface swp1\n    mtu 9000\n    bridge-access 4000", "every free port boots machines in the PXE VLAN");
  const revision = (await s.fabric.getRevision({ device: "leaf01" })).revision!;
  assert.equal([revision.verification?.passed, revision.verification?.checks], [true, ["vtysh -C", "isolation"]]);
});

test("an installed machine's VRF reaches both its leaves — and no other switch", async ({ s }) => {
  const before = (await s.status("leaf03")) === undefined;
  const generations = Object.fromEntries(await Promise.all(["leaf01", "leaf02"].map(async (d) => [d, (await s.status(d))!.desiredGeneration])));
  await s.machine("m1", "Eth1/1");
  const vrf = `vrf vrf${s.f.netA.vrf}`;
  await s.until(async () => s.agents.get("leaf01")!.read("frr/frr.conf").includes(vrf) && s.agents.get("leaf02")!.read("frr/frr.conf").includes(vrf), "both leaves carry the tenant VRF");
  await inSyncAll(s, "leaf01", "leaf02");
  for (const d of ["leaf01", "leaf02"]) assert.ok((await s.status(d))!.desiredGeneration > generations[d]!, `${d} got a new revision`);
  assert.match(s.agents.get("leaf01")!.read("frr/frr.conf"), " neighbor swp1 interface peer-group MACHINE");
  assert.is((await s.status("leaf03")) === undefined, before, "leaf03 was not touched");
});

test("a firewall gets FRR and the nftables ruleset, and a policy change reaches it alone", async ({ s }) => {
  await s.machine("fw1", "Eth1/3", { firewall: true });
  const fw = await s.startAgent("fw1");
  await inSyncAll(s, "fw1");
  assert.match(fw.read("nftables/bulkhead.nft"), "table inet bulkhead");
  assert.match(fw.read("frr/frr.conf"), `vrf vrf${s.f.netA.vrf}`);
  const policies = s.policy.client(NetworkPolicyService, await s.policy.projectToken(s.f.projectA, "editor"));
  let change = "";
  const created = (await policies.createPolicy({ project: s.f.projectA, spec: { name: "https-out", firewall: "fw1", egress: [{ to: [], ports: [{ protocol: Protocol.TCP, port: 443 }] }] } }, { onHeader: (h) => (change = h.get(CHANGES_HEADER) ?? "") })).policy!;
  assert.is(created.status?.state, PolicyState.PENDING, "written, on no firewall yet");
  await s.until(async () => fw.read("nftables/bulkhead.nft").includes('comment "https-out: egress 0"'), "the policy is on the firewall");
  await inSyncAll(s, "fw1");
  const state = async (id: string) => (await policies.getPolicy({ project: s.f.projectA, id })).policy!.status!;
  await s.until(async () => (await state(created.id)).state === PolicyState.DEPLOYED, "the policy DEPLOYED: the firewall's agent applied it");
  // The policy's change fans out to its firewall alone, not to the leaves (whatever else they render meanwhile).
  const fannedOut = async () => (await s.fabric.getChangeProgress({ changes: [change] })).changes[0]!;
  await s.until(async () => (await fannedOut()).processed, "the policy change fanned out");
  assert.equal((await fannedOut()).devices.map((d) => d.device), ["fw1"], "the leaves were not re-rendered for a policy");
  const revision = (await s.fabric.getRevision({ device: "fw1" })).revision!;
  assert.equal(revision.verification?.checks, ["vtysh -C", "nft -c", "isolation"]);
  const report = await s.fabric.verifyPartition({ partition: "fra1" });
  assert.equal(report.verification?.findings, [], "the partition's desired revisions prove isolated together");
  assert.ok(report.verification?.passed);
  assert.ok(["fw1", "leaf01", "leaf02"].every((d) => report.devices.includes(d)), report.devices.join(", "));

  // An agent that refuses the ruleset: the policy is REJECTED with the agent's reason, never DEPLOYED.
  await fw.stop();
  const refusing = await s.startAgent("fw1", { BULKHEAD_NFT_VALIDATE: "echo 'nft: this kernel refuses' >&2; exit 1" }, fw.root);
  const refused = (await policies.createPolicy({ project: s.f.projectA, spec: { name: "dns-out", firewall: "fw1", egress: [{ to: [], ports: [{ protocol: Protocol.UDP, port: 53 }] }] } })).policy!;
  await s.until(async () => (await state(refused.id)).state === PolicyState.REJECTED, "the policy REJECTED: the agent refused its ruleset");
  assert.match((await state(refused.id)).reason, "fw1 refused its ruleset: the agent refused generation");
  assert.match((await state(refused.id)).reason, "this kernel refuses");
  await refusing.stop();
  await s.startAgent("fw1", {}, fw.root);
  await s.fabric.resync({ device: "fw1" });
  await s.until(async () => (await state(refused.id)).state === PolicyState.DEPLOYED, "DEPLOYED once a working agent applied it");
  assert.is((await state(created.id)).state, PolicyState.DEPLOYED);
});

test("a call names the changes it committed, and their progress is done only once every device they affect applied them", async ({ s }) => {
  const fw = s.agents.get("fw1")!;
  await inSyncAll(s, "fw1");
  const policies = s.policy.client(NetworkPolicyService, await s.policy.projectToken(s.f.projectA, "editor"), "grpc");
  let named = "";
  await policies.createPolicy({ project: s.f.projectA, spec: { name: "ntp-out", firewall: "fw1", egress: [{ to: [], ports: [{ protocol: Protocol.UDP, port: 123 }] }] } }, { onHeader: (h) => (named = h.get(CHANGES_HEADER) ?? "") });
  assert.match(named, /^firewall_policy:[1-9]\d*$/, "the answer names the committed change");
  let reads = "";
  await policies.listPolicies({ project: s.f.projectA }, { onHeader: (h) => (reads = h.get(CHANGES_HEADER) ?? "none") });
  assert.is(reads, "none", "a read names no change");
  let doneSaw: { file: string; devices: string[] } | undefined;
  await s.until(async () => {
    const [progress] = (await s.fabric.getChangeProgress({ changes: [named] })).changes;
    const done = progress!.processed && progress!.devices.length > 0 && progress!.devices.every((d) => d.rendered && d.state === SyncState.IN_SYNC);
    if (done) doneSaw = { file: fw.read("nftables/bulkhead.nft"), devices: progress!.devices.map((d) => d.device) };
    return done;
  }, "the change reached fw1");
  assert.match(doneSaw!.file, 'comment "ntp-out: egress 0"', "progress said done before the firewall applied the change");
  assert.equal(doneSaw!.devices, ["fw1"], "a policy affects its firewall alone");
  // Tenants wait too, seeing only the devices that carry their project's networks.
  const as = async (project: string) => createServiceClient(DesiredStateService, { baseUrl: s.reconcilerUrl, token: await s.policy.projectToken(project, "viewer"), protocol: "grpc" });
  const own = (await (await as(s.f.projectA)).getChangeProgress({ changes: [named], project: s.f.projectA })).changes[0]!;
  assert.equal([own.processed, own.devices.map((d) => d.device)], [true, ["fw1"]]);
  const other = (await (await as(s.f.projectB)).getChangeProgress({ changes: [named], project: s.f.projectB })).changes[0]!;
  assert.equal(other.devices, [], "another project's member sees none of the devices");
  assert.is((await failure((await as(s.f.projectA)).getChangeProgress({ changes: [named] }))).code, Code.PermissionDenied, "a member names the project");
  // And fabric status: the devices carrying the project's networks, nothing that may name others' records.
  const mine = (await (await as(s.f.projectA)).listDeviceStatuses({ project: s.f.projectA })).statuses;
  assert.ok(["fw1", "leaf01", "leaf02"].every((d) => mine.some((m) => m.device === d)), mine.map((m) => m.device).join(", "));
  assert.ok(mine.every((m) => m.lastError === "" && m.withheldRecords.length === 0 && m.deadLetters.length === 0));
  const theirs = (await (await as(s.f.projectB)).listDeviceStatuses({ project: s.f.projectB })).statuses;
  assert.not.ok(theirs.some((m) => m.device === "fw1"), "B does not see A's firewall");
  assert.is((await failure((await as(s.f.projectA)).listDeviceStatuses({}))).code, Code.PermissionDenied, "a member names the project");
  const [unknown] = (await s.fabric.getChangeProgress({ changes: ["network:999999999"] })).changes;
  assert.equal([unknown!.change, unknown!.processed, unknown!.devices], ["network:999999999", false, []], "a change never fanned out is not processed");
  const bad = await failure(s.fabric.getChangeProgress({ changes: ["network 1; drop"] }));
  assert.is(bad.code, Code.InvalidArgument);
  assert.match(bad.rawMessage, "changes");
});

test("a hand-edited file is drift: reported at once and overwritten with the desired revision", async ({ s }) => {
  const leaf = s.agents.get("leaf02")!;
  const desired = leaf.read("frr/frr.conf");
  const pushes = Number((await s.reconciler!.service.pool.query("SELECT pushes FROM devices WHERE device = 'leaf02'")).rows[0].pushes);
  writeFileSync(join(leaf.root, "frr/frr.conf"), `${desired}! edited by hand\n`);
  await s.until(async () => leaf.read("frr/frr.conf") === desired, "the agent runs the desired revision again");
  await inSyncAll(s, "leaf02");
  assert.is(Number((await s.reconciler!.service.pool.query("SELECT pushes FROM devices WHERE device = 'leaf02'")).rows[0].pushes), pushes + 1, "one re-push");
});

test("an agent that refuses a revision leaves its files alone; the device is FAILED with the reason until a resync", async ({ s }) => {
  const refusing = await s.startAgent("leaf03", { BULKHEAD_FRR_VALIDATE: "echo 'bgpd: this platform refuses' >&2; exit 1" });
  await s.until(async () => (await s.status("leaf03"))?.state === SyncState.FAILED, "leaf03 FAILED");
  const status = (await s.status("leaf03"))!;
  assert.match(status.lastError, "the agent refused generation 1");
  assert.match(status.lastError, "this platform refuses");
  assert.is(status.appliedGeneration, 0n);
  assert.throws(() => refusing.read("frr/frr.conf"), "nothing was written");
  const [letter, ...older] = status.deadLetters;
  assert.equal([letter?.generation, letter?.reason.includes("this platform refuses"), older.length], [1n, true, 0], "the push is a dead letter on the device, with its reason");
  // Heartbeats do not re-push a refused generation…
  await new Promise((r) => setTimeout(r, 1000));
  assert.is((await s.status("leaf03"))!.state, SyncState.FAILED);
  // …a fixed agent and a resync do.
  await refusing.stop();
  await s.startAgent("leaf03", {}, refusing.root);
  assert.equal((await s.fabric.resync({ device: "leaf03" })).devices, ["leaf03"]);
  await inSyncAll(s, "leaf03");
});

test("an agent that was down catches up with every change made meanwhile", async ({ s }) => {
  const leaf = s.agents.get("leaf02")!;
  await leaf.stop();
  await s.machine("m2", "Eth1/2");
  await s.until(async () => (await s.status("leaf01"))!.state === SyncState.IN_SYNC && s.agents.get("leaf01")!.read("frr/frr.conf").includes("neighbor swp2 interface"), "leaf01 has m2");
  await s.until(async () => [SyncState.PENDING, SyncState.FAILED].includes((await s.status("leaf02"))!.state), "leaf02 waits");
  const back = await s.startAgent("leaf02", {}, leaf.root);
  await inSyncAll(s, "leaf02");
  assert.match(back.read("frr/frr.conf"), "neighbor swp2 interface peer-group MACHINE");
  // The project's firewall, recorded when its allocation fanned out, is found for m2's changes: its
  // internet VRF lets m2's public address through to the project's network.
  const published = (await s.f.ips.listIPs({ machine: "m2", network: "internet" })).ips[0]!.ip;
  await s.until(async () => s.agents.get("fw1")!.read("frr/frr.conf").includes(` ${published}/32`), "fw1 carries m2's public address");
});

test("status, diff and revisions are there to inspect; only the reconciler's key, bound to the device, may push", async ({ s }) => {
  const list = (await s.fabric.listDeviceStatuses({ partition: "fra1" })).statuses.map((d) => d.device);
  assert.equal(list, ["fw1", "leaf01", "leaf02", "leaf03"]);
  const first = await s.fabric.listDeviceStatuses({ partition: "fra1", pageSize: 3 });
  const second = await s.fabric.listDeviceStatuses({ partition: "fra1", pageSize: 3, pageToken: first.nextPageToken });
  assert.equal([first.statuses.map((d) => d.device), second.statuses.map((d) => d.device), second.nextPageToken], [["fw1", "leaf01", "leaf02"], ["leaf03"], ""], "pages of 3 walk the list once");
  const badToken = await failure(s.fabric.listDeviceStatuses({ pageToken: "not-a-token" }));
  assert.equal([badToken.code, badToken.rawMessage.startsWith("page_token")], [Code.InvalidArgument, true], badToken.rawMessage);
  assert.equal((await s.fabric.diff({ device: "leaf01" })).files, [], "in sync: nothing to show");
  assert.is((await failure(s.fabric.getDeviceStatus({ device: "nowhere" }))).code, Code.NotFound);
  const agent = s.agents.get("leaf01")!;
  const revision = (await s.fabric.getRevision({ device: "leaf01" })).revision!;
  const files = revision.files.map((f) => ({ path: f.path, content: f.content }));
  const push = async (token: string) => failure(agent.service.client(AgentService, token).apply({ device: "leaf01", generation: revision.generation + 1n, files, hash: revision.hash }));
  const settings = { ...s.f.inventory.tokens, audience: "agent:leaf01" };
  // The platform's shared secret mints no token an agent accepts, not even one naming the reconciler.
  assert.is((await push(await signToken(settings, { kind: "service", subject: "reconciler" }))).code, Code.Unauthenticated);
  assert.is((await push(await signToken(settings, { kind: "user", subject: "admin", roles: ["admin"] }))).code, Code.Unauthenticated);
  // The reconciler's key: a token bound to another device is refused; another principal's is denied.
  assert.is((await push(await signTokenWithKey({ ...settings, audience: "agent:leaf02" }, s.agentKey, { kind: "service", subject: "reconciler" }))).code, Code.Unauthenticated);
  assert.is((await push(await signTokenWithKey(settings, s.agentKey, { kind: "service", subject: "network" }))).code, Code.PermissionDenied, "only the reconciler pushes");
});

test("a heartbeat is taken only from a device Bulkhead configures, naming an address in the management networks", async ({ s }) => {
  const devices = async () => (await s.fabric.listDeviceStatuses({})).statuses.map((d) => d.device);
  const before = await devices();
  const report = async (device: string, endpoint = "http://127.0.0.1:9") =>
    failure(createServiceClient(DesiredStateService, { baseUrl: s.reconcilerUrl, token: await s.f.inventory.agentToken(device), protocol: "grpc" }).reportDeviceState({ device, appliedGeneration: 0n, appliedHash: "", runningHash: "", agentVersion: "test", endpoint }));
  const refused = async (device: string, code: Code, message: string, endpoint?: string) => {
    const error = await report(device, endpoint);
    assert.is(error.code, code, `${device}: ${error.message}`);
    assert.match(error.rawMessage, message);
  };
  await refused("nowhere", Code.NotFound, 'no switch or machine "nowhere" is registered');
  await refused("spine01", Code.FailedPrecondition, "switch spine01 is a spine: Bulkhead configures leaf and exit switches only");
  await s.f.register("m-unallocated", [["leaf03", "Ethernet20"]]);
  await refused("m-unallocated", Code.FailedPrecondition, "machine m-unallocated is not an allocated firewall");
  // A known device naming an endpoint the reconciler must not call: a name, or an address outside its networks.
  await refused("leaf01", Code.InvalidArgument, "endpoint: endpoint \"http://agents.example:7100\" must be an http(s) URL whose host is an IP address", "http://agents.example:7100");
  await refused("leaf01", Code.PermissionDenied, "endpoint host 169.254.169.254 is outside the agent management networks (BULKHEAD_AGENT_NETWORKS: 127.0.0.0/8, ::1/128)", "http://169.254.169.254/");
  await refused("leaf01", Code.InvalidArgument, "without credentials", "http://user:pw@127.0.0.1:9");
  assert.equal(await devices(), before, "no device appeared");
  for (const device of ["nowhere", "spine01", "m-unallocated"]) assert.is((await failure(s.fabric.getDeviceStatus({ device }))).code, Code.NotFound, device);
  assert.is((await s.status("leaf01"))?.state, SyncState.IN_SYNC, "leaf01 keeps its agent's endpoint and state");
});

test("a render from a view older than the records its verifier read is made again, not refused: the leaf keeps its tenants", async ({ s }) => {
  const token = await s.f.inventory.serviceToken("reconciler");
  const at = <T extends DescService>(service: T, baseUrl: string) => createServiceClient(service, { baseUrl, token, protocol: "grpc" });
  const services = { ips: at(IPService, s.f.network.url), switches: at(SwitchService, s.f.inventory.url), machines: at(MachineService, s.f.inventory.url), peering: at(PeeringService, s.peering.url), policies: at(NetworkPolicyService, s.policy.url), networks: at(NetworkService, s.f.network.url) };
  // The view of leaf01 before a machine is cabled, allocated and installed on it.
  const stale = await services.switches.getSwitchView({ device: "leaf01" });
  await s.machine("m-late", "Eth1/4");
  await s.until(async () => s.agents.get("leaf01")!.read("frr/frr.conf").includes("neighbor swp4 interface peer-group MACHINE"), "leaf01 carries m-late");
  await inSyncAll(s, "leaf01");
  const before = (await s.status("leaf01"))!;
  // A second reconciler whose first view of leaf01 is the stale one, as when the machine was installed between the render's view and its verification.
  let views = 0;
  const switches = { ...services.switches, getSwitchViews: async (request: Parameters<typeof services.switches.getSwitchViews>[0]) => (views++ === 0 ? create(GetSwitchViewsResponseSchema, { views: [stale] }) : services.switches.getSwitchViews(request)) };
  const pushes: string[] = [];
  const reconciler = new Reconciler(
    new ReconcilerStore(s.reconciler!.service.pool),
    { ...services, switches },
    { render: async () => {}, push: async (device) => void pushes.push(device) },
    { verify: await probeVerifyTools("required"), isolation: true, agentToken: async () => "", agentTimeoutMs: 1000, agentNetworks: [] },
    createLogger("test", "silent"),
  );
  try {
    assert.is(await reconciler.render("leaf01"), false, "no new revision: the render made again is the one leaf01 has");
    assert.is(views, 2, "the stale view was rendered, then the view read again");
    const after = (await s.status("leaf01"))!;
    assert.equal([after.desiredGeneration, after.desiredHash, after.state, after.withheld], [before.desiredGeneration, before.desiredHash, SyncState.IN_SYNC, []], "nothing refused, nothing cut back");
    assert.equal(pushes, []);
  } finally {
    await reconciler.close();
  }
});

test("renders of a quiet fabric share one read of the partition's leak plan; a change that may touch it, or a resync, is read anew", async ({ s }) => {
  const token = await s.f.inventory.serviceToken("reconciler");
  const at = <T extends DescService>(service: T, baseUrl: string) => createServiceClient(service, { baseUrl, token, protocol: "grpc" });
  const services = { ips: at(IPService, s.f.network.url), switches: at(SwitchService, s.f.inventory.url), machines: at(MachineService, s.f.inventory.url), peering: at(PeeringService, s.peering.url), policies: at(NetworkPolicyService, s.policy.url), networks: at(NetworkService, s.f.network.url) };
  let plans = 0;
  const peering = { ...services.peering, getRouteLeakPlan: (request: Parameters<typeof services.peering.getRouteLeakPlan>[0]) => (plans++, services.peering.getRouteLeakPlan(request)) };
  const store = new ReconcilerStore(s.reconciler!.service.pool);
  const reconciler = new Reconciler(
    store,
    { ...services, peering },
    { render: async () => {}, push: async () => {} },
    { verify: await probeVerifyTools("required"), isolation: true, agentToken: async () => "", agentTimeoutMs: 1000, agentNetworks: [] },
    createLogger("test", "silent"),
  );
  try {
    await reconciler.render("leaf01");
    await reconciler.render("leaf02");
    await reconciler.render("leaf01");
    assert.is(plans, 1, "three renders one after another, nothing taken in between: one read");
    await store.changeTakenIn(recordsChangeOf({ topic: "machine.installed", payload: { machine: "m1", partition: "fra1", role: MachineRole.MACHINE } }));
    await reconciler.render("leaf02");
    assert.is(plans, 1, "a machine's change leaves the plan as it was: brought forward without a read");
    await store.changeTakenIn(recordsChangeOf({ topic: "peering.created", payload: { partition: "fra1" } }));
    await reconciler.render("leaf02");
    assert.is(plans, 2, "a peering's change was taken in before the render began: read again");
    await reconciler.render("leaf01");
    assert.is(plans, 2);
    await reconciler.resync({ device: "leaf01" });
    await reconciler.render("leaf01");
    assert.is(plans, 3, "a resync reads the records anew");
    const version = (await store.recordsChangesSince(undefined)).version;
    await store.changeTakenIn({ partition: "fra1", parts: [RecordsPart.Machines], machines: ["m7"] });
    assert.equal(await store.recordsChangesSince(version), { version: version + 1, changes: [{ partition: "fra1", parts: [RecordsPart.Machines], machines: ["m7"] }] }, "the changes since a version, in order");
    await s.reconciler!.service.pool.query("DELETE FROM records_changes WHERE version = $1", [version + 1]);
    assert.equal(await store.recordsChangesSince(version), { version: version + 1 }, "one let go: not all known");
  } finally {
    await reconciler.close();
  }
});

test("a firewall is found by its project's later changes as soon as its allocation fanned out, before its first render", async ({ s }) => {
  const renders: string[] = [];
  const reconciler = new Reconciler(
    new ReconcilerStore(s.reconciler!.service.pool),
    {} as Services,
    { render: async (device) => void renders.push(device), push: async () => {} },
    { verify: noVerifyTools, isolation: false, agentToken: async () => "", agentTimeoutMs: 1000, agentNetworks: [] },
    createLogger("test", "silent"),
  );
  const event = (id: number, topic: string, payload: Record<string, unknown>) => ({ source: "inventory-test", id: String(id), topic, key: `machine/${payload.machine}`, payload, createdAt: new Date().toISOString() });
  const project = "p-announced";
  try {
    assert.equal(await reconciler.onEvent(event(1, "machine.allocated", { machine: "m-x", role: MachineRole.MACHINE, project, partition: "fra1", switches: ["leaf01"] })), ["leaf01"], "no firewall in the project yet");
    assert.equal(await reconciler.onEvent(event(2, "machine.allocated", { machine: "fw-new", role: MachineRole.FIREWALL, project, partition: "fra1", switches: ["leaf01"], networks: [] })), ["fw-new", "leaf01"]);
    assert.equal(await reconciler.onEvent(event(3, "machine.installed", { machine: "m-x", role: MachineRole.MACHINE, project, partition: "fra1", switches: ["leaf01"] })), ["fw-new", "leaf01"], "found before it was ever rendered");
    assert.equal(await reconciler.onEvent(event(4, "machine.installed", { machine: "m-y", role: MachineRole.MACHINE, project: "p-other", partition: "fra1", switches: ["leaf02"] })), ["leaf02"], "not by another project's");
  } finally {
    await s.reconciler!.service.pool.query("DELETE FROM devices WHERE device = 'fw-new'");
    await reconciler.close();
  }
});

// Last: it adds a switch of its own to the partition's device list.
test("a SONiC leaf: its ports come from CONFIG_DB, its revision is frr.conf and a CONFIG_DB document applied there; a VRF added there by hand is drift and removed", async ({ s }) => {
  const dir = mkdtempSync(join(tmpdir(), "bh-sonic-"));
  const port = await freePort();
  const server = await startValkey(port, dir);
  const db = new Redis(`redis://127.0.0.1:${port}/4`);
  try {
    for (const [i, name] of ["Ethernet0", "Ethernet4", "Ethernet120"].entries()) await db.hset(`PORT|${name}`, { alias: `Eth1/${i + 1}`, lanes: String(i * 4), admin_status: "down", mtu: "9100" });
    const switchFile = join(dir, "switch.json");
    writeFileSync(switchFile, JSON.stringify({ partition: "fra1", rack: "r9", role: "leaf", asn: 4200000090, routerId: "10.255.255.90", os: { vendor: "SONiC", version: "202411" }, uplinks: ["Ethernet120"], pxeAddress: "10.255.254.90/24" }));
    await s.startAgent("leaf90", { BULKHEAD_SWITCH_FILE: switchFile, BULKHEAD_SONIC_CONFIG_DB: `redis://127.0.0.1:${port}/4` });
    await inSyncAll(s, "leaf90");
    const sw = (await s.f.switches.getSwitch({ id: "leaf90" })).switch!;
    const ports = sw.ports.map((p) => [p.name, p.identifier, p.uplink]).sort((a, b) => String(a[1]).localeCompare(String(b[1])));
    assert.equal(ports, [["Ethernet0", "Eth1/1", false], ["Ethernet4", "Eth1/2", false], ["Ethernet120", "Eth1/3", true]], "registered from CONFIG_DB's PORT table");
    const revision = (await s.fabric.getRevision({ device: "leaf90" })).revision!;
    assert.equal(revision.files.map((f) => f.path), ["frr/frr.conf", "sonic/config_db.json"], "FRR first, then CONFIG_DB");
    assert.equal(revision.verification?.passed, true);
    assert.match(revision.files[0]!.content, "route-map DENY_MGMT permit 20\n match interface Loopback0");
    assert.equal(await db.hgetall("VXLAN_TUNNEL|vtep"), { src_ip: "10.255.255.90" });
    assert.equal(await db.hgetall("VLAN_INTERFACE|Vlan4000|10.255.254.90/24"), { NULL: "NULL" });
    assert.equal((await db.keys("VLAN_MEMBER|*")).sort(), ["VLAN_MEMBER|Vlan4000|Ethernet0", "VLAN_MEMBER|Vlan4000|Ethernet4"]);
    assert.equal(await db.hgetall("PORT|Ethernet0"), { alias: "Eth1/1", lanes: "0", admin_status: "up", mtu: "9000" });
    await db.hset("VRF|Vrf77", { vni: "77" });
    await s.until(async () => (await db.exists("VRF|Vrf77")) === 0, "the agent removes the VRF added behind its back");
    await inSyncAll(s, "leaf90");
  } finally {
    await s.agents.get("leaf90")?.stop();
    db.disconnect();
    server.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
