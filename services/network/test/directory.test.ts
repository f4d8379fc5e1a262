import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { encodePageToken } from "@bulkhead/service-kit";
import { walkPages } from "@bulkhead/testkit";
import { failure, startWorld, type World } from "./harness.js";

const test = suite<{ w: World }>("partitions, tenants, projects", {} as never);
test.before(async (ctx) => {
  ctx.w = await startWorld();
});
test.after(async (ctx) => ctx.w?.stop());

const field = (e: Awaited<ReturnType<typeof failure>>) => e.findDetails(ViolationsSchema)[0]?.violations[0]?.field?.elements.map((x) => x.fieldName).join(".");

test("partitions: everyone reads, admins write; server lists are validated; in use means not deletable", async ({ w }) => {
  const admin = w.network.client(PartitionService, w.admin);
  const member = w.network.client(PartitionService, await w.network.projectToken(w.projectA, "viewer"));
  assert.is((await member.getPartition({ id: "fra1" })).partition?.dnsServers[0], "1.1.1.1");
  assert.is((await failure(member.createPartition({ id: "x1", name: "x" }))).code, Code.PermissionDenied);
  const updated = (await admin.updatePartition({ id: "fra1", ntpServers: { addresses: ["ntp.example.org", "10.0.0.1"] }, mgmtServiceAddresses: { addresses: ["mgmt.example.org:443"] } })).partition!;
  assert.equal([updated.ntpServers, updated.mgmtServiceAddresses, updated.dnsServers], [["ntp.example.org", "10.0.0.1"], ["mgmt.example.org:443"], ["1.1.1.1"]]);
  assert.is(field(await failure(admin.updatePartition({ id: "fra1", dnsServers: { addresses: ["not-an-ip"] } }))), "dns_servers.addresses");
  assert.is(field(await failure(admin.updatePartition({ id: "fra1", mgmtServiceAddresses: { addresses: ["no-port"] } }))), "mgmt_service_addresses.addresses");
  assert.is((await failure(admin.deletePartition({ id: "fra1" }))).code, Code.FailedPrecondition, "its networks keep it");
  assert.is((await failure(admin.createPartition({ id: "fra1", name: "again" }))).code, Code.AlreadyExists);
  await admin.createPartition({ id: "empty", name: "empty" });
  await admin.deletePartition({ id: "empty" });
  assert.is((await failure(admin.getPartition({ id: "empty" }))).code, Code.NotFound);
});

test("projects: names unique per tenant, request_id idempotent, members list only theirs (agents none), owners rename", async ({ w }) => {
  const admin = w.network.client(ProjectService, w.admin);
  assert.is((await failure(admin.createProject({ tenant: "acme", name: "a" }))).code, Code.AlreadyExists);
  await w.network.client(TenantService, w.admin).createTenant({ id: "other", name: "Other" });
  const same = (await admin.createProject({ tenant: "other", name: "a" })).project!;
  assert.is(same.tenant, "other", "the same name under another tenant is fine");
  const first = (await admin.createProject({ tenant: "other", name: "ci", requestId: "p-1" })).project!;
  assert.is((await admin.createProject({ tenant: "other", name: "ci", requestId: "p-1" })).project?.id, first.id);
  const reused = await failure(admin.createProject({ tenant: "other", name: "ci-2", requestId: "p-1" }));
  assert.equal([reused.code, reused.rawMessage.includes("request_id p-1 was used for another project")], [Code.AlreadyExists, true], "another body under the request_id");
  assert.is((await failure(admin.createProject({ tenant: "nobody", name: "x" }))).code, Code.NotFound);

  const memberOfA = w.network.client(ProjectService, await w.network.projectToken(w.projectA, "viewer"));
  assert.equal((await memberOfA.listProjects({})).projects.map((p) => p.id), [w.projectA]);
  const agent = w.network.client(ProjectService, await w.network.agentToken("fw01"));
  assert.equal((await agent.listProjects({})).projects, [], "an agent is a member of no project: it lists none");
  const service = w.network.client(ProjectService, await w.network.serviceToken());
  assert.ok((await service.listProjects({})).projects.length >= 3, "services list every project");
  assert.is((await failure(memberOfA.getProject({ project: w.projectB }))).code, Code.PermissionDenied);
  assert.is((await failure(memberOfA.updateProject({ project: w.projectA, name: "renamed" }))).code, Code.PermissionDenied, "viewers do not rename");
  const owner = w.network.client(ProjectService, await w.network.projectToken(w.projectA, "owner"));
  const renamed = (await owner.updateProject({ project: w.projectA, labels: { set: { "auto-peer": "true" }, remove: [] } })).project!;
  assert.equal(renamed.labels, { "auto-peer": "true" });
  assert.equal((await admin.listProjects({ labels: { "auto-peer": "true" } })).projects.map((p) => p.id), [w.projectA]);
  await w.editorA.networks.allocateNetwork({ project: w.projectA, partition: "fra1", name: "keeps the project" });
  assert.is((await failure(admin.deleteProject({ project: w.projectA }))).code, Code.FailedPrecondition, "its networks keep it");
  assert.is((await failure(admin.getProject({ project: "not-a-uuid" }))).code, Code.NotFound);
  const events = (await w.network.service.pool.query("SELECT topic, payload FROM outbox WHERE key = $1 ORDER BY id", [`project/${w.projectA}`])).rows;
  assert.equal(events.map((e) => e.topic), ["project.created", "project.updated"]);
  assert.equal(events[1].payload.labels, { "auto-peer": "true" });
});

test("tenants: admins only; a tenant with projects stays", async ({ w }) => {
  const admin = w.network.client(TenantService, w.admin);
  assert.is((await failure(admin.deleteTenant({ id: "acme" }))).code, Code.FailedPrecondition);
  assert.is((await failure(w.network.client(TenantService, await w.network.projectToken(w.projectA, "owner")).listTenants({}))).code, Code.PermissionDenied);
  assert.is((await admin.updateTenant({ id: "acme", description: "the company" })).tenant?.description, "the company");
});


test("partitions, tenants and projects are listed in pages in their order; members page through theirs only; foreign tokens are invalid_argument", async ({ w }) => {
  const partitions = w.network.client(PartitionService, w.admin);
  const tenants = w.network.client(TenantService, w.admin);
  const projects = w.network.client(ProjectService, w.admin);
  for (const id of ["pg-c", "pg-a", "pg-b"]) {
    await partitions.createPartition({ id, name: id });
    await tenants.createTenant({ id, name: id });
  }
  const created: string[] = [];
  for (const [tenant, name] of [["pg-b", "z"], ["pg-a", "y"], ["pg-b", "a"], ["pg-a", "x"], ["pg-c", "m"]]) created.push((await projects.createProject({ tenant, name })).project!.id);
  const partitionIds = await walkPages(2, async (page) => { const r = await partitions.listPartitions(page); return { items: r.partitions, next: r.nextPageToken }; }, (p) => p.id);
  assert.equal(partitionIds.filter((id) => id.startsWith("pg-")), ["pg-a", "pg-b", "pg-c"]);
  assert.equal(partitionIds, [...partitionIds].sort(), "in id order");
  const tenantIds = await walkPages(2, async (page) => { const r = await tenants.listTenants(page); return { items: r.tenants, next: r.nextPageToken }; }, (t) => t.id);
  assert.equal(tenantIds.filter((id) => id.startsWith("pg-")), ["pg-a", "pg-b", "pg-c"]);
  const projectKeys = await walkPages(2, async (page) => { const r = await projects.listProjects(page); return { items: r.projects, next: r.nextPageToken }; }, (p) => `${p.tenant}/${p.name}`);
  assert.equal(projectKeys.filter((k) => k.startsWith("pg-")), ["pg-a/x", "pg-a/y", "pg-b/a", "pg-b/z", "pg-c/m"], "by tenant, then name");
  assert.is((await projects.listProjects({ pageSize: 1000 })).projects.length, projectKeys.length, "one page of all of them says the same");
  const member = w.network.client(ProjectService, await w.network.projectToken(w.projectA, "viewer"));
  assert.equal(await walkPages(1, async (page) => { const r = await member.listProjects(page); return { items: r.projects, next: r.nextPageToken }; }, (p) => p.id), [w.projectA]);
  for (const pageToken of ["x", encodePageToken("pg-a"), encodePageToken(["pg-a"]), encodePageToken(["pg-a", "x", "y"])]) {
    const bad = await failure(projects.listProjects({ pageToken }));
    assert.equal([bad.code, bad.rawMessage.startsWith("page_token")], [Code.InvalidArgument, true], bad.rawMessage);
  }
  const bad = await failure(partitions.listPartitions({ pageToken: encodePageToken(["pg-a", "x"]) }));
  assert.is(bad.code, Code.InvalidArgument, "a two-part token is no partition id");
  assert.is((await failure(tenants.listTenants({ pageSize: 1001 }))).code, Code.InvalidArgument);
});

test.run();
