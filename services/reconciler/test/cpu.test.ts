// Long pure work runs on a worker thread: same answers as on the main thread, and the event loop
// keeps turning meanwhile.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { unifiedDiff } from "@bulkhead/render";
import { CpuThread } from "../src/cpu.js";

const test = suite("cpu thread");
const cpu = new CpuThread();
test.after(() => cpu.close());

const lines = (n: number, changed: (i: number) => boolean) => Array.from({ length: n }, (_, i) => (changed(i) ? `line ${i} changed` : `line ${i}`)).join("\n");

test("a diff on the thread is the diff on the main thread, and timers fire while it runs", async () => {
  const from = lines(40_000, () => false);
  const to = lines(40_000, (i) => i % 9 === 4);
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const threaded = await cpu.run("unifiedDiff", from, to, { from: "a", to: "b" });
  clearInterval(timer);
  assert.ok(ticks >= 3, `the event loop turned ${ticks} times during the diff`);
  assert.is(threaded, unifiedDiff(from, to, { from: "a", to: "b" }));
});

test("a task that throws fails with its message; the thread goes on", async () => {
  try {
    await cpu.run("verifyPartition", [{ device: "leaf01", kind: "switch", files: [] }], undefined as never);
    assert.unreachable("facts are required");
  } catch (error) {
    assert.match((error as Error).message, "TypeError");
  }
  assert.is(await cpu.run("unifiedDiff", "a\n", "a\n", { from: "a", to: "b" }), "");
});

test.run();
