// Periodic work is quiet while healthy: one warning per outage (no stack), one line when it recovers.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createLogger } from "../src/observability.js";
import { Periodic } from "../src/sagas.js";

function logged(level: string) {
  const lines: { level: string; msg: string; error?: string; err?: { stack?: string } }[] = [];
  return { lines, log: createLogger("test", level, { write: (line: string) => void lines.push(JSON.parse(line)) }) };
}

test("an outage warns once without a stack, a different failure warns again, a recovery says so once", async () => {
  const { lines, log } = logged("info");
  const outcomes = ["down", "down", "down", "other", "ok", "ok", "down"];
  let i = 0;
  const work = new Periodic(60_000, log, "heartbeat", async () => {
    const outcome = outcomes[i++];
    if (outcome !== "ok") throw new Error(`valkey ${outcome}`);
  });
  for (let k = 0; k < outcomes.length; k++) await work.runNow();
  assert.equal(lines.map((l) => [l.level, l.msg, l.error]), [
    ["warn", "heartbeat failed; retrying", "valkey down"],
    ["warn", "heartbeat failed; retrying", "valkey other"],
    ["info", "heartbeat works again", undefined],
    ["warn", "heartbeat failed; retrying", "valkey down"],
  ]);
  assert.ok(lines.every((l) => l.err === undefined), "no stack trace at info level");
});

test("at debug level every failure is logged with its stack", async () => {
  const { lines, log } = logged("debug");
  const work = new Periodic(60_000, log, "sweep", async () => {
    throw new Error("no database");
  });
  await work.runNow();
  await work.runNow();
  assert.is(lines.filter((l) => l.level === "debug" && l.err?.stack?.includes("no database")).length, 2);
});

test("with jitter, intervals spread within intervalMs × (1 ± jitter); without, they are exact", async () => {
  const { log } = logged("info");
  const spread = new Periodic(1000, log, "heartbeat", async () => {}, 0.2);
  const delays = Array.from({ length: 200 }, () => spread.nextDelay());
  assert.ok(delays.every((d) => d >= 800 && d <= 1200), `${Math.min(...delays)}..${Math.max(...delays)}`);
  assert.ok(Math.max(...delays) - Math.min(...delays) > 200, "they do differ");
  assert.is(new Periodic(1000, log, "sweep", async () => {}).nextDelay(), 1000);
});

test("it runs every interval until stopped", async () => {
  const { log } = logged("info");
  let runs = 0;
  const work = new Periodic(10, log, "tick", async () => void runs++, 0.5);
  work.start();
  const deadline = Date.now() + 5000;
  while (runs < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  await work.stop();
  const stoppedAt = runs;
  assert.ok(stoppedAt >= 3);
  await new Promise((r) => setTimeout(r, 60));
  assert.is(runs, stoppedAt, "no run after stop");
});

test.run();
