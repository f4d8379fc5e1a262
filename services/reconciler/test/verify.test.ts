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

test("frr.conf files of renders running together are checked in one vtysh run with the same findings as alone", async () => {
  const tools = await probeVerifyTools("auto");
  const files: Record<string, string> = {
    good1: frr,
    // Ends inside `router bgp`: the next file must not be read in that context.
    endsInBgp: "frr version 8.4\nhostname a\nrouter bgp 65000\n neighbor 10.0.0.2 remote-as 2\n",
    startsWithBgpLine: " neighbor 10.0.0.1 remote-as 1\nhostname b\n",
    broken: "frr version 8.4\nhostname c\nrouter bgp 65001\n bogus command here\n",
    // Leaves configuration mode: whatever follows it in a run is not checked at all.
    leavesConfig: "frr version 8.4\nhostname d\nexit\nexit\nexit\nexit\n",
    afterLeaving: "frr version 8.4\nhostname e\nrouter bgp 65002\n another bogus command\n",
    good2: frr.replace("fw1", "fw2"),
  };
  const verify = (device: string) => verifySyntax(device, [{ path: "frr/frr.conf", content: files[device]! }], tools);
  const together = await Promise.all(Object.keys(files).map(verify));
  const alone: typeof together = [];
  for (const device of Object.keys(files)) alone.push(await verify(device));
  assert.equal(together, alone);
  assert.ok(tools.active[0]!.batches!.largest > 1, "some files were checked together");
  const failed = (rs: typeof together) => rs.flatMap((r) => r.findings.map((f) => [f.device, f.line]));
  assert.equal(failed(together), [["startsWithBgpLine", 1], ["broken", 4], ["afterLeaving", 4]]);
});

test.run();
