// The verifier passes every correct golden topology and catches every class of injected fault.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { verifyDifferential, verifyPartition, type DeviceConfig, type Finding } from "../src/index.js";
import { topologies, type Topology } from "./topologies.js";

const show = (findings: Finding[]) => findings.map((f) => `${f.property} ${f.device} ${f.path}:${f.line} ${f.object}: ${f.message}`).join("\n");

const clean = suite("correct configurations");
for (const [name, make] of Object.entries(topologies)) {
  clean(`${name}: no findings`, () => {
    const t = make();
    const { findings } = verifyPartition(t.devices, t.facts);
    assert.equal(findings.length, 0, show(findings));
  });
}
clean.run();

/** Edits one file of one device of a topology. */
function mutate(name: string, device: string, path: string, edit: (text: string) => string): Topology {
  const t = topologies[name]!();
  const d = t.devices.find((x) => x.device === device)! as DeviceConfig;
  const file = d.files.find((f) => f.path === path)!;
  const changed = edit(file.content);
  if (changed === file.content) throw new Error(`the mutation of ${device} ${path} changed nothing`);
  file.content = changed;
  return t;
}
const replace = (from: string | RegExp, to: string) => (text: string) => text.replace(from, to);

const caught = suite("injected faults");
const faults: { name: string; property: string; object?: string; make: () => Topology }[] = [
  { name: "a widened machine prefix list", property: "ingress-filtering", object: "10.0.0.0/8 le 32", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("ip prefix-list swp1-in seq 10 permit 10.1.0.0/24 le 32", "ip prefix-list swp1-in seq 10 permit 10.0.0.0/8 le 32")) },
  { name: "a dropped inbound route map", property: "ingress-filtering", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("  neighbor swp1 route-map swp1-in in\n", "")) },
  { name: "a dropped maximum-prefix", property: "ingress-filtering", make: () => mutate("many-tenants", "leaf02", "frr/frr.conf", replace(/  neighbor MACHINE maximum-prefix 24000\n/, "")) },
  { name: "a permit-all entry in an inbound route map", property: "ingress-filtering", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("route-map swp2-in deny 20", "route-map swp2-in permit 20")) },
  { name: "a firewall port sent a VNI it does not serve", property: "ingress-filtering", object: "route-map fw-swp4-vni permit 20", make: () => mutate("many-tenants", "leaf02", "frr/frr.conf", replace(" match evpn vni 30", " match evpn vni 31")) },
  { name: "an added import vrf", property: "import-closure", object: "import vrf vrf43", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("  import vrf vrf42\n  import vrf vrf104009\n", "  import vrf vrf42\n  import vrf vrf43\n  import vrf vrf104009\n")) },
  { name: "a dropped import route map", property: "import-closure", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("  import vrf route-map vrf41-import\n", "")) },
  { name: "A–B, B–C peered and A–C leaked through B's list", property: "import-closure", object: "10.3.0.0/24 le 32", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("ip prefix-list vrf41-import-from-vrf42 seq 10 permit 10.2.0.0/24 le 32\n", "ip prefix-list vrf41-import-from-vrf42 seq 10 permit 10.2.0.0/24 le 32\nip prefix-list vrf41-import-from-vrf42 seq 20 permit 10.3.0.0/24 le 32\n")) },
  { name: "a duplicated VNI", property: "identifier-hygiene", object: "vni 12", make: () => mutate("many-tenants", "leaf02", "frr/frr.conf", replace("vrf vrf30\n vni 30", "vrf vrf30\n vni 12")) },
  { name: "an SVI in the wrong VRF", property: "identifier-hygiene", object: "iface vlan1001", make: () => mutate("many-tenants", "leaf02", "network/interfaces", replace("    vlan-id 1001\n    vlan-raw-device bridge\n    vrf vrf31", "    vlan-id 1001\n    vlan-raw-device bridge\n    vrf vrf30")) },
  { name: "the underlay redistributing every connected network", property: "infrastructure-separation", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("  redistribute connected route-map LOOPBACKS\n", "  redistribute connected\n")) },
  { name: "a tenant VRF importing the default VRF", property: "infrastructure-separation", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("  import vrf vrf42\n  import vrf vrf104009\n", "  import vrf vrf42\n  import vrf default\n  import vrf vrf104009\n")) },
  { name: "a black hole: a peering whose import is gone", property: "end-to-end", object: "b → a", make: () => mutate("peering-chain", "leaf04", "frr/frr.conf", replace("  import vrf vrf42\n  import vrf vrf104009\n", "  import vrf vrf104009\n")) },
  { name: "an accept-all nftables rule", property: "nftables-policy", object: "accept", make: () => mutate("firewalls", "fw-tenant", "nftables/bulkhead.nft", replace("\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", "\t\tct state invalid drop\n\t\taccept\n\t\tiifname { \"vlan12\"")) },
  { name: "a forward chain that accepts by default", property: "nftables-policy", object: "chain forward", make: () => mutate("firewalls", "fw-tenant", "nftables/bulkhead.nft", replace("type filter hook forward priority filter; policy drop;", "type filter hook forward priority filter; policy accept;")) },
  { name: "an accept toward another project's network", property: "nftables-policy", make: () => mutate("firewalls", "fw-tenant", "nftables/bulkhead.nft", replace("ip daddr 10.0.4.0/22 tcp dport 9000", "ip daddr 10.9.1.0/24 tcp dport 9000")) },
  { name: "NAT into a private network", property: "nftables-policy", make: () => mutate("firewalls", "fw-tenant", "nftables/bulkhead.nft", replace('oifname { "vlan20", "vrf20" } ip saddr 10.0.0.0/22 masquerade', 'oifname { "vlan12", "vrf12" } ip saddr 10.0.4.0/22 masquerade')) },
  { name: "a firewall VRF importing a network not attached to it", property: "import-closure", make: () => mutate("firewalls", "fw-app", "frr/frr.conf", replace(/  import vrf vrf20\n/, "  import vrf vrf20\n  import vrf vrf12\n")) },
];
for (const fault of faults) {
  caught(`catches ${fault.name}`, () => {
    const t = fault.make();
    const { findings } = verifyPartition(t.devices, t.facts);
    const hit = findings.filter((f) => f.property === fault.property && (!fault.object || f.object === fault.object));
    assert.ok(hit.length > 0, `expected a ${fault.property} finding${fault.object ? ` on ${fault.object}` : ""}; got:\n${show(findings) || "(none)"}`);
    assert.ok(hit.every((f) => f.device !== "" && f.line > 0), `findings name device and line:\n${show(hit)}`);
  });
}
caught.run();

const diff = suite("differential");
diff("only the leaks the change asked for may differ", () => {
  const before = topologies["peering-chain"]!();
  const applied = verifyPartition(before.devices, before.facts);
  const after = mutate("peering-chain", "leaf04", "frr/frr.conf", replace("  import vrf vrf42\n  import vrf vrf104009\n", "  import vrf vrf104009\n"));
  const proposed = verifyPartition(after.devices, after.facts);
  assert.equal(verifyDifferential(applied, proposed, ["a<b"]), []);
  const unasked = verifyDifferential(applied, proposed);
  assert.equal(unasked.map((f) => f.object), ["a<b"]);
  assert.match(unasked[0]!.message, /closes a ← b/);
});
diff.run();
