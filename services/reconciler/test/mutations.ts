// Faults injected into the correct rendered configuration of the three-project fabric, each one
// still accepted by `vtysh -C` or `nft -c` (the syntax gates do not stop it), each tagged with
// whether it can break isolation. Both proofs are measured against them: the verifier (before
// every push) and the fabric lab (real FRR).
import { proven, runLab, type LabInput, type LabReport } from "@bulkhead/lab";
import { verifyPartition, type DeviceConfig, type Facts } from "@bulkhead/verify";
import type { NetworkHandle, ThreeProjects } from "./scenario.js";

export interface Mutation {
  name: string;
  /** Whether the fault can let through something no record allows (not only break something). */
  isolation: boolean;
  /** Edits `input` in place; answers the device and file it changed. */
  apply(input: LabInput, fabric: ThreeProjects): { device: string; path: string };
}

const FRR = "frr/frr.conf";
const IFACES = "network/interfaces";
const NFT = "nftables/bulkhead.nft";
const vrf = (n: NetworkHandle) => `vrf${n.vrf}`;
/** A network's VRF as a device names it: `Vrf<N>` on SONiC (its interfaces are CONFIG_DB), else `vrf<N>`. */
const vrfOn = (d: LabInput["devices"][number], n: NetworkHandle) => (d.files["sonic/config_db.json"] !== undefined ? `Vrf${n.vrf}` : vrf(n));
const v4 = (n: NetworkHandle) => n.prefixes.find((p) => !p.includes(":"))!;

/** Where a machine is cabled: its first switch and port. */
function portOf(input: LabInput, machine: string): { device: string; port: string } {
  const c = input.cables.find((x) => x.machine === machine);
  if (!c) throw new Error(`machine ${machine} is not cabled in the lab input`);
  return { device: c.switch, port: c.port };
}

/** Replaces text in one file of one device; a mutation that changes nothing is a broken mutation. */
function edit(input: LabInput, device: string, path: string, change: (text: string) => string): { device: string; path: string } {
  const d = input.devices.find((x) => x.id === device);
  const before = d?.files[path];
  if (before === undefined) throw new Error(`${device} has no ${path}`);
  const after = change(before);
  if (after === before) throw new Error(`the mutation of ${device} ${path} changed nothing`);
  d!.files[path] = after;
  return { device, path };
}

/** A text replacement that must match. */
const sub = (from: string | RegExp, to: string) => (text: string) => {
  if (typeof from === "string" ? !text.includes(from) : !from.test(text)) throw new Error(`no ${String(from)} in the file`);
  return text.replace(from, to);
};

/** Adds a permit entry before a route map's terminating deny. */
const permitEntry = (map: string, lines: string[], extra = "") => (text: string) => {
  const m = new RegExp(`route-map ${map} deny (\\d+)\\nexit`).exec(text);
  if (!m) throw new Error(`no terminating deny of route-map ${map}`);
  const seq = Number(m[1]);
  return text.replace(m[0], `route-map ${map} permit ${seq}\n${lines.map((l) => ` ${l}`).join("\n")}\nexit\nroute-map ${map} deny ${seq + 5}\nexit`).replace("\n!\nroute-map", `\n${extra}!\nroute-map`);
};

/** The leaf of a1's first machine, and a1's port there. */
const a1Leaf = (input: LabInput, f: ThreeProjects) => portOf(input, f.machines.a1);

/** The import route map of a VRF on a leaf. */
const importMap = (n: NetworkHandle) => `${vrf(n)}-import`;

/** Adds a rule to the forward chain, after its conntrack rules. */
const forwardRule = (rule: string) => (text: string) => {
  const chain = text.indexOf("\tchain forward {");
  const at = text.indexOf("\t\tct state invalid drop\n", chain);
  if (chain < 0 || at < 0) throw new Error("no forward chain with conntrack rules");
  const end = at + "\t\tct state invalid drop\n".length;
  return `${text.slice(0, end)}\t\t${rule}\n${text.slice(end)}`;
};

/**
 * The three-project fabric with misbehaving neighbors: the internet's stand-in also announces a
 * tenant's private block and a tenant's public address, and a1's machine (its tenant controls its
 * OS) announces B's and C's networks. Correct filters refuse all of it; a broken one shows.
 */
export function hostile(input: LabInput, f: ThreeProjects): LabInput {
  const a1Public = input.records.machines.find((m) => m.id === f.machines.a1)!.ips.find((i) => i.network === "internet")!.address;
  return {
    ...input,
    announce: { [`${f.partition.exit}/swp1`]: ["0.0.0.0/0", v4(f.nets.c1), `${a1Public}/32`] },
    hostile: { [f.machines.a1]: [v4(f.nets.b1), v4(f.nets.c1)] },
  };
}

export const mutations: Mutation[] = [
  // --- a machine's port on its leaf ---
  { name: "a machine's filter admits every prefix", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(`ip prefix-list ${p.port}-in seq 10 permit ${v4(f.nets.a1)} le 32`, `ip prefix-list ${p.port}-in seq 10 permit 0.0.0.0/0 le 32`)))(a1Leaf(i, f)) },
  { name: "a machine's filter admits the whole super network", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(`ip prefix-list ${p.port}-in seq 10 permit ${v4(f.nets.a1)} le 32`, `ip prefix-list ${p.port}-in seq 10 permit 10.0.0.0/8 le 32`)))(a1Leaf(i, f)) },
  { name: "a machine's filter admits a peer network's prefix", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(`ip prefix-list ${p.port}-in seq 10 permit ${v4(f.nets.a1)} le 32`, `ip prefix-list ${p.port}-in seq 10 permit ${v4(f.nets.a1)} le 32\nip prefix-list ${p.port}-in seq 20 permit ${v4(f.nets.c1)} le 32`)))(a1Leaf(i, f)) },
  { name: "a machine's inbound route map is gone", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(`  neighbor ${p.port} route-map ${p.port}-in in\n`, "")))(a1Leaf(i, f)) },
  { name: "a machine's route map ends in permit", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`route-map ${p.port}-in deny (\\d+)`), `route-map ${p.port}-in permit $1`)))(a1Leaf(i, f)) },
  { name: "a machine's maximum-prefix is gone", isolation: false, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`  neighbor ${p.port} maximum-prefix \\d+\\n`), "")))(a1Leaf(i, f)) },
  { name: "a machine's port is in another project's VRF", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, IFACES, sub(`iface ${p.port}\n    mtu 9000\n    vrf ${vrf(f.nets.a1)}`, `iface ${p.port}\n    mtu 9000\n    vrf ${vrf(f.nets.a2)}`)))(a1Leaf(i, f)) },
  { name: "a BGP session on a free port of a tenant VRF", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(` neighbor ${p.port} interface peer-group MACHINE\n`, ` neighbor ${p.port} interface peer-group MACHINE\n neighbor swp8 interface peer-group MACHINE\n`)))(a1Leaf(i, f)) },
  // --- imports on the leaf ---
  {
    name: "an import of another project's VRF",
    isolation: true,
    apply: (i, f) =>
      ((p) => edit(i, p.device, FRR, (t) => permitEntry(importMap(f.nets.a1), [`match source-vrf ${vrf(f.nets.c1)}`, `match ip address prefix-list stray-c1`], `ip prefix-list stray-c1 seq 10 permit ${v4(f.nets.c1)} le 32\n`)(sub(`  import vrf ${vrf(f.nets.a2)}\n`, `  import vrf ${vrf(f.nets.a2)}\n  import vrf ${vrf(f.nets.c1)}\n`)(t))))(a1Leaf(i, f)),
  },
  { name: "imports without their route map (a peer's peer comes along)", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(`  import vrf route-map ${importMap(f.nets.a1)}\n`, "")))(a1Leaf(i, f)) },
  { name: "an import entry without a source VRF", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`(route-map ${importMap(f.nets.a1)} permit \\d+\\n) match source-vrf ${vrf(f.nets.a2)}\\n`), "$1")))(a1Leaf(i, f)) },
  { name: "a peer's import list widened to the super network", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(`${vrf(f.nets.a1)}-import-from-${vrf(f.nets.a2)} seq 10 permit ${v4(f.nets.a2)} le 32`, `${vrf(f.nets.a1)}-import-from-${vrf(f.nets.a2)} seq 10 permit 10.0.0.0/8 le 32`)))(a1Leaf(i, f)) },
  { name: "the default route from the internet widened to every route (ge 0 le 32)", isolation: false, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(`${vrf(f.nets.a1)}-import-from-vrf104009 seq 10 permit 0.0.0.0/0`, `${vrf(f.nets.a1)}-import-from-vrf104009 seq 10 permit 0.0.0.0/0 le 32`)))(a1Leaf(i, f)) },
  { name: "the internet VRF takes a tenant's own prefix (the transit hub)", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`vrf104009-import-from-${vrf(f.nets.a1)} seq 10 permit \\S+( le \\d+)?`), `vrf104009-import-from-${vrf(f.nets.a1)} seq 10 permit ${v4(f.nets.a1)} le 32`)))(a1Leaf(i, f)) },
  {
    name: "a peering's imports are gone (a black hole)",
    isolation: false,
    apply: (i, f) => {
      // On every leaf carrying a1, whatever its OS names the VRFs: a leaf that still imports would
      // advertise the routes to the others.
      const leaves = i.devices.filter((d) => d.kind === "leaf" && d.files[FRR]!.includes(`vrf ${vrfOn(d, f.nets.a1)}\n bgp router-id`) && d.files[FRR]!.includes(`  import vrf ${vrfOn(d, f.nets.a2)}\n`));
      for (const d of leaves) edit(i, d.id, FRR, sub(new RegExp(`(vrf ${vrfOn(d, f.nets.a1)}\\n bgp router-id(?:(?!\\nexit\\n)[\\s\\S])*?)  import vrf ${vrfOn(d, f.nets.a2)}\\n`), "$1"));
      return { device: leaves[0]!.id, path: FRR };
    },
  },
  { name: "a tenant VRF imports the default VRF", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, (t) => permitEntry(importMap(f.nets.a1), ["match source-vrf default"])(sub(`  import vrf ${vrf(f.nets.a2)}\n`, `  import vrf ${vrf(f.nets.a2)}\n  import vrf default\n`)(t))))(a1Leaf(i, f)) },
  { name: "a community set on an import", isolation: false, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`(route-map ${importMap(f.nets.a1)} permit \\d+\\n match source-vrf ${vrf(f.nets.a2)}\\n match ip address prefix-list \\S+\\n)`), "$1 set community 65000:1 additive\n")))(a1Leaf(i, f)) },
  { name: "a static route into another project's VRF", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub("line vty", `vrf ${vrf(f.nets.a1)}\n ip route ${v4(f.nets.c1)} blackhole\n ip route ${v4(f.nets.b1)} ${p.port} nexthop-vrf ${vrf(f.nets.a1)}\nexit-vrf\n!\nline vty`)))(a1Leaf(i, f)) },
  { name: "a route-target import of another project's VNI", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`(vrf ${vrf(f.nets.a1)}\\n bgp router-id[\\s\\S]*? address-family l2vpn evpn\\n  advertise ipv4 unicast\\n)`), `$1  route-target import *:${f.nets.c1.vrf}\n`)))(a1Leaf(i, f)) },
  { name: "a VRF carries another project's VNI", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(`vrf ${vrf(f.nets.a1)}\n vni ${f.nets.a1.vrf}\n`, `vrf ${vrf(f.nets.a1)}\n vni ${f.nets.c2.vrf}\n`)))(a1Leaf(i, f)) },
  { name: "an SVI in another project's VRF", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, IFACES, sub(new RegExp(`(vlan-raw-device bridge\\n {4})vrf ${vrf(f.nets.a1)}\\n`), `$1vrf ${vrf(f.nets.c1)}\n`)))(a1Leaf(i, f)) },
  { name: "the underlay redistributes every connected network", isolation: false, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub("  redistribute connected route-map LOOPBACKS\n", "  redistribute connected\n")))(a1Leaf(i, f)) },
  // --- a firewall port on its leaf (the application firewall's) ---
  { name: "a firewall port receives every VNI", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`  neighbor ${p.port} route-map fw-${p.port}-vni out\\n`), "")))(portOf(i, f.app)) },
  { name: "a firewall's EVPN routes are taken unfiltered", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`  neighbor ${p.port} route-map fw-${p.port}-evpn-in in\\n`), "")))(portOf(i, f.app)) },
  { name: "a firewall's EVPN routes are taken with any route-target", isolation: true, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(` match extcommunity fw-${p.port}-rt\\n`, "g"), "")))(portOf(i, f.app)) },
  { name: "a firewall port's underlay filter admits everything", isolation: false, apply: (i, f) => ((p) => edit(i, p.device, FRR, sub(new RegExp(`ip prefix-list fw-${p.port}-in seq 10 permit \\S+`), `ip prefix-list fw-${p.port}-in seq 10 permit 0.0.0.0/0 le 32`)))(portOf(i, f.app)) },
  // --- the exit switch ---
  { name: "the internet session accepts Bulkhead's own prefixes (a hijack)", isolation: true, apply: (i, f) => edit(i, f.partition.exit, FRR, (t) => t.replace(/ip prefix-list ext-swp1-in seq \d+ deny [^\n]*\n/g, "")) },
  { name: "the internet session accepts anything before its denies", isolation: true, apply: (i, f) => edit(i, f.partition.exit, FRR, sub(/ip prefix-list ext-swp1-in seq 10 deny/, "ip prefix-list ext-swp1-in seq 5 permit 0.0.0.0/0 le 32\nip prefix-list ext-swp1-in seq 10 deny")) },
  { name: "an external session without maximum-prefix", isolation: false, apply: (i, f) => edit(i, f.partition.exit, FRR, sub(/  neighbor 172\.16\.\d+\.2 maximum-prefix \d+\n/, "")) },
  { name: "a tenant's external peer may announce more than its peering allows", isolation: false, apply: (i, f) => edit(i, f.partition.exit, FRR, sub("permit 192.168.50.0/24 le 32", "permit 0.0.0.0/0 le 32")) },
  { name: "a tenant's external session announces every route", isolation: false, apply: (i, f) => edit(i, f.partition.exit, FRR, sub(new RegExp(`ip prefix-list ext-swp2-out seq 10 permit \\S+ le 32`), "ip prefix-list ext-swp2-out seq 10 permit 0.0.0.0/0 le 32")) },
  // --- the DMZ firewall's FRR ---
  { name: "a firewall leaks its primary into the internet without no-export", isolation: true, apply: (i, f) => edit(i, f.edge, FRR, sub(`match ip address prefix-list vrf104009-import-from-${vrf(f.nets.c2)}-no-export\n set community no-export additive\n`, `match ip address prefix-list vrf104009-import-from-${vrf(f.nets.c2)}-no-export\n`)) },
  { name: "a firewall leaks the DMZ into the internet without no-export", isolation: true, apply: (i, f) => edit(i, f.edge, FRR, sub(`match ip address prefix-list vrf104009-import-from-${vrf(f.nets.dmz)}-no-export\n set community no-export additive\n`, `match ip address prefix-list vrf104009-import-from-${vrf(f.nets.dmz)}-no-export\n`)) },
  { name: "a firewall publishes the whole internet range from its primary", isolation: true, apply: (i, f) => edit(i, f.edge, FRR, sub(new RegExp(`ip prefix-list vrf104009-import-from-${vrf(f.nets.c2)} seq 100 (permit|deny) [^\\n]*`), `ip prefix-list vrf104009-import-from-${vrf(f.nets.c2)} seq 100 permit 185.1.2.0/24 le 32`)) },
  { name: "a firewall announces every route it knows to the fabric", isolation: false, apply: (i, f) => edit(i, f.edge, FRR, (t) => t.replace(/  neighbor FABRIC route-map only-self-out out\n/g, "")) },
  { name: "a firewall's primary takes a second default route", isolation: false, apply: (i, f) => edit(i, f.edge, FRR, sub(new RegExp(`(ip prefix-list ${vrf(f.nets.c2)}-import-from-${vrf(f.nets.dmz)} seq 100 permit \\S+ le 32)`), `$1\nip prefix-list ${vrf(f.nets.c2)}-import-from-${vrf(f.nets.dmz)} seq 150 permit 0.0.0.0/0`)) },
  { name: "a firewall VRF imports a network not attached to it", isolation: true, apply: (i, f) => edit(i, f.edge, FRR, (t) => permitEntry(`${vrf(f.nets.c2)}-import-map`, [`match source-vrf ${vrf(f.nets.a1)}`])(sub(`  import vrf route-map ${vrf(f.nets.c2)}-import-map\n`, `  import vrf ${vrf(f.nets.a1)}\n  import vrf route-map ${vrf(f.nets.c2)}-import-map\n`)(t))) },
  // --- the DMZ firewall's nftables ---
  { name: "an accept-all forward rule", isolation: true, apply: (i, f) => edit(i, f.edge, NFT, forwardRule("accept")) },
  { name: "a forward chain that accepts by default", isolation: true, apply: (i, f) => edit(i, f.edge, NFT, sub("type filter hook forward priority filter; policy drop;", "type filter hook forward priority filter; policy accept;")) },
  { name: "new connections accepted by conntrack state", isolation: true, apply: (i, f) => edit(i, f.edge, NFT, forwardRule("ct state new accept")) },
  { name: "the DMZ let into the primary", isolation: true, apply: (i, f) => edit(i, f.edge, NFT, forwardRule(`iifname { "vlan${f.nets.dmz.vrf}", "vrf${f.nets.dmz.vrf}" } oifname { "vlan${f.nets.c2.vrf}", "vrf${f.nets.c2.vrf}" } meta l4proto { tcp, udp } accept`)) },
  { name: "a jump into a chain that accepts everything", isolation: true, apply: (i, f) => edit(i, f.edge, NFT, (t) => forwardRule("jump open")(t).replace("\tchain postrouting {", "\tchain open {\n\t\taccept\n\t}\n\tchain postrouting {")) },
  { name: "NAT for every source", isolation: false, apply: (i, f) => edit(i, f.edge, NFT, sub(/(oifname \{ "vlan104009", "vrf104009" \}) ip saddr (\{[^}]*\}|\S+) masquerade/, "$1 masquerade")) },
  { name: "anti-spoofing gone", isolation: false, apply: (i, f) => edit(i, f.edge, NFT, (t) => t.replace(/\t\t[^\n]*comment "spoofed source from [^"]*"\n/g, "")) },
  { name: "VXLAN accepted from only part of the underlay", isolation: false, apply: (i, f) => edit(i, f.edge, NFT, sub(/ip saddr (\d+\.\d+)\.0\.0\/16 udp dport 4789/, "ip saddr $1.0.0/24 udp dport 4789")) },
  { name: "a rate limit after the accept of established connections", isolation: false, apply: (i, f) => edit(i, f.edge, NFT, forwardRule(`iifname { "vlan104009", "vrf104009" } limit rate over 1000 bytes/second counter drop`)) },
  { name: "the firewall accepts every connection to itself", isolation: false, apply: (i, f) => edit(i, f.edge, NFT, sub('\t\tiifname "lo" accept\n', '\t\tiifname "lo" accept\n\t\taccept\n')) },
];

/** The fabric's input with one mutation applied (a copy). */
export function mutated(input: LabInput, fabric: ThreeProjects, index: number): { input: LabInput; device: string; path: string } {
  const copy = structuredClone(input);
  return { input: copy, ...mutations[index]!.apply(copy, fabric) };
}

export const devicesOf = (input: LabInput): DeviceConfig[] => input.devices.map((d) => ({ device: d.id, kind: d.kind === "firewall" ? "firewall" : "switch", files: Object.entries(d.files).map(([path, content]) => ({ path, content })) }));

export interface MutationResult {
  name: string;
  isolation: boolean;
  /** The verifier refused it (a finding). */
  verify: boolean;
  /** The lab's report, when the lab ran. */
  lab?: LabReport;
}

/** The verifier on every mutation; the lab on those chosen, `parallel` at a time. */
export async function measure(input: LabInput, fabric: ThreeProjects, facts: Facts, lab: (m: Mutation, verified: boolean) => boolean, parallel: number): Promise<MutationResult[]> {
  const results: MutationResult[] = mutations.map((m, i) => ({ name: m.name, isolation: m.isolation, verify: verifyPartition(devicesOf(mutated(input, fabric, i).input), facts).findings.length > 0 }));
  const queue = results.map((r, i) => i).filter((i) => lab(mutations[i]!, results[i]!.verify));
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) results[i]!.lab = await runLab(mutated(input, fabric, i).input, { timeoutMs: 45_000 });
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return results;
}

export const describe = (r: MutationResult) =>
  `${r.isolation ? "isolation" : "other    "} verify ${r.verify ? "caught" : "MISSED"} lab ${!r.lab ? "-" : proven(r.lab) ? "missed" : `caught (${r.lab.leaks.length} leaks, ${r.lab.blackHoles.length} black holes, ${r.lab.strays.length} strays${r.lab.errors.length ? `, ${r.lab.errors.length} errors` : ""})`}  ${r.name}`;
