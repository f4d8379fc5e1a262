import { suite } from "uvu";
import * as assert from "uvu/assert";
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

test.run();
