// IPAM benchmark. In one run on this machine:
//   - ceilings: Postgres' single-row commit rate (a bare pg loop, one INSERT per transaction) and
//     the RPC framework's rate (a no-op Health/Check over gRPC to the same process);
//   - IP and child-prefix allocations/s and acquire+release pairs/s at 1, 8 and 32 concurrent
//     clients and at 0 %, 50 % and 99 % fill of a /16, through two paths:
//       "service": the IPAM domain and store exactly as the RPC handlers call them, over a pg pool;
//       "rpc":     gRPC calls to IPAM running as its own process, authenticated, validated, audited.
import { randomBytes } from "node:crypto";
import pg from "pg";
import { Health } from "@bulkhead/api/gen/grpc/health/v1/health_pb.js";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { createPool } from "@bulkhead/db";
import { createTestDatabase, testValkeyUrl } from "@bulkhead/db/testing";
import { createServiceClient, signToken } from "@bulkhead/service-kit";
import { deleteKeys, randomSecret, startServiceProcess } from "@bulkhead/testkit";
import { median, percentile, repeatedRuns, sustained, table, type Throughput } from "@bulkhead/testkit/bench";
import { Ipam } from "../src/domain.js";
import { IpamStore } from "../src/store.js";

const CONCURRENCY = [1, 8, 32] as const;
const FILLS = [0, 50, 99] as const;
const RUNS = 7;
const IP_OPS_PER_RUN = 600; // a 99 %-full /16 has 655 free addresses
const CHILD_OPS_PER_RUN = 150; // a 99 %-full /16 of /30 children has 163 free blocks
const SUSTAIN_MS = 1500;
const WINDOW_MS = 250;
const GO_IPAM_POSTGRES_PAIR_OPS = 331;

const round = (n: number) => Math.round(n * 100) / 100;
const progress = (message: string) => process.stderr.write(`  ipam bench: ${message}\n`);

/** What a path can do: acquire/release IPs and /30 children. */
interface Path {
  acquireIp(cidr: string): Promise<string>;
  releaseIp(ip: string, cidr: string): Promise<unknown>;
  acquireChild(parent: string): Promise<string>;
  releaseChild(cidr: string): Promise<unknown>;
}

export default async function run() {
  const db = await createTestDatabase("ipam_bench");
  const secret = randomSecret();
  const queuePrefix = `bhbench-${randomBytes(4).toString("hex")}`;
  progress("starting the ipam process");
  const service = await startServiceProcess(new URL("../src/main.ts", import.meta.url), {
    DATABASE_URL: db.url,
    VALKEY_URL: testValkeyUrl(),
    BULKHEAD_JWT_SECRET: secret,
    BULKHEAD_DB_POOL_SIZE: "32",
    BULKHEAD_QUEUE_PREFIX: queuePrefix,
  });
  const token = await signToken({ secret, issuer: "bulkhead", audience: "bulkhead" }, { kind: "service", subject: "bench", expiresIn: "2h" });
  const client = createServiceClient(IpamService, { baseUrl: service.url, protocol: "grpc", token });
  const health = createServiceClient(Health, { baseUrl: service.url, protocol: "grpc" });
  const pool = createPool({ url: db.url, schema: "ipam", max: 32 });
  const ipam = new Ipam(new IpamStore(pool));
  const paths: Record<"service" | "rpc", Path> = {
    service: {
      acquireIp: async (cidr) => (await ipam.acquireIp("", cidr, "", "")).ip,
      releaseIp: (ip, cidr) => ipam.releaseIp("", ip, cidr),
      acquireChild: async (parent) => (await ipam.acquireChildPrefix("", parent, { length: 30 }, "")).cidr,
      releaseChild: (cidr) => ipam.releaseChildPrefix("", cidr),
    },
    rpc: {
      acquireIp: async (cidr) => (await client.acquireIP({ prefixCidr: cidr })).ip!.ip,
      releaseIp: (ip, cidr) => client.releaseIP({ ip, prefixCidr: cidr }),
      acquireChild: async (parent) => (await client.acquireChildPrefix({ parentCidr: parent, child: { case: "length", value: 30 } })).prefix!.cidr,
      releaseChild: (cidr) => client.releaseChildPrefix({ cidr }),
    },
  };
  const figures: Record<string, number> = {};
  const sections: string[] = [];

  try {
    // The ceilings drift by ±10 % over a run on this machine: they are measured at the start, in
    // the middle and at the end, and the median of the three is used.
    await pool.query("CREATE TABLE public.ceiling (id bigserial PRIMARY KEY, v int NOT NULL)");
    const ceilingSamples = new Map<string, number[]>();
    const measureCeilings = async () => {
      progress("ceilings");
      for (const c of CONCURRENCY) {
        const bare = new pg.Pool({ connectionString: db.url, max: c });
        const sample = (key: string, r: Throughput) => ceilingSamples.set(key, [...(ceilingSamples.get(key) ?? []), r.perSecond]);
        sample(`pg${c}`, await sustained(c, SUSTAIN_MS, WINDOW_MS, () => bare.query("INSERT INTO public.ceiling (v) VALUES (1)")));
        await bare.end();
        sample(`rpc${c}`, await sustained(c, SUSTAIN_MS, WINDOW_MS, () => health.check({ service: "" })));
      }
    };
    await measureCeilings();

    // One /16 per fill level and kind, filled with the real allocator, then released in a
    // scattered pattern so the free addresses or blocks are spread over the whole prefix.
    progress("filling prefixes");
    let net = 0;
    const newPrefix = async () => {
      const cidr = `10.${net++}.0.0/16`;
      await ipam.createPrefix("", cidr);
      return cidr;
    };
    const offset = (column: string, cidr: string) => `(${column} - network('${cidr}'::cidr))`;
    const ipPools = new Map<number, string>();
    const parents = new Map<number, string>();
    for (const fill of FILLS) {
      const ips = await newPrefix();
      const parent = await newPrefix();
      if (fill > 0) {
        await pool.query("SELECT count(acquire_ip('root', $1, NULL, NULL)) FROM generate_series(1, 65534)", [ips]);
        await pool.query(`SELECT count(release_ip('root', ip, NULL)) FROM ips WHERE prefix_id = (SELECT id FROM prefixes WHERE cidr = $1) AND ${offset("ip", ips)} % 100 >= $2`, [ips, fill]);
        await pool.query("SELECT count(acquire_child_prefix('root', $1, 30, NULL, NULL)) FROM generate_series(1, 16384)", [parent]);
        await pool.query(`SELECT count(release_child_prefix('root', cidr)) FROM prefixes WHERE parent_id = (SELECT id FROM prefixes WHERE cidr = $1) AND (${offset("network(cidr)", parent)} / 4) % 100 >= $2`, [parent, fill]);
      }
      ipPools.set(fill, ips);
      parents.set(fill, parent);
    }
    // The fill churned hundreds of thousands of rows: vacuum now so autovacuum does not compete
    // with the measurements for this machine's two cores.
    await pool.query("VACUUM (ANALYZE) ips, ip_blocks, prefixes, free_blocks");
    // Runs start from the same state: what a run acquired is released again, untimed.
    const restoreIps = (ips: string[]) => pool.query("SELECT count(release_ip('root', ip::inet, NULL)) FROM unnest($1::text[]) AS ip", [ips]).then(() => {});
    const restoreChildren = (cidrs: string[]) => pool.query("SELECT count(release_child_prefix('root', c::cidr)) FROM unnest($1::text[]) AS c", [cidrs]).then(() => {});

    const results = new Map<string, Throughput>();
    // The allocator alone: acquire_ip() called straight over pg, without the service's code.
    for (const fill of FILLS) {
      progress(`sql: 8 clients, ${fill} % fill`);
      const ips = ipPools.get(fill)!;
      results.set(`sql_ip_alloc_8c_${fill}pct`, await repeatedRuns({
        runs: RUNS,
        operations: IP_OPS_PER_RUN,
        concurrency: 8,
        op: async () => (await pool.query({ name: "bench_acquire_ip", text: "SELECT host(ip) AS ip FROM acquire_ip('root', $1, NULL, NULL)", values: [ips] })).rows[0].ip as string,
        restore: restoreIps,
      }));
    }
    for (const [pathName, path] of Object.entries(paths)) {
      if (pathName === "rpc") await measureCeilings();
      for (const fill of FILLS) {
        for (const c of CONCURRENCY) {
          progress(`${pathName}: ${c} clients, ${fill} % fill`);
          const ips = ipPools.get(fill)!;
          const parent = parents.get(fill)!;
          const key = (kind: string) => `${pathName}_${kind}_${c}c_${fill}pct`;
          results.set(key("ip_alloc"), await repeatedRuns({ runs: RUNS, operations: IP_OPS_PER_RUN, concurrency: c, op: () => path.acquireIp(ips), restore: restoreIps }));
          results.set(key("ip_pair"), await sustained(c, SUSTAIN_MS, WINDOW_MS, async () => path.releaseIp(await path.acquireIp(ips), ips)));
          results.set(key("child_alloc"), await repeatedRuns({ runs: RUNS, operations: CHILD_OPS_PER_RUN, concurrency: c, op: () => path.acquireChild(parent), restore: restoreChildren }));
          results.set(key("child_pair"), await sustained(c, SUSTAIN_MS, WINDOW_MS, async () => path.releaseChild(await path.acquireChild(parent))));
        }
      }
    }
    await measureCeilings();
    const pgCeiling = new Map(CONCURRENCY.map((c) => [c, median(ceilingSamples.get(`pg${c}`)!)]));
    const rpcCeiling = new Map(CONCURRENCY.map((c) => [c, median(ceilingSamples.get(`rpc${c}`)!)]));
    for (const c of CONCURRENCY) {
      figures[`ceiling_per_s_${c}c`] = Math.round(pgCeiling.get(c)!);
      figures[`rpc_ceiling_per_s_${c}c`] = Math.round(rpcCeiling.get(c)!);
    }
    for (const [key, r] of results) figures[key.replace(/_(alloc|pair)_/, (_, k) => (k === "alloc" ? "_alloc_per_s_" : "_pair_ops_per_s_"))] = Math.round(r.perSecond);

    const get = (path: string, kind: string, c: number, fill: number) => results.get(`${path}_${kind}_${c}c_${fill}pct`)!;
    const alloc8 = get("service", "ip_alloc", 8, 0);
    figures.alloc_per_s_8c = Math.round(alloc8.perSecond);
    figures.ceiling_per_s_8c = Math.round(pgCeiling.get(8)!);
    figures.alloc_ratio_8c = round(alloc8.perSecond / pgCeiling.get(8)!);
    figures.fill_ratio = round(get("service", "ip_alloc", 8, 99).perSecond / alloc8.perSecond);
    figures.pair_ops_per_s_8c = Math.round(get("service", "ip_pair", 8, 0).perSecond);
    figures.p99_ms_8c = round(percentile(alloc8.latenciesMs, 99));
    figures.sql_alloc_ratio_8c = round(get("sql", "ip_alloc", 8, 0).perSecond / pgCeiling.get(8)!);
    const rpc8 = get("rpc", "ip_alloc", 8, 0);
    figures.rpc_alloc_per_s_8c = Math.round(rpc8.perSecond);
    figures.rpc_alloc_ratio_8c = round(rpc8.perSecond / rpcCeiling.get(8)!);
    figures.rpc_fill_ratio = round(get("rpc", "ip_alloc", 8, 99).perSecond / rpc8.perSecond);
    figures.rpc_pair_ops_per_s_8c = Math.round(get("rpc", "ip_pair", 8, 0).perSecond);
    figures.rpc_p99_ms_8c = round(percentile(rpc8.latenciesMs, 99));
    figures.rpc_pair_ops_vs_go_ipam = round(figures.rpc_pair_ops_per_s_8c / GO_IPAM_POSTGRES_PAIR_OPS);

    const header = ["fill", "clients", "ops/s (median)", "÷ ceiling", "p50 ms", "p99 ms"];
    const rows = (path: string, kind: string, ceiling: Map<number, number>) =>
      FILLS.flatMap((fill) =>
        CONCURRENCY.map((c) => {
          const r = get(path, kind, c, fill);
          return [`${fill} %`, c, Math.round(r.perSecond), round(r.perSecond / ceiling.get(c)!), round(median(r.latenciesMs)), round(percentile(r.latenciesMs, 99))];
        }),
      );
    sections.push(
      "## Headline (8 clients)",
      table(["figure", "value", "target"], [
        ["IP allocations/s at 0 % fill, allocation path (`alloc_per_s_8c`)", figures.alloc_per_s_8c, ""],
        ["Postgres ceiling: single-row INSERT commits/s (`ceiling_per_s_8c`)", figures.ceiling_per_s_8c, ""],
        ["allocations ÷ ceiling (`alloc_ratio_8c`)", figures.alloc_ratio_8c, "≥ 0.5"],
        ["99 %-fill ÷ 0 %-fill allocations/s (`fill_ratio`)", figures.fill_ratio, "≥ 0.5"],
        ["acquire+release pairs/s (`pair_ops_per_s_8c`)", figures.pair_ops_per_s_8c, ""],
        ["p99 acquire latency ms (`p99_ms_8c`)", figures.p99_ms_8c, "reported"],
        ["the SQL allocator alone ÷ ceiling (`sql_alloc_ratio_8c`)", figures.sql_alloc_ratio_8c, ""],
        ["IP allocations/s over gRPC (`rpc_alloc_per_s_8c`)", figures.rpc_alloc_per_s_8c, ""],
        ["RPC ceiling: no-op Health/Check calls/s (`rpc_ceiling_per_s_8c`)", figures.rpc_ceiling_per_s_8c, ""],
        ["gRPC allocations ÷ RPC ceiling (`rpc_alloc_ratio_8c`)", figures.rpc_alloc_ratio_8c, ""],
        ["gRPC 99 %-fill ÷ 0 %-fill (`rpc_fill_ratio`)", figures.rpc_fill_ratio, ""],
        ["gRPC p99 acquire latency ms (`rpc_p99_ms_8c`)", figures.rpc_p99_ms_8c, ""],
        [`gRPC acquire+release pairs/s ÷ go-ipam's published Postgres figure (${GO_IPAM_POSTGRES_PAIR_OPS}/s)`, figures.rpc_pair_ops_vs_go_ipam, ""],
      ]),
      "## Ceilings measured in this run (median of three measurements: start, middle, end)",
      table(["clients", "Postgres commits/s", "samples", "no-op gRPC calls/s", "samples"], CONCURRENCY.map((c) => [c, Math.round(pgCeiling.get(c)!), ceilingSamples.get(`pg${c}`)!.map(Math.round).join(", "), Math.round(rpcCeiling.get(c)!), ceilingSamples.get(`rpc${c}`)!.map(Math.round).join(", ")])),
      "## Allocation path (domain + store over a pg pool, as the RPC handlers call it); ÷ Postgres ceiling",
      `### IP allocations, ${IP_OPS_PER_RUN} per run, median of ${RUNS} runs`,
      table(header, rows("service", "ip_alloc", pgCeiling)),
      "### IP acquire+release pairs (go-ipam's \"Acquire IP\" op), sustained",
      table(header, rows("service", "ip_pair", pgCeiling)),
      `### Child prefixes (/30 out of a /16), ${CHILD_OPS_PER_RUN} per run, median of ${RUNS} runs`,
      table(header, rows("service", "child_alloc", pgCeiling)),
      "### Child prefix acquire+release pairs, sustained",
      table(header, rows("service", "child_pair", pgCeiling)),
      "### The SQL allocator alone (`acquire_ip()` over pg), 8 clients",
      table(["fill", "ops/s (median)", "÷ ceiling"], FILLS.map((fill) => [`${fill} %`, Math.round(get("sql", "ip_alloc", 8, fill).perSecond), round(get("sql", "ip_alloc", 8, fill).perSecond / pgCeiling.get(8)!)])),
      "## Over gRPC to the IPAM process; ÷ RPC ceiling",
      `### IP allocations, ${IP_OPS_PER_RUN} per run, median of ${RUNS} runs`,
      table(header, rows("rpc", "ip_alloc", rpcCeiling)),
      "### IP acquire+release pairs, sustained",
      table(header, rows("rpc", "ip_pair", rpcCeiling)),
      `### Child prefixes (/30 out of a /16), ${CHILD_OPS_PER_RUN} per run, median of ${RUNS} runs`,
      table(header, rows("rpc", "child_alloc", rpcCeiling)),
      "### Child prefix acquire+release pairs, sustained",
      table(header, rows("rpc", "child_pair", rpcCeiling)),
      "## Method",
      [
        "- One run on this machine: 2 cores shared by Postgres (`synchronous_commit = on`), the IPAM process and the benchmark process.",
        "- Allocation path: `Ipam` (domain) → `IpamStore` → one call of the SQL function `acquire_ip()`/`acquire_child_prefix()` per operation, on a pool of 32 connections in the benchmark process.",
        "- gRPC: the service started from `src/main.ts` as its own process (pool of 32), called over one HTTP/2 connection; every call is authenticated (JWT), authorized, validated (protovalidate) and audited as in production. The RPC ceiling is a no-op `grpc.health.v1.Health/Check` to the same process with the same client: what Connect-ES itself costs on this machine.",
        "- After filling, the tables are vacuumed once, so autovacuum does not run during the measurements.",
        "- Fill levels are made with the real allocator: fill the /16, then release in a scattered pattern (every address or /30 whose index mod 100 ≥ fill) so free space is spread over the whole prefix.",
        `- Allocation rates: each run acquires a fixed number starting at the fill level and then (untimed) releases them; the figure is the median over ${RUNS} runs after one discarded warm-up run. Pairs and ceilings run ${SUSTAIN_MS / 1000} s and report the median of ${WINDOW_MS} ms windows (first window dropped).`,
        `- go-ipam's published ${GO_IPAM_POSTGRES_PAIR_OPS} ops/s (README, Postgres backend, Xeon 8370C) is its library without RPC; one op = acquire and release one IP in a 10.0.0.0/16.`,
      ].join("\n"),
    );
  } finally {
    await service.stop();
    await pool.end();
    await db.drop();
    await deleteKeys(testValkeyUrl(), `${queuePrefix}:*`);
  }
  return { figures, report: sections.join("\n\n") };
}
