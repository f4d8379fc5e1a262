// Render time of the pure renderers: one leaf with 48 ports and 1,000 VRFs, a partition of 200
// leaves, and a firewall ruleset with 500 policies. Baselines measured in the same run: FRR's own
// `vtysh -C` parsing the rendered leaf config and `nft -c` checking the ruleset (what validating
// costs next to rendering). Medians of repeated runs after a warm-up; the machine is noisy.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { inNs, namespaces, sh } from "@bulkhead/testkit";
import { median, percentile, table } from "@bulkhead/testkit/bench";
import { compileFirewall, renderSwitch, type FirewallModel, type Policy, type SwitchModel, type SwitchPortModel } from "../src/index.js";

const round = (n: number) => Math.round(n * 100) / 100;

/** A leaf: 2 uplinks, a firewall, the rest machine ports; `vrfCount` dual-stack VRFs, each peered with the next. */
function leafModel(index: number, vrfCount: number): SwitchModel {
  const vrfId = (i: number) => 1000 + index * vrfCount + i;
  const v4 = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
  const v6 = (i: number) => `2001:db8:${i.toString(16)}::/64`;
  const ports: SwitchPortModel[] = [
    { name: "swp49", role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] },
    { name: "swp50", role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] },
    { name: "swp48", role: "firewall", adminUp: true, vrf: 0, allowedPrefixes: ["10.255.0.7/32"], firewallVnis: Array.from({ length: 20 }, (_, i) => vrfId(i)) },
  ];
  for (let p = 1; p <= 47; p++) {
    const i = p % vrfCount;
    ports.push({ name: `swp${p}`, role: "machine", adminUp: true, vrf: vrfId(i), allowedPrefixes: [v4(i), v6(i), "10.240.0.0/12", `185.1.${p}.7/32`], firewallVnis: [] });
  }
  const vrfs = Array.from({ length: vrfCount }, (_, i) => ({
    vrf: vrfId(i),
    prefixes: [v4(i), v6(i)],
    imports: i + 1 < vrfCount ? [{ fromVrf: vrfId(i + 1), prefixes: [v4(i + 1), v6(i + 1)] }] : [],
  }));
  return { hostname: `leaf${index}`, flavour: "cumulus", asn: 4200000000 + index, routerId: `10.255.${index >> 8}.${index & 255}`, ports, vrfs, externalSessions: [], vlans: {} };
}

function firewallModel(policyCount: number): FirewallModel {
  const policies: Policy[] = Array.from({ length: policyCount }, (_, i) => ({
    id: `p${i}`,
    name: `policy-${i}`,
    ingress: [{ peers: [{ cidr: `185.1.${i % 256}.0/24`, except: [`185.1.${i % 256}.128/25`] }], ports: [{ protocol: "tcp", port: 1000 + i, endPort: 0 }] }],
    egress: [{ peers: [{ cidr: `2001:db8:${i.toString(16)}::/48`, except: [] }, { cidr: `198.51.${i % 256}.0/24`, except: [] }], ports: [{ protocol: "udp", port: 2000, endPort: 2100 }] }],
  }));
  return {
    id: "fw-bench",
    networks: [
      { id: "a", role: "primary", vrf: 12, prefixes: ["10.0.0.0/22"], destinationPrefixes: [], nat: false, dmz: false, ips: ["10.0.0.1"], projectIps: [] },
      { id: "internet", role: "external", vrf: 104009, prefixes: ["185.1.2.0/24"], destinationPrefixes: ["0.0.0.0/0", "::/0"], nat: true, dmz: false, ips: ["185.1.2.10"], projectIps: [] },
      { id: "underlay", role: "underlay", vrf: 0, prefixes: ["10.255.0.0/24"], destinationPrefixes: [], nat: false, dmz: false, ips: ["10.255.0.7"], projectIps: [] },
    ],
    policies,
    options: { rateLimits: [{ network: "internet", bytesPerSecond: 1_000_000 }], logAcceptedConnections: false, sshAllowedFrom: [], snat: [] },
  };
}

/** Milliseconds of each of `runs` calls after `warmup` untimed ones. */
async function timed(runs: number, warmup: number, work: () => unknown): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return times;
}

export default async function run() {
  const leaf = leafModel(0, 1000);
  const rendered = renderSwitch(leaf).files;
  const leafTimes = await timed(21, 5, () => renderSwitch(leaf));

  const partition = Array.from({ length: 200 }, (_, i) => leafModel(i, 40));
  const partitionTimes = await timed(7, 2, () => partition.map(renderSwitch));

  const firewall = firewallModel(500);
  const ruleset = compileFirewall(firewall);
  const firewallTimes = await timed(21, 5, () => compileFirewall(firewall));

  // Baselines: the real tools validating what was rendered.
  const frrFile = join(tmpdir(), `bulkhead-bench-leaf-${process.pid}.conf`);
  writeFileSync(frrFile, rendered["frr/frr.conf"]!);
  const vtyshTimes = await timed(7, 1, () => sh("vtysh", "-C", "-f", frrFile));
  const nftFile = join(tmpdir(), `bulkhead-bench-fw-${process.pid}.nft`);
  writeFileSync(nftFile, ruleset);
  const ns = await namespaces("bench");
  let nftTimes: number[];
  try {
    nftTimes = await timed(7, 1, () => inNs(ns.bench, "nft", "-c", "-f", nftFile));
  } finally {
    await ns.remove();
  }

  const leafMs = median(leafTimes);
  const partitionMs = median(partitionTimes);
  const figures = {
    leaf_1000vrf_ms: round(leafMs),
    leaf_1000vrf_p99_ms: round(percentile(leafTimes, 99)),
    leaf_1000vrf_frr_lines: rendered["frr/frr.conf"]!.split("\n").length,
    leaf_1000vrf_frr_kb: Math.round(rendered["frr/frr.conf"]!.length / 1024),
    leaf_1000vrf_vtysh_check_ms: round(median(vtyshTimes)),
    leaf_render_vs_vtysh_check: round(leafMs / median(vtyshTimes)),
    partition_200_leaves_ms: round(partitionMs),
    partition_ms_per_leaf: round(partitionMs / 200),
    firewall_500_policies_ms: round(median(firewallTimes)),
    firewall_500_policies_lines: ruleset.split("\n").length,
    firewall_nft_check_ms: round(median(nftTimes)),
  };
  const report = [
    "Pure rendering in one Node process, no I/O; medians after a warm-up. Baselines from the same run:",
    "FRR 8.4's `vtysh -C -f` parsing the rendered leaf config, and `nft -c -f` checking the ruleset in",
    "an empty network namespace.",
    "",
    table(
      ["figure", "value", "target"],
      [
        ["leaf, 48 ports, 1,000 dual-stack VRFs each peered with the next: render ms (`leaf_1000vrf_ms`)", figures.leaf_1000vrf_ms, "< 20"],
        ["  p99 ms", figures.leaf_1000vrf_p99_ms, ""],
        ["  frr.conf lines / KB", `${figures.leaf_1000vrf_frr_lines} / ${figures.leaf_1000vrf_frr_kb}`, ""],
        ["  `vtysh -C` on that file, ms", figures.leaf_1000vrf_vtysh_check_ms, ""],
        ["  render ÷ vtysh check", figures.leaf_render_vs_vtysh_check, ""],
        ["partition: 200 leaves × 48 ports × 40 VRFs, render ms (`partition_200_leaves_ms`)", figures.partition_200_leaves_ms, "< 2000"],
        ["  per leaf, ms", figures.partition_ms_per_leaf, ""],
        ["firewall ruleset, 500 policies: compile ms", figures.firewall_500_policies_ms, ""],
        ["  lines", figures.firewall_500_policies_lines, ""],
        ["  `nft -c` on that file, ms", figures.firewall_nft_check_ms, ""],
      ],
    ),
  ].join("\n");
  return { figures, report };
}
