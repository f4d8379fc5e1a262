// Verification time for a partition of 200 leaves and 1,000 dual-stack networks (pairs of them
// peered), 47 machine ports per leaf. The configurations are rendered by libs/render, then read
// back and verified from their text. Baseline in the same run: rendering the same partition.
import { performance } from "node:perf_hooks";
import { renderSwitch, type SwitchModel, type SwitchPortModel } from "@bulkhead/render";
import { median, table } from "@bulkhead/testkit/bench";
import { verifyPartition, type DeviceConfig, type Facts } from "../src/index.js";

const LEAVES = 200;
const NETWORKS = 1000;
const PORTS = 47;
const round = (n: number) => Math.round(n * 10) / 10;
const vrfOf = (n: number) => 1000 + n;
const v4 = (n: number) => `10.${(n >> 8) & 255}.${n & 255}.0/24`;
const v6 = (n: number) => `2001:db8:${n.toString(16)}::/64`;
const partner = (n: number) => n ^ 1;

function partition(): { models: SwitchModel[]; facts: Facts } {
  const facts: Facts = {
    networks: Array.from({ length: NETWORKS }, (_, n) => ({ id: `net${n}`, project: `p${n >> 1}`, vrf: vrfOf(n), prefixes: [v4(n), v6(n)], destinationPrefixes: [], kind: "private" as const })),
    peerings: Array.from({ length: NETWORKS / 2 }, (_, k) => [`net${2 * k}`, `net${2 * k + 1}`] as [string, string]),
    machinePorts: [],
    firewallPorts: [],
    firewalls: [],
    infrastructure: ["10.255.0.0/16"],
  };
  const models: SwitchModel[] = [];
  for (let l = 0; l < LEAVES; l++) {
    const hostname = `leaf${l}`;
    const ports: SwitchPortModel[] = [
      { name: "swp49", role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] },
      { name: "swp50", role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] },
    ];
    const carried = new Set<number>();
    for (let p = 1; p <= PORTS; p++) {
      const n = (l * PORTS + p) % NETWORKS;
      carried.add(n).add(partner(n));
      ports.push({ name: `swp${p}`, role: "machine", adminUp: true, vrf: vrfOf(n), allowedPrefixes: [v4(n), v6(n)], firewallVnis: [] });
      facts.machinePorts.push({ switch: hostname, port: `swp${p}`, machine: `m${l}-${p}`, network: `net${n}`, allowed: [v4(n), v6(n)] });
    }
    const vrfs = [...carried].map((n) => ({ vrf: vrfOf(n), prefixes: [v4(n), v6(n)], imports: [{ fromVrf: vrfOf(partner(n)), prefixes: [v4(partner(n)), v6(partner(n))] }] }));
    models.push({ hostname, asn: 4200000000 + l, routerId: `10.255.${l >> 8}.${l & 255}`, ports, vrfs, externalSessions: [], vlans: {} });
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

export default async function run() {
  const { models, facts } = partition();
  const devices: DeviceConfig[] = models.map((m) => {
    const out = renderSwitch(m).files;
    return { device: m.hostname, kind: "switch", files: [{ path: "frr/frr.conf", content: out["frr.conf"] }, { path: "network/interfaces", content: out.interfaces }] };
  });
  const lines = devices.reduce((sum, d) => sum + d.files.reduce((s, f) => s + f.content.split("\n").length, 0), 0);
  const check = verifyPartition(devices, facts);
  if (check.findings.length > 0) throw new Error(`the benchmark partition has findings: ${check.findings[0]!.message}`);
  const verifyTimes = timed(5, () => verifyPartition(devices, facts));
  const renderTimes = timed(5, () => models.map(renderSwitch));
  const figures = {
    partition_verify_ms: round(median(verifyTimes)),
    partition_render_ms: round(median(renderTimes)),
    verify_vs_render: round(median(verifyTimes) / median(renderTimes)),
    leaves: LEAVES,
    networks: NETWORKS,
    config_lines: lines,
    leaks_found: check.leaks.size,
  };
  const report = [
    `## Partition of ${LEAVES} leaves, ${NETWORKS} networks`,
    table(["", "median ms"], [["verify (parse text back + properties 1–6)", figures.partition_verify_ms], ["render the same partition (baseline)", figures.partition_render_ms]]),
    `${lines.toLocaleString("en")} lines of FRR and interfaces; ${check.leaks.size} permitted route leaks (the ${NETWORKS / 2} peerings, both ways, as seen on every leaf). Target: < 5 s.`,
    "## Method",
    `- Each leaf has 2 uplinks and ${PORTS} machine ports, each in one of the ${NETWORKS} dual-stack networks (round robin); networks are peered in pairs and a leaf carries each of its networks' partners. Rendered by libs/render, verified by libs/verify from the text alone against facts (networks, peerings, which machine is on which port and what it may announce).`,
    "- Median of 5 runs after one warm-up, single-threaded in one process.",
  ].join("\n\n");
  return { figures, report };
}
