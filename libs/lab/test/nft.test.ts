// The lab's evaluator of rulesets as the kernel loaded them (`nft -j list ruleset` of the golden
// rulesets, loaded by the real nft in a namespace of the test's own) agrees with the packet test's
// verdicts, and names what it does not understand.
import { writeFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { inNs, namespaces } from "@bulkhead/testkit";
import { Ruleset } from "../src/nft.js";

const golden = (name: string) => readFileSync(new URL(`../../render/test/golden/${name}`, import.meta.url), "utf8");

async function loaded(text: string): Promise<unknown> {
  const ns = await namespaces("nft");
  try {
    const file = join(tmpdir(), `bulkhead-lab-nft-${process.pid}.nft`);
    writeFileSync(file, text);
    await inNs(ns.nft, "nft", "-f", file);
    return JSON.parse(await inNs(ns.nft, "nft", "-j", "list", "ruleset"));
  } finally {
    await ns.remove();
  }
}

const test = suite("nftables evaluator");
const packet = (iif: string, oif: string, saddr: string, daddr: string, dport: number, protocol: "tcp" | "udp" = "tcp") => ({ iif, oif, family: (daddr.includes(":") ? 6 : 4) as 4 | 6, saddr, daddr, protocol, dport });

test("the tenant ruleset: what the packet test sees passing passes, the rest is dropped", async () => {
  const rules = new Ruleset(await loaded(golden("tenant.nft")));
  const v = (p: ReturnType<typeof packet>) => rules.verdict("forward", p).verdict;
  assert.is(v(packet("vlan12", "vlan104009", "10.0.0.10", "185.1.2.100", 443)), "accept");
  assert.is(v(packet("vlan12", "vlan104009", "10.0.0.10", "185.1.2.100", 444)), "drop");
  assert.is(v(packet("vlan12", "vlan104009", "10.0.0.10", "185.1.2.100", 8080)), "drop", "an excepted host");
  assert.is(v(packet("vlan12", "vlan104009", "10.0.0.10", "185.1.2.101", 8080)), "accept");
  assert.is(v(packet("vlan104009", "vlan12", "185.1.2.100", "10.0.0.10", 80)), "accept", "ingress to the service");
  assert.is(v(packet("vlan104009", "vlan12", "185.1.2.100", "10.0.0.10", 81)), "drop");
  assert.is(v(packet("vlan20", "vlan104009", "10.0.4.10", "185.1.2.100", 443)), "accept", "DMZ egress");
  assert.is(v(packet("vlan20", "vlan12", "10.0.4.10", "10.0.0.10", 443)), "drop", "never into the primary");
  assert.is(v(packet("vlan12", "vlan104009", "10.9.9.9", "185.1.2.100", 443)), "drop", "a spoofed source");
  assert.is(v(packet("vlan12", "vlan104009", "2001:db8:0:1::10", "2001:db8:ffff::100", 8443)), "accept");
  assert.equal(rules.snat(packet("vlan12", "vlan104009", "10.0.0.10", "185.1.2.100", 443)), { masquerade: true });
  assert.is(rules.snat(packet("vlan104009", "vlan12", "185.1.2.100", "10.0.0.10", 80)), undefined);
  const vxlan = rules.verdict("input", packet("lan0", "", "10.255.0.201", "10.255.0.7", 4789, "udp"));
  assert.is(vxlan.verdict, "accept", "VXLAN from a VTEP of the underlay");
  assert.is(rules.verdict("input", packet("lan0", "", "10.254.255.1", "10.255.0.7", 4789, "udp")).verdict, "drop", "from outside it, dropped");
});

test("what the evaluator does not understand makes the verdict unknown, naming it", async () => {
  const text = golden("tenant.nft").replace("\t\tct state invalid drop\n\t\tiifname { \"vlan12\"", "\t\tct state invalid drop\n\t\tmeta mark 0x00000001 accept\n\t\tiifname { \"vlan12\"");
  const rules = new Ruleset(await loaded(text));
  const v = rules.verdict("forward", packet("vlan12", "vlan104009", "10.0.0.10", "185.1.2.100", 443));
  assert.is(v.verdict, "unknown");
  assert.match("what" in v ? v.what : "", /meta mark/);
});

test.run();
