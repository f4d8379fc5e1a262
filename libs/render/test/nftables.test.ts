// The nftables compiler: golden files, determinism, validity under the real `nft -c`, and the
// literal meaning of omitted ports and peers.
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compileFirewall, policyProblems, type FirewallModel } from "../src/index.js";
import { models, tenant, tenantNetwork, internet, underlay } from "./models.js";
import { inNs, namespaces } from "@bulkhead/testkit";

const test = suite("nftables compiler");
const golden = (name: string) => new URL(`./golden/${name}.nft`, import.meta.url);

test("each model compiles to its golden file (BULKHEAD_UPDATE_GOLDEN=1 rewrites them)", () => {
  for (const [name, model] of Object.entries(models)) {
    const compiled = compileFirewall(model);
    if (process.env.BULKHEAD_UPDATE_GOLDEN === "1") writeFileSync(golden(name), compiled);
    assert.fixture(compiled, readFileSync(golden(name), "utf8"), name);
  }
});

test("the same firewall in any order gives byte-identical files", () => {
  const reversed = (m: FirewallModel): FirewallModel => ({
    ...m,
    networks: [...m.networks].reverse(),
    policies: [...m.policies].reverse().map((p) => ({ ...p, egress: p.egress.map((r) => ({ peers: [...r.peers].reverse(), ports: [...r.ports].reverse() })), ingress: p.ingress.map((r) => ({ peers: [...r.peers].reverse(), ports: [...r.ports].reverse() })) })),
    options: { ...m.options, rateLimits: [...m.options.rateLimits].reverse(), sshAllowedFrom: [...m.options.sshAllowedFrom].reverse() },
  });
  for (const model of Object.values(models)) assert.is(compileFirewall(reversed(model)), compileFirewall(model));
  const repeated = { ...tenant, policies: tenant.policies.map((p) => ({ ...p, egress: [...p.egress, ...p.egress] })) };
  assert.is(compileFirewall(repeated), compileFirewall(tenant), "a rule repeated within a policy is emitted once");
});

test("omitted ports mean every TCP and UDP port, omitted peers any address — never no rule", () => {
  const compiled = compileFirewall({ ...tenant, policies: [{ id: "p", name: "open", ingress: [{ peers: [], ports: [] }], egress: [{ peers: [{ cidr: "185.1.2.0/24", except: [] }], ports: [] }] }] });
  assert.match(compiled, 'oifname { "vlan12", "vrf12" } meta l4proto { tcp, udp } counter accept comment "open: ingress 0"');
  assert.match(compiled, 'iifname { "vlan12", "vrf12" } ip daddr 185.1.2.0/24 meta l4proto { tcp, udp } counter accept comment "open: egress 0"');
  assert.match(compileFirewall(tenant), 'ip daddr 185.1.2.0/24 ip daddr != 185.1.2.100/32 tcp dport 8080', "exceptions are a negated match");
});

test("every compiled file passes `nft -c -f` in an empty network namespace, and applies twice", async () => {
  const ns = await namespaces("check");
  try {
    for (const [name, model] of Object.entries(models)) {
      const file = join(tmpdir(), `bulkhead-${name}-${process.pid}.nft`);
      writeFileSync(file, compileFirewall(model));
      await inNs(ns.check, "nft", "-c", "-f", file);
      await inNs(ns.check, "nft", "-f", file);
      await inNs(ns.check, "nft", "-f", file);
    }
    assert.match(await inNs(ns.check, "nft", "list", "tables"), "table inet bulkhead");
  } finally {
    await ns.remove();
  }
});

test("a policy for addresses no network of the firewall reaches is a problem, not a silent no-op", () => {
  const v4only = [tenantNetwork, { ...internet, prefixes: ["185.1.2.0/24"], destinationPrefixes: ["0.0.0.0/0"] }, underlay];
  const v6 = tenant.policies.find((p) => p.name === "v6-out")!;
  assert.equal(policyProblems(v6, tenant.networks), []);
  const problems = policyProblems(v6, v4only);
  assert.is(problems.length, 1);
  assert.match(problems[0]!, "egress 0: 2001:db8:ffff::/64 is outside the networks the firewall reaches (0.0.0.0/0, 185.1.2.0/24)");
  assert.equal(policyProblems(v6, [internet]), ["the firewall has no private primary network"]);
  const toUnderlay = { id: "u", name: "u", ingress: [], egress: [{ peers: [{ cidr: "10.255.0.0/24", except: [] }], ports: [] }] };
  assert.equal(policyProblems(toUnderlay, [tenantNetwork, underlay]).length, 1, "the underlay is not a destination");
});

test.run();
