// The isolation verifier: how long it takes on a large partition, and what it catches.
// - Time: a partition of 200 leaves and 1,000 dual-stack networks (pairs of them peered), 47
//   machine ports per leaf, rendered by libs/render and verified from the text against record
//   facts. Baseline in the same run: rendering the same partition.
// - Catch rate: every fault of the mutation catalogue (test/mutations.ts) injected into the
//   correct configuration of the three-project fabric built through the public RPCs (real
//   Postgres and Valkey), each verified as the reconciler does before a push.
import { performance } from "node:perf_hooks";
import { renderSwitch, type SwitchModel, type SwitchPortModel } from "@bulkhead/render";
import { median, table } from "@bulkhead/testkit/bench";
import { verifyPartition, type DeviceConfig, type Facts, type MachineFact } from "@bulkhead/verify";
import { factsOf } from "../src/facts.js";
import { startStack } from "../test/harness.js";
import { devicesOf, mutated, mutations } from "../test/mutations.js";
import { threeProjects } from "../test/scenario.js";

const LEAVES = 200;
const NETWORKS = 1000;
const PORTS = 47;
const round = (n: number) => Math.round(n * 10) / 10;
const vrfOf = (n: number) => 1000 + n;
const v4 = (n: number) => `10.${(n >> 8) & 255}.${n & 255}.0/24`;
const v6 = (n: number) => `2001:db8:${n.toString(16)}::/64`;
const partner = (n: number) => n ^ 1;

/** The synthetic partition: switch models to render, and the records they must agree with. */
function partition(): { models: SwitchModel[]; facts: Facts } {
  const machines: MachineFact[] = [];
  const hosts = new Map<number, number>();
  const facts: Facts = {
    networks: [
      { id: "super", project: "", kind: "super", vrf: 0, prefixes: ["10.0.0.0/12", "2001:db8::/32"], destinationPrefixes: [], nat: false, announceable: [] },
      { id: "underlay", project: "", kind: "underlay", vrf: 0, prefixes: ["10.255.0.0/16"], destinationPrefixes: [], nat: false },
      ...Array.from({ length: NETWORKS }, (_, n) => ({ id: `net${n}`, project: `p${n >> 1}`, kind: "private" as const, vrf: vrfOf(n), prefixes: [v4(n), v6(n)], destinationPrefixes: [], nat: false, parent: "super" })),
    ],
    peerings: Array.from({ length: NETWORKS / 2 }, (_, k) => ({ id: `peer${k}`, network1: `net${2 * k}`, network2: `net${2 * k + 1}` })),
    switches: [],
    machines,
    addresses: [],
    policies: [],
    reservedVnis: [104000],
  };
  const models: SwitchModel[] = [];
  for (let l = 0; l < LEAVES; l++) {
    const hostname = `leaf${l}`;
    const routerId = `10.255.${1 + (l >> 8)}.${l & 255}`;
    facts.switches.push({ id: hostname, role: "leaf", flavour: "cumulus", routerId, uplinks: ["swp49", "swp50"] });
    const ports: SwitchPortModel[] = [
      { name: "swp49", role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] },
      { name: "swp50", role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] },
    ];
    const carried = new Set<number>();
    for (let p = 1; p <= PORTS; p++) {
      const n = (l * PORTS + p) % NETWORKS;
      carried.add(n).add(partner(n));
      const host = (hosts.get(n) ?? 0) + 1;
      hosts.set(n, host);
      const id = `m${l}-${p}`;
      machines.push({ id, project: `p${n >> 1}`, role: "machine", installed: true, networks: [`net${n}`], ips: [{ network: `net${n}`, address: v4(n).replace(/0\/24$/, String(host)) }], connections: [{ switch: hostname, port: `swp${p}`, nic: "lan0" }] });
      ports.push({ name: `swp${p}`, role: "machine", adminUp: true, vrf: vrfOf(n), allowedPrefixes: [v4(n), v6(n)], firewallVnis: [], machine: id });
    }
    const vrfs = [...carried].map((n) => ({ vrf: vrfOf(n), prefixes: [v4(n), v6(n)], imports: [{ fromVrf: vrfOf(partner(n)), prefixes: [v4(partner(n)), v6(partner(n))] }] }));
    models.push({ hostname, flavour: "cumulus", asn: 4200000000 + l, routerId, ports, vrfs, externalSessions: [], vlans: {} });
  }
  return { models, facts };
}

function timed(runs: number, work: () => unknown): number[] {
  work();
  return Array.from({ length: runs }, () => {
    const started = performance.now();
    work();
    return performance.now() - started;
  });
}

/** The verifier's verdict on every fault of the catalogue, on the three-project fabric. */
async function catchRate(): Promise<{ name: string; isolation: boolean; caught: boolean }[]> {
  const stack = await startStack();
  try {
    const fabric = await threeProjects(stack, "mut", 3);
    const input = await fabric.partition.labInput();
    const facts = factsOf(await fabric.partition.records());
    if (verifyPartition(devicesOf(input), facts).findings.length > 0) throw new Error("the correct three-project fabric has findings");
    return mutations.map((m, i) => ({ name: m.name, isolation: m.isolation, caught: verifyPartition(devicesOf(mutated(input, fabric, i).input), facts).findings.length > 0 }));
  } finally {
    await stack.stop();
  }
}

export default async function run() {
  const { models, facts } = partition();
  const devices: DeviceConfig[] = models.map((m) => {
    return { device: m.hostname, kind: "switch", files: Object.entries(renderSwitch(m).files).map(([path, content]) => ({ path, content })) };
  });
  const lines = devices.reduce((sum, d) => sum + d.files.reduce((s, f) => s + f.content.split("\n").length, 0), 0);
  const check = verifyPartition(devices, facts);
  if (check.findings.length > 0) throw new Error(`the benchmark partition has findings: ${check.findings[0]!.device} ${check.findings[0]!.object}: ${check.findings[0]!.message}`);
  const verifyTimes = timed(5, () => verifyPartition(devices, facts));
  const renderTimes = timed(5, () => models.map(renderSwitch));
  const verdicts = await catchRate();
  const isolation = verdicts.filter((v) => v.isolation);
  const figures = {
    partition_verify_ms: round(median(verifyTimes)),
    partition_render_ms: round(median(renderTimes)),
    verify_vs_render: round(median(verifyTimes) / median(renderTimes)),
    leaves: LEAVES,
    networks: NETWORKS,
    config_lines: lines,
    mutations_total: verdicts.length,
    mutations_caught: verdicts.filter((v) => v.caught).length,
    isolation_mutations: isolation.length,
    isolation_mutations_missed: isolation.filter((v) => !v.caught).length,
  };
  const missed = verdicts.filter((v) => !v.caught);
  const report = [
    `## Partition of ${LEAVES} leaves, ${NETWORKS} networks`,
    table(["", "median ms"], [["verify (parse the text back, check it against the records)", figures.partition_verify_ms], ["render the same partition (baseline)", figures.partition_render_ms]]),
    `${lines.toLocaleString("en")} lines of FRR and interfaces; verifying takes ${figures.verify_vs_render}× rendering. Target: < 5 s.`,
    "## Catch rate on the mutation catalogue",
    table(["", "faults", "caught"], [["breaking isolation", isolation.length, isolation.length - figures.isolation_mutations_missed], ["other (robustness, hygiene)", verdicts.length - isolation.length, figures.mutations_caught - (isolation.length - figures.isolation_mutations_missed)], ["all", verdicts.length, figures.mutations_caught]]),
    missed.length ? `Let through (none breaks isolation unless listed above as missed): ${missed.map((v) => `${v.name}${v.isolation ? " (ISOLATION)" : ""}`).join("; ")}.` : "Every fault is refused.",
    "## Method",
    `- Each leaf has 2 uplinks and ${PORTS} machine ports, each in one of the ${NETWORKS} dual-stack networks (round robin); networks are peered in pairs and a leaf carries each of its networks' partners. Rendered by libs/render, verified by libs/verify from the text alone against record facts (networks, peerings, switches, which machine is cabled where and what it holds).`,
    "- Median of 5 runs after one warm-up, single-threaded in one process.",
    `- The catalogue (services/reconciler/test/mutations.ts) holds ${verdicts.length} faults that each still pass \`vtysh -C\` or \`nft -c\` (the mutation test checks that), tagged with whether they break isolation; the lab's own catch rate on them is in [lab.md](lab.md).`,
  ].join("\n\n");
  return { figures, report };
}
