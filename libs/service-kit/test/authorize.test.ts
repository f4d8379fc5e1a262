import { test } from "uvu";
import * as assert from "uvu/assert";
import { create } from "@bufbuild/protobuf";
import { IpamService, AcquireIPRequestSchema } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { NetworkService, AllocateNetworkRequestSchema, GetNetworkRequestSchema } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { SwitchService, SwitchHeartbeatRequestSchema } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { PartitionService, ListPartitionsRequestSchema } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { authorize, signToken, TokenVerifier, verifyToken, type Principal } from "../src/auth.js";

const user = (projects: Record<string, "owner" | "editor" | "viewer">, roles: ("admin" | "viewer")[] = []): Principal => ({
  kind: "user",
  subject: "u",
  platformRoles: new Set(roles),
  projects: new Map(Object.entries(projects)),
});
const service: Principal = { kind: "service", subject: "network", platformRoles: new Set(), projects: new Map() };
const agent = (device: string): Principal => ({ kind: "agent", subject: device, device, platformRoles: new Set(), projects: new Map() });

const allocate = NetworkService.method.allocateNetwork;
const allocation = (project: string) => create(AllocateNetworkRequestSchema, { project, partition: "p", name: "n" });

test("platform admins may call admin methods; viewers only reads", () => {
  assert.ok(authorize(IpamService.method.acquireIP, user({}, ["admin"]), create(AcquireIPRequestSchema)).allowed);
  assert.not.ok(authorize(IpamService.method.acquireIP, user({}, ["viewer"]), create(AcquireIPRequestSchema)).allowed);
  assert.ok(authorize(IpamService.method.listPrefixes, user({}, ["viewer"]), {}).allowed);
});

test("project roles apply to the project named in the request only", () => {
  assert.ok(authorize(allocate, user({ p1: "editor" }), allocation("p1")).allowed);
  const other = authorize(allocate, user({ p1: "editor" }), allocation("p2"));
  assert.not.ok(other.allowed);
  assert.match((other as { reason: string }).reason, "not a member of project p2");
  const viewer = authorize(allocate, user({ p1: "viewer" }), allocation("p1"));
  assert.not.ok(viewer.allowed);
  assert.match((viewer as { reason: string }).reason, "owner or editor");
});

test("a project member must name the project", () => {
  const decision = authorize(NetworkService.method.getNetwork, user({ p1: "owner" }), create(GetNetworkRequestSchema, { id: "n1" }));
  assert.not.ok(decision.allowed);
  assert.match((decision as { reason: string }).reason, "field `project`");
});

test("services may call methods open to services, and nothing else", () => {
  assert.ok(authorize(IpamService.method.acquireIP, service, create(AcquireIPRequestSchema)).allowed);
  assert.not.ok(authorize(allocate, service, allocation("p1")).allowed);
});

test("agents may act for their own device only", () => {
  const heartbeat = SwitchService.method.switchHeartbeat;
  assert.ok(authorize(heartbeat, agent("leaf01"), create(SwitchHeartbeatRequestSchema, { device: "leaf01" })).allowed);
  assert.not.ok(authorize(heartbeat, agent("leaf01"), create(SwitchHeartbeatRequestSchema, { device: "leaf02" })).allowed);
  assert.not.ok(authorize(heartbeat, user({}, ["viewer"]), create(SwitchHeartbeatRequestSchema, { device: "leaf01" })).allowed);
});

test("methods open to every authenticated principal admit any kind", () => {
  for (const p of [user({}), service, agent("x")]) assert.ok(authorize(PartitionService.method.listPartitions, p, create(ListPartitionsRequestSchema)).allowed);
});

test("tokens round-trip; wrong secret, issuer, audience and expiry are refused", async () => {
  const settings = { secret: "s".repeat(32), issuer: "bulkhead", audience: "bulkhead" };
  const token = await signToken(settings, { kind: "user", subject: "alice", roles: ["admin"], projects: { p1: "owner" } });
  const principal = await verifyToken(settings, token);
  assert.is(principal.subject, "alice");
  assert.ok(principal.platformRoles.has("admin"));
  assert.is(principal.projects.get("p1"), "owner");
  for (const other of [{ ...settings, secret: "t".repeat(32) }, { ...settings, issuer: "x" }, { ...settings, audience: "x" }]) {
    try {
      await verifyToken(other, token);
      assert.unreachable("token accepted with wrong settings");
    } catch (error) {
      assert.is((error as Error).name, "Error");
    }
  }
  const expired = await signToken(settings, { kind: "user", subject: "bob", expiresIn: "-2m" });
  try {
    await verifyToken(settings, expired);
    assert.unreachable("expired token accepted");
  } catch (error) {
    assert.is((error as Error).message, "token expired");
  }
  const agentWithoutDevice = await signToken(settings, { kind: "agent", subject: "leaf01" });
  try {
    await verifyToken(settings, agentWithoutDevice);
    assert.unreachable("agent token without device accepted");
  } catch (error) {
    assert.match((error as Error).message, "no device");
  }
});

test("the verifier remembers good tokens and still refuses bad ones", async () => {
  const settings = { secret: "s".repeat(32), issuer: "bulkhead", audience: "bulkhead" };
  const verifier = new TokenVerifier(settings);
  const token = await signToken(settings, { kind: "service", subject: "network" });
  const first = await verifier.verify(token);
  assert.is(await verifier.verify(token), first);
  const forged = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
  try {
    await verifier.verify(forged);
    assert.unreachable("a forged token was accepted");
  } catch (error) {
    assert.is((error as Error).message, "token is not valid");
  }
});

test.run();
