// Tables fit 120 columns (the widest columns cut, marked …); -o wide shows every column uncut.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TABLE_WIDTH, table, type Column } from "../src/output.js";

const columns: Column[] = [["ID", "id"], ["STATE", "state", "SYNC_STATE_"], ["PUSHES", "pushes", undefined, "wide"], ["ERROR", "error"]];
const rows = [
  { id: "leaf01", state: "SYNC_STATE_IN_SYNC", pushes: 3, error: "" },
  { id: "leaf02-with-a-rather-long-device-name", state: "SYNC_STATE_REJECTED", pushes: 12, error: `render refused by verification: ${"frr/frr.conf:12: prefix-list PL: ge without le; ".repeat(6)}` },
];

test("a table fits 120 columns, cutting the widest column, and leaves wide-only columns out", () => {
  const lines = table(rows, columns).split("\n");
  assert.ok(lines.every((l) => l.length <= TABLE_WIDTH), lines.map((l) => l.length).join(","));
  assert.equal(lines[0]!.split(/\s{2,}/), ["ID", "STATE", "ERROR"]);
  assert.match(lines[1]!, /^leaf01\s+in-sync$/);
  assert.match(lines[2]!, /^leaf02-with-a-rather-long-device-name\s+rejected\s+render refused by verification: frr\/frr\.conf:12: .*…$/);
});

test("-o wide shows every column uncut", () => {
  const lines = table(rows, columns, true).split("\n");
  assert.equal(lines[0]!.split(/\s{2,}/), ["ID", "STATE", "PUSHES", "ERROR"]);
  assert.ok(lines[2]!.endsWith(rows[1]!.error.trimEnd()), "the error in full");
  assert.ok(lines[2]!.length > TABLE_WIDTH);
});

test("a narrow table is left as it is", () => {
  assert.is(table([{ id: "a" }], [["ID", "id"]]), "ID\na");
});

test.run();
