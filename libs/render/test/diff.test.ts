import { suite } from "uvu";
import * as assert from "uvu/assert";
import { applyPatch } from "diff";
import { unifiedDiff } from "../src/index.js";

const test = suite("unified diff");
const labels = { from: "deployed", to: "planned" };
const lines = (n: number) => Array.from({ length: n }, (_, i) => `line ${i + 1}`);

test("equal texts have no diff", () => {
  assert.is(unifiedDiff("a\nb\n", "a\nb\n", labels), "");
});

test("a change in the middle shows three lines of context and correct ranges", () => {
  const before = lines(10);
  const after = [...before];
  after[4] = "changed";
  assert.is(
    unifiedDiff(before.join("\n"), after.join("\n"), labels),
    ["--- deployed", "+++ planned", "@@ -2,7 +2,7 @@", "line 2", "line 3", "line 4", "-line 5", "+changed", "line 6", "line 7", "line 8"].map((l) => (/^(@@|---|\+\+\+|[-+])/.test(l) ? l : ` ${l}`)).join("\n") + "\n",
  );
});

test("distant changes make separate hunks; additions and removals at the ends", () => {
  const before = lines(30);
  const after = ["new first", ...before.slice(0, 29)];
  const diff = unifiedDiff(before.join("\n"), after.join("\n"), labels);
  assert.equal(diff.split("\n").filter((l) => l.startsWith("@@")), ["@@ -1,3 +1,4 @@", "@@ -27,4 +28,3 @@"]);
  assert.match(diff, "+new first");
  assert.match(diff, "-line 30");
  assert.equal(unifiedDiff("", "a\nb", labels).split("\n").slice(2, 5), ["@@ -0,0 +1,2 @@", "+a", "+b"]);
});

/** `to`, rebuilt from `from` and the diff by an independent patch applier. */
const applied = (from: string, to: string) => applyPatch(from === "" ? "" : `${from}\n`, unifiedDiff(from, to, labels));

test("a patch tool turns the old text into the new one, for random edits", () => {
  let seed = 7;
  const random = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let round = 0; round < 200; round++) {
    const before = lines(random(60));
    const after = before.flatMap((l) => [[l], [], [`${l} changed`], [l, `new ${random(1000)}`]][random(4) === 0 ? random(4) : 0]!);
    assert.is(applied(before.join("\n"), after.join("\n")), after.length ? `${after.join("\n")}\n` : "", `round ${round}`);
  }
});

test("texts too different for the edit budget get one hunk with the changed middle, still a correct diff", () => {
  const before = lines(20_000);
  const after = before.map((l, i) => (i % 5 === 2 ? `${l} changed` : l));
  after.push("appended");
  const diff = unifiedDiff(before.join("\n"), after.join("\n"), labels);
  assert.equal(diff.split("\n").filter((l) => l.startsWith("@@")), ["@@ -1,20000 +1,20001 @@"]);
  assert.is(applyPatch(`${before.join("\n")}\n`, diff), `${after.join("\n")}\n`);
});

test.run();
