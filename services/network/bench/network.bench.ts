// Child-network allocations/s at 1 and 8 clients: each allocation is a saga (a row with its VRF,
// two IPAM child prefixes over gRPC, the ready row with its outbox event). IPAM and the network
// service run as their own processes; clients call AllocateNetwork over gRPC.
import { randomBytes } from "node:crypto";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { Health } from "@bulkhead/api/gen/grpc/health/v1/health_pb.js";
import { createTestDatabase, testValkeyUrl } from "@bulkhead/db/testing";
import { createServiceClient, signToken } from "@bulkhead/service-kit";
import { deleteKeys, randomSecret, startServiceProcess } from "@bulkhead/testkit";
import { median, percentile, sustained, table } from "@bulkhead/testkit/bench";

const SUSTAIN_MS = 3000;
const WINDOW_MS = 500;
const round = (n: number) => Math.round(n * 100) / 100;

export default async function run() {
  const secret = randomSecret();
  const queuePrefix = `bhbench-${randomBytes(4).toString("hex")}`;
  const [ipamDb, networkDb] = [await createTestDatabase("ipam_nbench"), await createTestDatabase("network_nbench")];
  const common = { VALKEY_URL: testValkeyUrl(), BULKHEAD_JWT_SECRET: secret, BULKHEAD_QUEUE_PREFIX: queuePrefix, BULKHEAD_DB_POOL_SIZE: "16", BULKHEAD_RATE_LIMIT_PER_SECOND: "0" };
  const ipam = await startServiceProcess(new URL("../../ipam/src/main.ts", import.meta.url), { ...common, DATABASE_URL: ipamDb.url });
  const network = await startServiceProcess(new URL("../src/main.ts", import.meta.url), { ...common, DATABASE_URL: networkDb.url, BULKHEAD_IPAM_URL: ipam.url });
  const admin = await signToken({ secret, issuer: "bulkhead", audience: "bulkhead" }, { kind: "user", subject: "admin", roles: ["admin"], expiresIn: "2h" });
  const client = <T extends Parameters<typeof createServiceClient>[0]>(desc: T) => createServiceClient(desc, { baseUrl: network.url, token: admin, protocol: "grpc" });
  const figures: Record<string, number> = {};
  try {
    await client(PartitionService).createPartition({ id: "p1", name: "p1" });
    await client(TenantService).createTenant({ id: "t1", name: "t1" });
    const project = (await client(ProjectService).createProject({ tenant: "t1", name: "bench" })).project!.id;
    await client(NetworkService).createNetwork({ id: "super", name: "super", type: NetworkType.SUPER, partition: "p1", prefixes: ["10.0.0.0/8", "2001:db8::/32"], defaultChildPrefixLength: { ipv4: 24, ipv6: 64 } });
    const networks = client(NetworkService);
    const health = createServiceClient(Health, { baseUrl: network.url, protocol: "grpc" });
    const rows: (string | number)[][] = [];
    for (const c of [1, 8]) {
      const rpc = await sustained(c, SUSTAIN_MS, WINDOW_MS, () => health.check({}));
      const dual = await sustained(c, SUSTAIN_MS, WINDOW_MS, () => networks.allocateNetwork({ project, partition: "p1", name: "bench" }));
      const v4 = await sustained(c, SUSTAIN_MS, WINDOW_MS, () => networks.allocateNetwork({ project, partition: "p1", name: "bench", addressFamily: AddressFamily.IPV4 }));
      figures[`network_alloc_per_s_${c}c`] = Math.round(dual.perSecond);
      figures[`network_alloc_v4_per_s_${c}c`] = Math.round(v4.perSecond);
      figures[`network_alloc_p99_ms_${c}c`] = round(percentile(dual.latenciesMs, 99));
      figures[`rpc_ceiling_per_s_${c}c`] = Math.round(rpc.perSecond);
      rows.push([c, Math.round(dual.perSecond), round(median(dual.latenciesMs)), round(percentile(dual.latenciesMs, 99)), Math.round(v4.perSecond), Math.round(rpc.perSecond)]);
    }
    const report = [
      "## Child-network allocations (AllocateNetwork over gRPC)",
      table(["clients", "dual-stack allocations/s (median)", "p50 ms", "p99 ms", "IPv4-only allocations/s", "no-op gRPC calls/s to the network service"], rows),
      "## Method",
      [
        `- IPAM and the network service run as their own processes (pools of 16), with their own databases on the same Postgres; the benchmark calls AllocateNetwork over gRPC for ${SUSTAIN_MS / 1000} s per point and reports the median over ${WINDOW_MS} ms windows (first dropped).`,
        "- A dual-stack allocation is a saga: one transaction writing the row and its VRF, two AcquireChildPrefix calls to IPAM (a /24 out of 10.0.0.0/8 and a /64 out of 2001:db8::/32), one transaction marking it ready with its outbox event; plus authentication, validation and audit on both services.",
        "- The no-op column is a `grpc.health.v1.Health/Check` to the network service in the same run: the RPC framework's own rate on this machine, for scale.",
        "- Per-principal rate limits are off (`BULKHEAD_RATE_LIMIT_PER_SECOND=0`): the figures are what the services can do, not what one user is allowed.",
      ].join("\n"),
    ].join("\n\n");
    return { figures, report };
  } finally {
    await network.stop();
    await ipam.stop();
    await ipamDb.drop();
    await networkDb.drop();
    await deleteKeys(testValkeyUrl(), `${queuePrefix}:*`);
  }
}
