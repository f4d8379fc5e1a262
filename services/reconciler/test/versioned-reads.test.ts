import { suite } from "uvu";
import * as assert from "uvu/assert";
import { VersionedReads } from "../src/versioned-reads.js";

const test = suite("versioned reads");

/** Reads tagged with a version the test moves; each read answers "<key>@<version it began at>". */
function versioned() {
  let version = 0;
  const loads: string[] = [];
  const reads = new VersionedReads<string, string>(
    async (key) => {
      loads.push(key);
      return `${key}@${version}`;
    },
    async () => version,
  );
  return { reads, loads, bump: () => ++version, version: () => version };
}

test("renders of a quiet partition share one read, however late they ask", async () => {
  const { reads, loads, bump } = versioned();
  bump();
  assert.is(await reads.read("p", 1), "p@1");
  assert.is(await reads.read("p", 1), "p@1");
  assert.is(await reads.read("p", 0), "p@1", "an older version is served by a newer read");
  assert.equal(loads, ["p"]);
});

test("a render that began after a change was taken in gets a read that holds it", async () => {
  const { reads, loads, bump } = versioned();
  bump();
  assert.is(await reads.read("p", 1), "p@1");
  const began = bump();
  assert.is(await reads.read("p", began), "p@2");
  assert.equal(loads, ["p", "p"]);
});

test("partitions are read apart", async () => {
  const { reads, loads } = versioned();
  assert.is(await reads.read("p", 0), "p@0");
  assert.is(await reads.read("q", 0), "q@0");
  assert.equal(loads, ["p", "q"]);
});

test("anew: a read that begins after asking, even when one of the version is at hand; later callers use it", async () => {
  const { reads, loads } = versioned();
  assert.is(await reads.read("p", 0), "p@0");
  assert.is(await reads.read("p", Number.POSITIVE_INFINITY), "p@0");
  assert.equal(loads, ["p", "p"]);
  assert.is(await reads.read("p", 0), "p@0");
  assert.is(reads.reads, 2);
});

test("the version is read before the records: a change taken in during the read is not taken as held", async () => {
  let version = 1;
  const reads = new VersionedReads<string, number>(
    async () => {
      version++; // a change taken in while the records are being read
      return version;
    },
    async () => version,
  );
  assert.is(await reads.read("p", 1), 2);
  assert.is(await reads.read("p", 2), 3, "version 2 was bumped after the read began: the read is not known to hold it");
});

test("a failed read is not kept: the next caller reads again", async () => {
  let fail = true;
  const reads = new VersionedReads<string, string>(
    async () => {
      if (fail) throw new Error("network down");
      return "ok";
    },
    async () => 1,
  );
  try {
    await reads.read("p", 1);
    assert.unreachable("the read failed");
  } catch (error) {
    assert.is((error as Error).message, "network down");
  }
  fail = false;
  assert.is(await reads.read("p", 1), "ok");
  assert.is(reads.reads, 2);
});

test.run();
