// The FRR renderers: golden files for representative topologies, the real `vtysh -C` on every
// rendered frr.conf, byte-identical output, stable VLANs, and the properties the configs must have.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { sh } from "@bulkhead/testkit";
import { VlansExhausted, assignVlans, firewallLeaks, renderFirewallFrr, renderMachineFrr, renderSwitch, type SwitchModel } from "../src/index.js";
import { firewalls, machines, switches } from "./frr-models.js";

const test = suite("FRR renderers");

/** Every file every model renders, by golden file name. */
function rendered(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, model] of Object.entries(switches)) {
    const out = renderSwitch(model);
    files.set(`${name}.frr.conf`, out.files["frr.conf"]);
    files.set(`${name}.interfaces`, out.files.interfaces);
  }
  for (const [name, model] of Object.entries(firewalls)) files.set(`${name}.frr.conf`, renderFirewallFrr(model));
  for (const [name, model] of Object.entries(machines)) files.set(`${name}.frr.conf`, renderMachineFrr(model));
  return files;
}

test("each topology renders to its golden files (BULKHEAD_UPDATE_GOLDEN=1 rewrites them)", () => {
  const dir = new URL("./golden/frr/", import.meta.url);
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of rendered()) {
    if (process.env.BULKHEAD_UPDATE_GOLDEN === "1") writeFileSync(new URL(name, dir), text);
    assert.fixture(text, readFileSync(new URL(name, dir), "utf8"), name);
  }
});

test("every rendered frr.conf passes FRR's own `vtysh -C -f`", async () => {
  for (const [name, text] of rendered()) {
    if (!name.endsWith(".frr.conf")) continue;
    const file = join(tmpdir(), `bulkhead-${process.pid}-${name}`);
    writeFileSync(file, text);
    await sh("vtysh", "-C", "-f", file).catch((error: Error) => assert.unreachable(`${name}: ${error.message}`));
  }
  const broken = join(tmpdir(), `bulkhead-${process.pid}-broken.conf`);
  writeFileSync(broken, "router bgp 1\n neighbor swp1 interfacee peer-group X\n");
  assert.ok(await sh("vtysh", "-C", "-f", broken).then(() => false, () => true), "and vtysh does reject a broken one");
});

test("the same device in any order renders byte-identically", () => {
  for (const model of Object.values(switches)) {
    const shuffled: SwitchModel = { ...model, ports: [...model.ports].reverse(), vrfs: [...model.vrfs].reverse().map((v) => ({ ...v, imports: [...v.imports].reverse(), prefixes: [...v.prefixes].reverse() })), externalSessions: [...model.externalSessions].reverse() };
    assert.equal(renderSwitch(shuffled), renderSwitch(model));
  }
  for (const model of Object.values(firewalls)) assert.is(renderFirewallFrr({ ...model, networks: [...model.networks].reverse(), uplinks: [...model.uplinks].reverse() }), renderFirewallFrr(model));
});

test("VLANs stay with their VRF across renders; new VRFs take the lowest free one", () => {
  const first = renderSwitch(switches["many-tenants"]!);
  assert.equal(first.vlans, { "12": 1005, "30": 1002, "31": 1001 }, "kept the given ones, gave 30 the lowest free");
  const grown = renderSwitch({ ...switches["many-tenants"]!, vlans: first.vlans, ports: [...switches["many-tenants"]!.ports, { name: "swp5", role: "machine", adminUp: true, vrf: 7, allowedPrefixes: ["10.0.20.0/22"], firewallVnis: [] }] });
  assert.equal(grown.vlans, { "7": 1003, "12": 1005, "30": 1002, "31": 1001 }, "a lower VRF id does not shift the others");
  assert.throws(() => assignVlans(Array.from({ length: 1001 }, (_, i) => i + 1), {}), (e: unknown) => e instanceof VlansExhausted);
  assert.is(assignVlans(Array.from({ length: 1000 }, (_, i) => i + 1), {}).get(1000), 2000, "1,000 VRFs fit");
});

test("leaf: each machine port has its own filter; firewall ports get underlay-only in and their VNIs out; down ports are left out", () => {
  const single = renderSwitch(switches["single-tenant"]!).files;
  assert.match(single["frr.conf"], "ip prefix-list swp1-in seq 10 permit 10.0.0.0/22 le 32");
  assert.match(single["frr.conf"], "ip prefix-list swp1-in seq 12 permit 185.1.2.7/32");
  assert.not.match(single["frr.conf"], "swp2-in seq 12", "swp2 may not announce swp1's extra address");
  assert.match(single["frr.conf"], "  neighbor MACHINE maximum-prefix 24000");
  assert.not.match(single["frr.conf"], "swp4");
  assert.match(single.interfaces, "auto swp4\niface swp4\n    link-down yes");
  assert.match(single.interfaces, "auto swp3\niface swp3\n    mtu 9000\n    bridge-access 4000");
  assert.match(single["frr.conf"], "redistribute connected route-map LOOPBACKS", "only the loopback goes into BGP, never management");
  const many = renderSwitch(switches["many-tenants"]!).files["frr.conf"];
  assert.match(many, "ip prefix-list fw-swp4-in seq 10 permit 10.255.0.7/32\n");
  assert.match(many, "route-map fw-swp4-vni permit 10\n match evpn vni 12\nexit\nroute-map fw-swp4-vni permit 20\n match evpn vni 30\nexit\nroute-map fw-swp4-vni permit 30\n match evpn vni 104009\nexit");
});

test("peering chain: each VRF imports exactly its direct peers' prefixes, never a peer's peer", () => {
  const conf = renderSwitch(switches["peering-chain"]!).files["frr.conf"];
  const listOf = (name: string) => conf.split("\n").filter((l) => l.startsWith(`ip prefix-list ${name} `));
  assert.equal(listOf("vrf41-import-from-vrf42"), ["ip prefix-list vrf41-import-from-vrf42 seq 10 permit 10.2.0.0/24 le 32"]);
  assert.equal(listOf("vrf43-import-from-vrf42"), ["ip prefix-list vrf43-import-from-vrf42 seq 10 permit 10.2.0.0/24 le 32"]);
  assert.equal(listOf("vrf41-import-from-vrf104009"), ["ip prefix-list vrf41-import-from-vrf104009 seq 10 permit 0.0.0.0/0"], "the default route only");
  assert.not.match(conf, "vrf41-import-from-vrf43");
  assert.not.match(conf, "vrf43-import-from-vrf41");
  const vrf41 = conf.slice(conf.indexOf("router bgp 4200000011 vrf vrf41"), conf.indexOf("exit\n!", conf.indexOf("router bgp 4200000011 vrf vrf41")));
  assert.equal(vrf41.split("\n").filter((l) => l.includes("import vrf")), ["  import vrf vrf42", "  import vrf vrf104009", "  import vrf route-map vrf41-import"]);
});

test("firewall leak rules follow metal-stack, DMZ cases included", () => {
  const leaks = (name: string) => firewallLeaks(firewalls[name]!.networks).map((l) => `${l.target.id}<-${l.source.id}${l.noExport ? " no-export" : ""}: ${l.entries.map((e) => `${e.action} ${e.prefix}`).join(", ")}`);
  assert.equal(leaks("fw-dmz"), [
    "dmz-cluster<-dmz: permit 10.0.4.0/22, permit 0.0.0.0/0",
    "dmz-cluster<-internet: deny 185.1.2.10/32, permit 0.0.0.0/0, permit 185.1.2.0/24",
    "dmz<-dmz-cluster: permit 10.0.0.0/22",
    "dmz<-internet: deny 185.1.2.10/32, permit 0.0.0.0/0, permit 185.1.2.0/24",
    "internet<-dmz-cluster: permit 185.1.2.0/24",
    "internet<-dmz-cluster no-export: permit 10.0.0.0/22",
    "internet<-dmz no-export: permit 10.0.4.0/22",
  ]);
  assert.equal(leaks("fw-app"), ["app<-dmz: permit 10.0.4.0/22, permit 0.0.0.0/0", "dmz<-app: permit 10.0.16.0/22"], "the app cluster's default route comes from the DMZ, and nothing from the internet");
  const conf = renderFirewallFrr(firewalls["fw-dmz"]!);
  assert.match(conf, "route-map vrf104009-import-map permit 20\n match source-vrf vrf12\n match ip address prefix-list vrf104009-import-from-vrf12-no-export\n set community no-export additive\nexit");
  assert.match(conf, "ip prefix-list vrf12-import-from-vrf104009 seq 100 deny 185.1.2.10/32\nip prefix-list vrf12-import-from-vrf104009 seq 101 permit 0.0.0.0/0\n");
  assert.match(conf, " neighbor FABRIC route-map only-self-out out", "towards the leaves only its own routes");
});

test("machine: unnumbered to both leaves, only its own routes out, on-host speakers only from its own addresses", () => {
  const conf = renderMachineFrr(machines["machine-dual"]!);
  assert.match(conf, " bgp router-id 10.0.0.10\n");
  assert.match(conf, " neighbor lan0 interface peer-group TOR\n neighbor lan1 interface peer-group TOR\n");
  assert.match(conf, " bgp listen range 10.0.0.10/32 peer-group LOCAL\n bgp listen range 185.1.2.7/32 peer-group LOCAL\n bgp listen range 2001:db8:0:1::10/128 peer-group LOCAL\n");
  assert.match(renderMachineFrr(machines["machine-v6"]!), " bgp router-id 169.254.255.255\n");
});

test.run();
