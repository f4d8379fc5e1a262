import { suite } from "uvu";
import * as assert from "uvu/assert";
import { RecordsPart, type RecordsChange } from "../src/records-changes.js";
import { Snapshots } from "../src/snapshots.js";

const test = suite("snapshots");

/** A records version the test moves, a log of changes (the oldest may be let go), and snapshots that say how each was made. */
function versioned() {
  const log: RecordsChange[] = [];
  let kept = 0;
  const refreshes: string[] = [];
  const snapshots = new Snapshots<string>(
    async (key, previous, changes) => {
      const made = previous === undefined || changes === undefined ? `${key} whole` : `${previous} +${changes.length}`;
      refreshes.push(made);
      return made;
    },
    async (since) => (since === undefined || since < kept ? { version: log.length } : { version: log.length, changes: log.slice(since) }),
  );
  const take = (machines: string[] = []) => (log.push({ partition: "p", parts: [RecordsPart.Machines], machines }), log.length);
  const letGo = () => (kept = log.length);
  return { snapshots, refreshes, take, letGo };
}

test("the renders of a quiet partition share one read, however late they ask", async () => {
  const { snapshots, refreshes, take } = versioned();
  const began = take();
  assert.is(await snapshots.read("p", began), "p whole");
  assert.is(await snapshots.read("p", began), "p whole");
  assert.is(await snapshots.read("p", 0), "p whole", "an older version is served by a newer snapshot");
  assert.equal(refreshes, ["p whole"]);
});

test("a render that began after changes were taken in gets the snapshot brought forward by them", async () => {
  const { snapshots, refreshes, take } = versioned();
  await snapshots.read("p", take());
  take();
  const began = take();
  assert.is(await snapshots.read("p", began), "p whole +2");
  assert.equal(refreshes, ["p whole", "p whole +2"]);
});

test("changes no longer kept: read whole", async () => {
  const { snapshots, take, letGo } = versioned();
  await snapshots.read("p", take());
  take();
  letGo();
  assert.is(await snapshots.read("p", take()), "p whole");
});

test("read whole on demand, even when a snapshot of the version is at hand; later readers use it", async () => {
  const { snapshots, refreshes, take } = versioned();
  const began = take();
  await snapshots.read("p", began);
  await snapshots.read("p", began);
  assert.is(await snapshots.readWhole("p"), "p whole");
  assert.equal(refreshes, ["p whole", "p whole"]);
  assert.is(snapshots.reads, 2);
});

test("partitions are apart", async () => {
  const { snapshots, refreshes } = versioned();
  await snapshots.read("p", 0);
  await snapshots.read("q", 0);
  assert.equal(refreshes, ["p whole", "q whole"]);
});

test("the version is read before the records: a change taken in during the read is not taken as held", async () => {
  let version = 1;
  const snapshots = new Snapshots<number>(
    async () => ++version, // a change taken in while the records are read
    async () => ({ version, changes: [] }),
  );
  assert.is(await snapshots.read("p", 1), 2);
  assert.is(await snapshots.read("p", 2), 3, "version 2 was taken in after the read began: the read is not known to hold it");
});

test("a failed read is not kept: the next caller reads again", async () => {
  let fail = true;
  const snapshots = new Snapshots<string>(
    async () => {
      if (fail) throw new Error("network down");
      return "ok";
    },
    async () => ({ version: 1 }),
  );
  try {
    await snapshots.read("p", 1);
    assert.unreachable("the read failed");
  } catch (error) {
    assert.is((error as Error).message, "network down");
  }
  fail = false;
  assert.is(await snapshots.read("p", 1), "ok");
  assert.is(snapshots.reads, 2);
});

test.run();
