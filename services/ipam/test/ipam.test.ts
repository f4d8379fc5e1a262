import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code, type Client } from "@connectrpc/connect";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { ResourceInfoSchema } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { IpamService, PrefixUsageSchema, PrefixUse } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { failure, startTestService, walkPages, type TestService } from "@bulkhead/testkit";
import { ipamService } from "../src/service.js";

const test = suite<{ svc: TestService; ipam: Client<typeof IpamService> }>("ipam", {} as never);

test.before(async (ctx) => {
  ctx.svc = await startTestService(ipamService);
  ctx.ipam = ctx.svc.client(IpamService, await ctx.svc.serviceToken("network"));
});
test.after(async (ctx) => ctx.svc?.stop());

const fieldOf = (error: Awaited<ReturnType<typeof failure>>) => error.findDetails(ViolationsSchema)[0]?.violations[0]?.field?.elements.map((e) => e.fieldName).join(".");
const count = async (svc: TestService, table: string) => Number((await svc.service.pool.query(`SELECT count(*) AS n FROM ${table}`)).rows[0].n);

test("namespaces: created idempotently, listed, deleted only when empty", async ({ ipam }) => {
  const first = await ipam.createNamespace({ namespace: "tenant-a" });
  const again = await ipam.createNamespace({ namespace: "tenant-a" });
  assert.equal(again.namespace?.createdAt, first.namespace?.createdAt);
  assert.equal((await ipam.listNamespaces({})).namespaces.map((n) => n.name), ["root", "tenant-a"]);
  await ipam.createPrefix({ namespace: "tenant-a", cidr: "10.0.0.0/24" });
  assert.is((await failure(ipam.deleteNamespace({ namespace: "tenant-a" }))).code, Code.FailedPrecondition);
  await ipam.deletePrefix({ namespace: "tenant-a", cidr: "10.0.0.0/24" });
  await ipam.deleteNamespace({ namespace: "tenant-a" });
  assert.is((await failure(ipam.deleteNamespace({ namespace: "tenant-a" }))).code, Code.NotFound);
  assert.is((await failure(ipam.deleteNamespace({ namespace: "root" }))).code, Code.InvalidArgument);
});

test("namespaces are listed in pages by name; a token from nowhere is invalid_argument", async ({ ipam }) => {
  for (const namespace of ["page-c", "page-a", "page-b"]) await ipam.createNamespace({ namespace });
  const names = await walkPages(2, async (page) => {
    const r = await ipam.listNamespaces(page);
    return { items: r.namespaces, next: r.nextPageToken };
  }, (n) => n.name);
  assert.equal(names.filter((n) => n.startsWith("page-")), ["page-a", "page-b", "page-c"]);
  assert.equal(names, [...names].sort());
  const bad = await failure(ipam.listNamespaces({ pageToken: "x" }));
  assert.equal([bad.code, bad.rawMessage.startsWith("page_token")], [Code.InvalidArgument, true], bad.rawMessage);
  for (const namespace of ["page-a", "page-b", "page-c"]) await ipam.deleteNamespace({ namespace });
});

test("an unknown namespace is not_found naming it, and nothing is written", async ({ svc, ipam }) => {
  const before = await count(svc, "prefixes");
  const error = await failure(ipam.createPrefix({ namespace: "nowhere", cidr: "10.9.0.0/16" }));
  assert.is(error.code, Code.NotFound);
  assert.is(error.findDetails(ResourceInfoSchema)[0]?.resourceName, "nowhere");
  assert.is((await failure(ipam.acquireIP({ namespace: "nowhere", prefixCidr: "10.9.0.0/16" }))).code, Code.NotFound);
  assert.is(await count(svc, "prefixes"), before);
});

test("prefixes never overlap within a namespace; the error names the overlap", async ({ ipam }) => {
  await ipam.createPrefix({ cidr: "172.20.0.0/16" });
  for (const cidr of ["172.20.0.0/16", "172.20.5.0/24", "172.0.0.0/8"]) {
    const error = await failure(ipam.createPrefix({ cidr }));
    assert.is(error.code, Code.AlreadyExists, cidr);
    assert.is(error.findDetails(ResourceInfoSchema)[0]?.resourceName, "172.20.0.0/16", cidr);
  }
  await ipam.createNamespace({ namespace: "other" });
  await ipam.createPrefix({ namespace: "other", cidr: "172.20.0.0/16" });
  assert.is((await ipam.getPrefix({ namespace: "other", cidr: "172.20.0.0/16" })).prefix?.namespace, "other");
});

test("namespaces isolate addresses: the same address lives in two namespaces independently", async ({ ipam }) => {
  await ipam.createNamespace({ namespace: "project-a" });
  await ipam.createNamespace({ namespace: "project-b" });
  for (const namespace of ["project-a", "project-b"]) await ipam.createPrefix({ namespace, cidr: "10.250.0.0/24" });
  const a = await ipam.acquireIP({ namespace: "project-a", prefixCidr: "10.250.0.0/24", ip: "10.250.0.10" });
  const b = await ipam.acquireIP({ namespace: "project-b", prefixCidr: "10.250.0.0/24", ip: "10.250.0.10" });
  assert.equal([a.ip?.namespace, b.ip?.namespace], ["project-a", "project-b"]);
  await ipam.releaseIP({ namespace: "project-a", ip: "10.250.0.10" });
  assert.is((await failure(ipam.acquireIP({ namespace: "project-b", prefixCidr: "10.250.0.0/24", ip: "10.250.0.10" }))).code, Code.AlreadyExists);
  assert.is((await ipam.listIPs({ namespace: "project-a", prefixCidr: "10.250.0.0/24" })).ips.length, 0);
  assert.is((await ipam.listIPs({ namespace: "project-b", prefixCidr: "10.250.0.0/24" })).ips.length, 1);
});

test("bad input is invalid_argument naming the field, and nothing is written", async ({ svc, ipam }) => {
  await ipam.createPrefix({ cidr: "192.168.10.0/24" });
  const [prefixes, ips] = [await count(svc, "prefixes"), await count(svc, "ips")];
  const cases: [() => Promise<unknown>, string][] = [
    [() => ipam.createPrefix({ cidr: "10.0.0.1/8" }), "cidr"],
    [() => ipam.createPrefix({ cidr: "not-a-cidr" }), "cidr"],
    [() => ipam.createPrefix({ namespace: "Bad Namespace", cidr: "10.0.0.0/8" }), "namespace"],
    [() => ipam.acquireIP({ prefixCidr: "192.168.10.0/24", ip: "10.1.1.1" }), "ip"],
    [() => ipam.acquireIP({ prefixCidr: "192.168.10.0/24", ip: "2001:db8::1" }), "ip"],
    [() => ipam.acquireIP({ prefixCidr: "192.168.10.0/24", ip: "192.168.10.0" }), "ip"],
    [() => ipam.acquireChildPrefix({ parentCidr: "192.168.10.0/24", child: { case: "length", value: 24 } }), "length"],
    [() => ipam.acquireChildPrefix({ parentCidr: "192.168.10.0/24", child: { case: "length", value: 33 } }), "length"],
    [() => ipam.acquireChildPrefix({ parentCidr: "192.168.10.0/24", child: { case: "cidr", value: "192.168.11.0/28" } }), "cidr"],
    [() => ipam.acquireChildPrefix({ parentCidr: "192.168.10.0/24", child: { case: "cidr", value: "2001:db8::/64" } }), "cidr"],
    [() => ipam.acquireChildPrefix({ parentCidr: "192.168.10.0/24" }), "child"],
    [() => ipam.listPrefixes({ pageToken: "garbage" }), "page_token"],
  ];
  for (const [call, field] of cases) {
    const error = await failure(call());
    assert.is(error.code, Code.InvalidArgument, `${field}: ${error.message}`);
    assert.is(fieldOf(error), field, error.message);
  }
  assert.is(await count(svc, "prefixes"), prefixes);
  assert.is(await count(svc, "ips"), ips);
  assert.is((await ipam.getPrefix({ cidr: "192.168.10.0/24" })).prefix?.use, PrefixUse.UNSPECIFIED, "a refused call does not mark the prefix as a pool");
});

test("IPs: next free skips the IPv4 network address, specific ones conflict, released ones come back", async ({ ipam }) => {
  await ipam.createPrefix({ cidr: "192.168.0.0/24" });
  const got = [];
  for (let i = 0; i < 3; i++) got.push((await ipam.acquireIP({ prefixCidr: "192.168.0.0/24" })).ip?.ip);
  assert.equal(got, ["192.168.0.1", "192.168.0.2", "192.168.0.3"]);
  assert.is((await ipam.acquireIP({ prefixCidr: "192.168.0.0/24", ip: "192.168.0.200" })).ip?.ip, "192.168.0.200");
  const taken = await failure(ipam.acquireIP({ prefixCidr: "192.168.0.0/24", ip: "192.168.0.200" }));
  assert.is(taken.code, Code.AlreadyExists);
  assert.is(fieldOf(await failure(ipam.acquireIP({ prefixCidr: "192.168.0.0/24", ip: "192.168.0.255" }))), "ip", "broadcast is never handed out");
  await ipam.releaseIP({ ip: "192.168.0.2" });
  assert.is((await ipam.acquireIP({ prefixCidr: "192.168.0.0/24" })).ip?.ip, "192.168.0.2");
  assert.is((await failure(ipam.releaseIP({ ip: "192.168.0.99" }))).code, Code.NotFound);
  assert.is(fieldOf(await failure(ipam.releaseIP({ ip: "192.168.0.1", prefixCidr: "172.20.0.0/16" }))), "prefix_cidr");
  assert.is((await ipam.listIPs({ prefixCidr: "192.168.0.0/24", pageSize: 2 })).ips.length, 2);
});

test("a full prefix is resource_exhausted with a usage detail saying what is left", async ({ ipam }) => {
  await ipam.createPrefix({ cidr: "192.168.1.0/30" });
  assert.equal([(await ipam.acquireIP({ prefixCidr: "192.168.1.0/30" })).ip?.ip, (await ipam.acquireIP({ prefixCidr: "192.168.1.0/30" })).ip?.ip], ["192.168.1.1", "192.168.1.2"]);
  const error = await failure(ipam.acquireIP({ prefixCidr: "192.168.1.0/30" }));
  assert.is(error.code, Code.ResourceExhausted);
  const usage = error.findDetails(PrefixUsageSchema)[0];
  assert.is(usage?.availableIps, "0");
  assert.is(usage?.acquiredIps, 2n);

  await ipam.createPrefix({ cidr: "192.168.2.0/24" });
  await ipam.acquireChildPrefix({ parentCidr: "192.168.2.0/24", child: { case: "length", value: 25 } });
  await ipam.acquireChildPrefix({ parentCidr: "192.168.2.0/24", child: { case: "cidr", value: "192.168.2.128/26" } });
  const full = await failure(ipam.acquireChildPrefix({ parentCidr: "192.168.2.0/24", child: { case: "length", value: 25 } }));
  assert.is(full.code, Code.ResourceExhausted);
  assert.is(full.findDetails(PrefixUsageSchema)[0]?.largestFreeBlock, "192.168.2.192/26");
  assert.is((await ipam.acquireChildPrefix({ parentCidr: "192.168.2.0/24", child: { case: "length", value: 26 } })).prefix?.cidr, "192.168.2.192/26");
});

test("child prefixes: first free block, specific blocks, overlap refused, parent-or-pool rule", async ({ ipam }) => {
  await ipam.createPrefix({ cidr: "10.0.0.0/16" });
  const cut = async (length: number) => (await ipam.acquireChildPrefix({ parentCidr: "10.0.0.0/16", child: { case: "length", value: length } })).prefix?.cidr;
  assert.equal([await cut(22), await cut(22), await cut(24), await cut(22)], ["10.0.0.0/22", "10.0.4.0/22", "10.0.8.0/24", "10.0.12.0/22"]);
  assert.is((await ipam.acquireChildPrefix({ parentCidr: "10.0.0.0/16", child: { case: "cidr", value: "10.0.128.0/20" } })).prefix?.parentCidr, "10.0.0.0/16");
  const overlap = await failure(ipam.acquireChildPrefix({ parentCidr: "10.0.0.0/16", child: { case: "cidr", value: "10.0.136.0/21" } }));
  assert.is(overlap.code, Code.AlreadyExists);
  assert.match(overlap.message, "10.0.128.0/20");
  // A parent holds no IPs; a child used as a pool holds no children.
  assert.is((await failure(ipam.acquireIP({ prefixCidr: "10.0.0.0/16" }))).code, Code.FailedPrecondition);
  await ipam.acquireIP({ prefixCidr: "10.0.0.0/22" });
  assert.is((await failure(ipam.acquireChildPrefix({ parentCidr: "10.0.0.0/22", child: { case: "length", value: 24 } }))).code, Code.FailedPrecondition);
  // Deleting or releasing what is in use is refused.
  assert.is((await failure(ipam.releaseChildPrefix({ cidr: "10.0.0.0/22" }))).code, Code.FailedPrecondition);
  assert.is((await failure(ipam.deletePrefix({ cidr: "10.0.0.0/16" }))).code, Code.FailedPrecondition);
  assert.is((await failure(ipam.deletePrefix({ cidr: "10.0.4.0/22" }))).code, Code.FailedPrecondition, "a child is released, not deleted");
  assert.is((await failure(ipam.releaseChildPrefix({ cidr: "10.0.0.0/16" }))).code, Code.FailedPrecondition, "a top-level prefix is deleted, not released");
});

test("released children merge back: after releasing everything the parent is whole again", async ({ ipam }) => {
  await ipam.createPrefix({ cidr: "10.1.0.0/20" });
  const children = [];
  for (let i = 0; i < 16; i++) children.push((await ipam.acquireChildPrefix({ parentCidr: "10.1.0.0/20", child: { case: "length", value: 24 } })).prefix!.cidr);
  assert.is((await failure(ipam.acquireChildPrefix({ parentCidr: "10.1.0.0/20", child: { case: "length", value: 24 } }))).code, Code.ResourceExhausted);
  await Promise.all(children.map((cidr) => ipam.releaseChildPrefix({ cidr })));
  const usage = (await ipam.getPrefixUsage({ cidrs: ["10.1.0.0/20"] })).prefixes[0];
  assert.is(usage?.largestFreeBlock, "10.1.0.0/20");
  assert.is(usage?.acquiredPrefixes, 0n);
  assert.is((await ipam.acquireChildPrefix({ parentCidr: "10.1.0.0/20", child: { case: "length", value: 21 } })).prefix?.cidr, "10.1.0.0/21");
  await ipam.releaseChildPrefix({ cidr: "10.1.0.0/21" });
  await ipam.deletePrefix({ cidr: "10.1.0.0/20" });
});

test("IPv6: a /48 is cut into /64s and a /64 hands out addresses without enumerating it", async ({ ipam }) => {
  await ipam.createPrefix({ cidr: "2001:db8::/48" });
  const child = (await ipam.acquireChildPrefix({ parentCidr: "2001:db8::/48", child: { case: "length", value: 64 } })).prefix!.cidr;
  assert.is(child, "2001:db8::/64");
  assert.is((await ipam.acquireChildPrefix({ parentCidr: "2001:db8::/48", child: { case: "length", value: 64 } })).prefix?.cidr, "2001:db8:0:1::/64");
  assert.equal([(await ipam.acquireIP({ prefixCidr: child })).ip?.ip, (await ipam.acquireIP({ prefixCidr: child })).ip?.ip], ["2001:db8::1", "2001:db8::2"]);
  assert.is((await ipam.acquireIP({ prefixCidr: child, ip: "2001:db8::ffff:ffff:ffff:ffff" })).ip?.ip, "2001:db8::ffff:ffff:ffff:ffff");
  const usage = await ipam.getPrefixUsage({ cidrs: [child, "2001:db8::/48"] });
  assert.is(usage.prefixes[0]?.availableIps, ((1n << 64n) - 1n - 3n).toString());
  assert.is(usage.prefixes[0]?.acquiredIps, 3n);
  assert.is(usage.prefixes[1]?.acquiredPrefixes, 2n);
  assert.is(usage.prefixes[1]?.availableIps, ((1n << 80n) - (2n << 64n)).toString());
  assert.is(usage.prefixes[1]?.largestFreeBlock, "2001:db8:0:8000::/49");
  assert.is(usage.families.length, 1);
});

test("usage sums per address family and counts without enumerating", async ({ ipam }) => {
  await ipam.createPrefix({ cidr: "100.64.0.0/16" });
  await ipam.createPrefix({ cidr: "2001:db8:ffff::/64" });
  await ipam.acquireIP({ prefixCidr: "100.64.0.0/16" });
  const { families, prefixes } = await ipam.getPrefixUsage({ cidrs: ["100.64.0.0/16", "2001:db8:ffff::/64"] });
  assert.is(prefixes[0]?.availableIps, String(65536 - 2 - 1));
  assert.equal(families.map((f) => f.family), [1, 2]);
  assert.is(families[1]?.availableIps, ((1n << 64n) - 1n).toString());
});

test("a repeated request_id returns the same allocation; reusing it for something else is refused", async ({ ipam }) => {
  await ipam.createPrefix({ cidr: "198.51.100.0/24" });
  const a = await ipam.acquireIP({ prefixCidr: "198.51.100.0/24", requestId: "alloc-42" });
  const b = await ipam.acquireIP({ prefixCidr: "198.51.100.0/24", requestId: "alloc-42" });
  assert.is(b.ip?.ip, a.ip?.ip);
  assert.is((await ipam.acquireIP({ prefixCidr: "198.51.100.0/24" })).ip?.ip, "198.51.100.2", "the retry took no second address");
  assert.is(fieldOf(await failure(ipam.acquireIP({ prefixCidr: "198.51.100.0/24", ip: "198.51.100.77", requestId: "alloc-42" }))), "request_id");
  await ipam.createPrefix({ cidr: "198.18.0.0/16" });
  const c1 = await ipam.acquireChildPrefix({ parentCidr: "198.18.0.0/16", child: { case: "length", value: 24 }, requestId: "net-7" });
  const c2 = await ipam.acquireChildPrefix({ parentCidr: "198.18.0.0/16", child: { case: "length", value: 24 }, requestId: "net-7" });
  assert.is(c2.prefix?.cidr, c1.prefix?.cidr);
  assert.is((await ipam.listPrefixes({ parentCidr: "198.18.0.0/16" })).prefixes.length, 1);
  assert.equal((await ipam.listPrefixes({ requestId: "net-7" })).prefixes.map((p) => p.cidr), [c1.prefix!.cidr], "found by its request_id");
  assert.equal((await ipam.listIPs({ prefixCidr: "198.51.100.0/24", requestId: "alloc-42" })).ips.map((i) => i.ip), [a.ip!.ip]);
});

test("listing pages through prefixes in address order with filters", async ({ ipam }) => {
  await ipam.createNamespace({ namespace: "paging" });
  for (const cidr of ["10.3.0.0/16", "10.1.0.0/16", "10.2.0.0/16", "2001:db8:1::/48"]) await ipam.createPrefix({ namespace: "paging", cidr });
  const seen: string[] = [];
  let token = "";
  do {
    const page = await ipam.listPrefixes({ namespace: "paging", pageSize: 2, pageToken: token });
    seen.push(...page.prefixes.map((p) => p.cidr));
    token = page.nextPageToken;
  } while (token);
  assert.equal(seen, ["10.1.0.0/16", "10.2.0.0/16", "10.3.0.0/16", "2001:db8:1::/48"]);
  assert.equal((await ipam.listPrefixes({ namespace: "paging", family: 2 })).prefixes.map((p) => p.cidr), ["2001:db8:1::/48"]);
});

test("only administrators and services may change IPAM; viewers may read", async ({ svc }) => {
  await svc.client(IpamService, await svc.adminToken()).createPrefix({ cidr: "203.0.113.0/24" });
  const viewer = svc.client(IpamService, await svc.viewerToken());
  assert.ok((await viewer.getPrefix({ cidr: "203.0.113.0/24" })).prefix);
  assert.is((await failure(viewer.acquireIP({ prefixCidr: "203.0.113.0/24" }))).code, Code.PermissionDenied);
  const tenant = svc.client(IpamService, await svc.projectToken("p1", "owner"));
  assert.is((await failure(tenant.getPrefix({ cidr: "203.0.113.0/24" }))).code, Code.PermissionDenied);
});

test("state survives a restart", async ({ svc }) => {
  const admin = await svc.adminToken();
  const before = (await svc.client(IpamService, admin).getPrefixUsage({ cidrs: ["192.168.0.0/24", "10.0.0.0/16"] })).prefixes;
  await svc.restart();
  const ipam = svc.client(IpamService, admin);
  const after = (await ipam.getPrefixUsage({ cidrs: ["192.168.0.0/24", "10.0.0.0/16"] })).prefixes;
  assert.equal(after, before);
  assert.is((await failure(ipam.acquireIP({ prefixCidr: "192.168.0.0/24", ip: "192.168.0.200" }))).code, Code.AlreadyExists);
});

test.run();
