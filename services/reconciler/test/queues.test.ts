import { randomBytes } from "node:crypto";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { testValkeyUrl } from "@bulkhead/db/testing";
import { createLogger } from "@bulkhead/service-kit";
import { deleteKeys } from "@bulkhead/testkit";
import { BullQueues } from "../src/queues.js";
import type { Reconciler } from "../src/reconciler.js";

const test = suite("queues");

async function until(done: () => Promise<boolean> | boolean, what: string, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Real queues on Valkey whose pushes run until the test lets each one finish. */
async function blockingPushes() {
  const prefix = `bhtest-queues-${randomBytes(4).toString("hex")}`;
  const queues = new BullQueues({ url: testValkeyUrl(), prefix, renderConcurrency: 1, renderIntervalMs: 0, pushConcurrency: 4, pushAttempts: 1, pushBackoffMs: 10, stalledMs: 30_000 }, createLogger("test", "silent"));
  const runs: { device: string; finish: () => void }[] = [];
  const reconciler = {
    push: (device: string) => new Promise((finish) => runs.push({ device, finish: () => finish("applied") })),
    render: async () => false,
    onEvent: async () => [],
    pushFailed: async () => {},
  };
  queues.start(reconciler as unknown as Reconciler);
  const connection = new Redis(testValkeyUrl(), { maxRetriesPerRequest: null });
  const pushQueue = new Queue("push", { connection, prefix });
  const idle = async () => {
    const counts = await pushQueue.getJobCounts("waiting", "active", "delayed", "prioritized");
    return Object.values(counts).every((n) => n === 0);
  };
  const stop = async () => {
    for (const r of runs) r.finish();
    await queues.close();
    await pushQueue.close();
    connection.disconnect();
    await deleteKeys(testValkeyUrl(), `${prefix}:*`);
  };
  return { queues, runs, idle, stop };
}

test("a push asked for only to catch the agent up is dropped while one is under way", async () => {
  const q = await blockingPushes();
  try {
    await q.queues.push("leaf01");
    await until(() => q.runs.length === 1, "the first push under way");
    await q.queues.push("leaf01", true);
    await q.queues.push("leaf01", true);
    q.runs[0]!.finish();
    await until(q.idle, "the queue idle");
    assert.is(q.runs.length, 1, "the push under way delivers what the heartbeat asked for");
  } finally {
    await q.stop();
  }
});

test("a push of a new revision asked for while one is under way runs after it — once, however often asked", async () => {
  const q = await blockingPushes();
  try {
    await q.queues.push("leaf01");
    await until(() => q.runs.length === 1, "the first push under way");
    await q.queues.push("leaf01");
    await q.queues.push("leaf01", true);
    await q.queues.push("leaf01");
    q.runs[0]!.finish();
    await until(() => q.runs.length === 2, "the second push under way");
    q.runs[1]!.finish();
    await until(q.idle, "the queue idle");
    assert.is(q.runs.length, 2);
  } finally {
    await q.stop();
  }
});

test("with no push under way, a catch-up push runs; other devices are apart", async () => {
  const q = await blockingPushes();
  try {
    await q.queues.push("leaf01", true);
    await until(() => q.runs.length === 1, "the catch-up push under way");
    await q.queues.push("leaf02", true);
    await until(() => q.runs.length === 2, "leaf02's push under way beside it");
    assert.equal(q.runs.map((r) => r.device).sort(), ["leaf01", "leaf02"]);
  } finally {
    await q.stop();
  }
});

test.run();
