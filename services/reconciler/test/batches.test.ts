import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Batches } from "../src/batches.js";

const test = suite("batches");

test("an item alone starts at once; items arriving while batches run go together into the next, each with its own result", async () => {
  const runs: number[][] = [];
  const releases: (() => void)[] = [];
  const batches = new Batches<number, number>(
    async (items) => {
      runs.push(items);
      await new Promise<void>((r) => releases.push(r));
      return items.map((i) => i * 10);
    },
    { parallel: 1, maxSize: 3 },
  );
  const first = batches.submit(1);
  assert.equal(runs, [[1]]);
  const rest = [2, 3, 4, 5].map((i) => batches.submit(i));
  assert.equal(runs, [[1]], "nothing more runs while the one slot is taken");
  releases.shift()!();
  assert.is(await first, 10);
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, [[1], [2, 3, 4]], "the waiting items, up to the batch size");
  releases.shift()!();
  await new Promise((r) => setImmediate(r));
  assert.equal(runs, [[1], [2, 3, 4], [5]]);
  releases.shift()!();
  assert.equal(await Promise.all(rest), [20, 30, 40, 50]);
});

test("a failed batch fails its own items only", async () => {
  const batches = new Batches<number, number>(async (items) => {
    if (items.includes(2)) throw new Error("parser crashed");
    return items;
  }, { parallel: 2, maxSize: 10 });
  const results = await Promise.allSettled([batches.submit(1), batches.submit(2), batches.submit(3)]);
  assert.equal(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
});

test("with a gather window, items submitted within it run in one batch; later ones wait for the next", async () => {
  const runs: number[][] = [];
  const batches = new Batches<number, number>(async (items) => {
    runs.push(items);
    await new Promise((r) => setTimeout(r, 30));
    return items;
  }, { parallel: 2, maxSize: 10, gatherMs: 20 });
  const first = batches.submit(1);
  await new Promise((r) => setTimeout(r, 5));
  const second = batches.submit(2);
  assert.equal(runs, [], "nothing runs before the window ends");
  assert.equal(await Promise.all([first, second]), [1, 2]);
  assert.equal(runs, [[1, 2]]);
});

test.run();
