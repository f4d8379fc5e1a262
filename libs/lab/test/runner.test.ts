// The lab on real FRR: a small fabric converges, real packets cross EVPN between two leaves, the
// report is read off the routers; and everything a run creates — namespaces, links, daemons — is
// gone afterwards, whether it finished, was aborted, or its parent process was killed.
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { formatReport, labUnavailable, planLab, proven, prove, runPlan, runPrefix } from "../src/index.js";
import { twoLeaves } from "./fixtures.js";

const test = suite("lab runner");

/** Processes whose command line names the run's prefix (its daemons carry it as their pathspace). */
const processesOf = (prefix: string) => (spawnSync("pgrep", ["-f", "--", `-N ${prefix}-`], { encoding: "utf8" }).stdout ?? "").split("\n").filter(Boolean);

async function until(done: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test.before(() => {
  const unavailable = labUnavailable();
  if (unavailable) throw new Error(unavailable);
});

test("a small fabric of a Cumulus and a SONiC leaf converges, pings cross EVPN, nothing leaks, nothing is left behind", async () => {
  const input = twoLeaves();
  const prefix = runPrefix();
  const plan = planLab(input, prefix);
  const run = await runPlan(plan, { timeoutMs: 60_000 });
  const report = prove(input, plan, run);
  assert.ok(proven(report), formatReport(report));
  assert.equal(report.pings.map((p) => [p.from, p.to, p.ok]), [["m1", "m2", true]]);
  assert.ok(run.routers.leaf01!.routes.vrf41!["10.1.0.11/32"], "leaf01 (Cumulus) learned m2's address over EVPN");
  assert.ok(run.routers.leaf02!.routes.Vrf41!["10.1.0.10/32"], "leaf02 (SONiC, its CONFIG_DB laid out in namespaces) learned m1's address");
  assert.equal(processesOf(prefix), [], "no daemon outlives the run");
  assert.not.match(spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout, prefix, "no namespace of the run is visible on the host");
});

test("an aborted run ends at once and leaves nothing behind", async () => {
  const prefix = runPrefix();
  const controller = new AbortController();
  const running = runPlan(planLab(twoLeaves(), prefix), { timeoutMs: 60_000, signal: controller.signal });
  await until(() => processesOf(prefix).length > 0, "the daemons to start");
  controller.abort();
  await running.then(
    () => assert.unreachable("an aborted run does not report"),
    (e: Error) => assert.match(e.message, /lab worker failed/),
  );
  await until(() => processesOf(prefix).length === 0, "the daemons to go");
});

test("when the process running the lab is killed, its daemons and namespaces go with it", async () => {
  const prefix = runPrefix();
  const script = join(tmpdir(), `bulkhead-lab-orphan-${process.pid}.mts`);
  writeFileSync(script, `import { planLab, runPlan } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};\nimport { twoLeaves } from ${JSON.stringify(new URL("./fixtures.ts", import.meta.url).pathname)};\nawait runPlan(planLab(twoLeaves(), ${JSON.stringify(prefix)}), { timeoutMs: 60_000 });\n`);
  const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: "ignore" });
  await until(() => processesOf(prefix).length > 0, "the daemons to start");
  child.kill("SIGKILL");
  await until(() => processesOf(prefix).length === 0, "the daemons to go after their parent died");
});

test.run();
