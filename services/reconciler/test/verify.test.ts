// FRR's and nftables' parsers as the reconciler runs them: found out at start, and working as an
// unprivileged user too (the shipped image runs as one): nft -c then runs in a user and network
// namespace of its own instead of failing every firewall revision.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { probeVerifyTools, verifySyntax, type VerifyTools } from "../src/verify.js";

const test = suite("syntax verification");
const ruleset = "table inet bulkhead {\n  chain forward {\n    type filter hook forward priority 0; policy drop;\n  }\n}\n";
const broken = "table inet bulkhead {\n  chain forward {\n    type filter hook forward priority 0; policy drop;\n    tcp dport 443 acept\n  }\n}\n";
const frr = "frr version 8.4\nhostname fw1\n!\nrouter bgp 65000\n!\n";
const nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

const check = async (tools: VerifyTools) => {
  const good = await verifySyntax("fw1", [{ path: "nftables/bulkhead.nft", content: ruleset }, { path: "frr/frr.conf", content: frr }], tools);
  const bad = await verifySyntax("fw1", [{ path: "nftables/bulkhead.nft", content: broken }], tools);
  return { good, bad };
};

test("as root: vtysh -C and nft -c run as they are, a broken ruleset is a finding with its line", async () => {
  const tools = await probeVerifyTools("auto");
  assert.equal(tools.active.map((a) => [a.tool.name, a.how]), [["vtysh -C", ""], ["nft -c", ""]]);
  const { good, bad } = await check(tools);
  assert.equal([good.passed, good.checks], [true, ["vtysh -C", "nft -c"]]);
  assert.equal([bad.passed, bad.findings[0]?.object, bad.findings[0]?.line], [false, "nft -c", 4]);
});

test("as an unprivileged user: nft -c runs in a user and network namespace of its own and still finds the error", async () => {
  const tools = await probeVerifyTools("auto", nobody);
  assert.equal(tools.active.map((a) => [a.tool.name, a.how]), [["vtysh -C", ""], ["nft -c", "in a user and network namespace of its own"]], JSON.stringify(tools.unavailable));
  const { good, bad } = await check(tools);
  assert.equal([good.passed, good.checks], [true, ["vtysh -C", "nft -c"]], JSON.stringify(good.findings));
  assert.equal([bad.passed, bad.findings[0]?.object, bad.findings[0]?.line], [false, "nft -c", 4]);
});

test("a parser that works nowhere is unavailable with the reason, never silently passed; off runs none", async () => {
  const tools = await probeVerifyTools("auto", ["env", "PATH=/nonexistent"]);
  assert.equal(tools.active, []);
  assert.equal(tools.unavailable.map((u) => u.name), ["vtysh -C", "nft -c"]);
  assert.match(tools.unavailable[1]!.reason, "No such file");
  assert.equal((await check(await probeVerifyTools("off"))).bad.checks, []);
});

test.run();
