// Failures of the machinery itself: Valkey killed during a fan-out, the reconciler killed in the
// middle of a job. Nothing is lost; the fabric converges to the newest revisions.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import { freePort, startValkey } from "@bulkhead/testkit";
import { inSync, startStack, type Stack } from "./harness.js";

const inSyncAll = (s: Stack, devices: string[], ms?: number) => s.until(async () => (await Promise.all(devices.map((d) => s.status(d)))).every(inSync), `${devices.join(", ")} in sync`, ms);
const carries = (s: Stack, device: string, text: string) => s.agents.get(device)!.read("frr/frr.conf").includes(text);

// --- Valkey ---

const killed = suite<{ s: Stack; port: number; dir: string; server: ChildProcess }>("Valkey killed during a fan-out", {} as never);
killed.before(async (ctx) => {
  ctx.port = await freePort();
  ctx.dir = mkdtempSync(join(tmpdir(), "bh-valkey-"));
  ctx.server = await startValkey(ctx.port, ctx.dir);
  ctx.s = await startStack({ valkeyUrl: `redis://127.0.0.1:${ctx.port}` });
});
killed.after(async (ctx) => {
  await ctx.s?.stop();
  ctx.server?.kill("SIGKILL");
});

killed("changes made before and while Valkey is down all arrive once it is back", async (ctx) => {
  const { s } = ctx;
  await s.startAgent("leaf01");
  await s.startAgent("leaf02");
  await inSyncAll(s, ["leaf01", "leaf02"]);
  await s.machine("m1", "Eth1/1");
  ctx.server.kill("SIGKILL");
  await new Promise((r) => ctx.server.once("exit", r));
  await s.machine("m2", "Eth1/2");
  await new Promise((r) => setTimeout(r, 1500));
  ctx.server = await startValkey(ctx.port, ctx.dir);
  await s.until(async () => ["leaf01", "leaf02"].every((d) => carries(s, d, "neighbor swp1 interface peer-group MACHINE") && carries(s, d, "neighbor swp2 interface peer-group MACHINE")), "both machines on both leaves", 30_000);
  await inSyncAll(s, ["leaf01", "leaf02"], 30_000);
});

killed.run();

// --- the reconciler ---

const crashed = suite<{ s: Stack }>("reconciler killed mid-job", {} as never);
crashed.before(async (ctx) => {
  ctx.s = await startStack({ reconcilerProcess: { BULKHEAD_FAILPOINTS: "reconciler.push.before-apply=exit" } });
});
crashed.after(async (ctx) => ctx.s?.stop());

crashed("a push interrupted by the process dying is taken up by the next process", async ({ s }) => {
  await s.startAgent("leaf01");
  // The first push kills the reconciler; its job stays active in Valkey until its lock expires.
  await s.restartReconciler();
  await inSyncAll(s, ["leaf01"], 30_000);
  await s.machine("m1", "Eth1/1");
  await s.until(async () => carries(s, "leaf01", "neighbor swp1 interface peer-group MACHINE"), "and it keeps converging", 30_000);
});

crashed.run();
