import { suite } from "uvu";
import * as assert from "uvu/assert";
import { FreshReads } from "../src/fresh-reads.js";

const test = suite("fresh reads");

/** A load whose reads finish when the test says, recording when each began. */
function controlled() {
  const started: { key: string; at: number; finish: (v: number) => void; fail: (e: Error) => void }[] = [];
  let clock = 0;
  const reads = new FreshReads<string, number>(
    (key) =>
      new Promise<number>((finish, fail) => {
        started.push({ key, at: ++clock, finish, fail });
      }),
  );
  const ask = (key: string) => {
    const asked = ++clock;
    return { asked, value: reads.read(key) };
  };
  return { reads, started, ask };
}

const tick = () => new Promise((r) => setImmediate(r));

test("callers asking while a read runs share the next read, not the running one", async () => {
  const { reads, started, ask } = controlled();
  const first = ask("p");
  const waiting = [ask("p"), ask("p"), ask("p")];
  assert.is(started.length, 1);
  started[0]!.finish(1);
  assert.is(await first.value, 1);
  await tick();
  assert.is(started.length, 2, "one more read for the three that waited");
  assert.ok(waiting.every((w) => started[1]!.at > w.asked), "it began after each of them asked");
  started[1]!.finish(2);
  assert.equal(await Promise.all(waiting.map((w) => w.value)), [2, 2, 2]);
  assert.is(reads.reads, 2);
});

test("a caller alone gets a read of its own; keys do not share", async () => {
  const { started, ask } = controlled();
  const a = ask("p");
  const b = ask("q");
  assert.is(started.length, 2);
  started[1]!.finish(20);
  started[0]!.finish(10);
  assert.is(await a.value, 10);
  assert.is(await b.value, 20);
  const later = ask("p");
  assert.is(started.length, 3);
  assert.ok(started[2]!.at > later.asked);
  started[2]!.finish(11);
  assert.is(await later.value, 11);
});

test("a failed read fails its own callers; those waiting get the next read", async () => {
  const { started, ask } = controlled();
  const first = ask("p");
  const next = ask("p");
  started[0]!.fail(new Error("network down"));
  try {
    await first.value;
    assert.unreachable("the first read failed");
  } catch (error) {
    assert.is((error as Error).message, "network down");
  }
  await tick();
  assert.is(started.length, 2);
  started[1]!.finish(3);
  assert.is(await next.value, 3);
});

test("with a gather window, callers asking within it share one read, begun after each of them asked", async () => {
  const began: number[] = [];
  const asked: number[] = [];
  const reads = new FreshReads<string, number>(async () => {
    began.push(performance.now());
    return began.length;
  }, 20);
  const ask = async () => {
    asked.push(performance.now());
    return reads.read("p");
  };
  const first = ask();
  await new Promise((r) => setTimeout(r, 5));
  const second = ask();
  assert.equal(await Promise.all([first, second]), [1, 1]);
  assert.is(reads.reads, 1);
  assert.ok(began[0]! >= Math.max(...asked), "it began after both asked");
  assert.is(await ask(), 2, "a caller after it gets a read of its own");
});

test.run();
