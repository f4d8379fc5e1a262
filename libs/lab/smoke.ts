import { renderSwitch, renderMachineFrr, type SwitchModel } from "@bulkhead/render";
import { planLab } from "./src/plan.ts";
import { runPlan, labUnavailable } from "./src/run.ts";
const leaf = (hostname: string, n: number, ports: SwitchModel["ports"], vrfs: SwitchModel["vrfs"]): SwitchModel => ({ hostname, asn: 4200000010 + n, routerId: `10.255.255.${n}`, ports: [{ name: "swp31", role: "fabric", adminUp: true, vrf: 0, allowedPrefixes: [], firewallVnis: [] }, ...ports], vrfs, externalSessions: [], vlans: {} });
const m = (name: string, vrf: number, allowed: string[]) => ({ name, role: "machine" as const, adminUp: true, vrf, allowedPrefixes: allowed, firewallVnis: [] });
const l1 = renderSwitch(leaf("leaf01", 1, [m("swp1", 41, ["10.1.0.0/24"])], [{ vrf: 41, prefixes: ["10.1.0.0/24"], imports: [] }]));
const l2 = renderSwitch(leaf("leaf02", 2, [m("swp1", 41, ["10.1.0.0/24"])], [{ vrf: 41, prefixes: ["10.1.0.0/24"], imports: [] }]));
const input = {
  partition: "p",
  devices: [
    { id: "leaf01", kind: "leaf" as const, files: { "frr/frr.conf": l1.files["frr.conf"], "network/interfaces": l1.files.interfaces }, uplinks: ["swp31"] },
    { id: "leaf02", kind: "leaf" as const, files: { "frr/frr.conf": l2.files["frr.conf"], "network/interfaces": l2.files.interfaces }, uplinks: ["swp31"] },
  ],
  machines: [
    { id: "m1", frr: renderMachineFrr({ hostname: "m1", asn: 4210000001, uplinks: ["lan0"], addresses: ["10.1.0.10"] }), addresses: ["10.1.0.10"] },
    { id: "m2", frr: renderMachineFrr({ hostname: "m2", asn: 4210000002, uplinks: ["lan0"], addresses: ["10.1.0.11"] }), addresses: ["10.1.0.11"] },
  ],
  cables: [{ switch: "leaf01", port: "swp1", machine: "m1", nic: "lan0" }, { switch: "leaf02", port: "swp1", machine: "m2", nic: "lan0" }],
  spines: [{ id: "spine01", asn: 4200000000, routerId: "10.255.254.1" }],
  records: { networks: [{ id: "n41", project: "a", kind: "private" as const, vrf: 41, prefixes: ["10.1.0.0/24"], destinationPrefixes: [], nat: false }], peerings: [], machines: [{ id: "m1", project: "a", role: "machine" as const, networks: ["n41"], ips: [{ network: "n41", address: "10.1.0.10" }] }, { id: "m2", project: "a", role: "machine" as const, networks: ["n41"], ips: [{ network: "n41", address: "10.1.0.11" }] }], policies: [] },
};
console.log(labUnavailable());
const plan = planLab(input, "bhl" + Math.random().toString(16).slice(2, 6));
console.log(plan.errors, plan.commands.length);
const t = Date.now();
const run = await runPlan(plan, { timeoutMs: 60000 });
console.log(Date.now() - t, run.converged, run.errors, run.timings, run.pings);
console.log(JSON.stringify(run.routers.leaf01.routes, null, 0).slice(0, 1500));
console.log(run.sessions.filter(s => s.state !== "Established"));
import { prove } from "./src/prove.ts";
import { formatReport } from "./src/index.ts";
console.log(formatReport(prove(input, plan, run)));
