// Walking lists: every page, and for an id filter at most the contracts' limit of ids a call.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { MAX_PAGE_SIZE, allPagesOf } from "../src/paging.js";

test("a list filtered by more ids than a call may carry is asked in chunks, each chunk's pages walked", async () => {
  const ids = Array.from({ length: 2 * MAX_PAGE_SIZE + 5 }, (_, i) => `n${i}`);
  const calls: { size: number; pageToken: string }[] = [];
  // The server answers two pages per call: the first half of the ids asked, then the rest.
  const items = await allPagesOf(ids, async (chunk, pageToken) => {
    calls.push({ size: chunk.length, pageToken });
    const half = Math.ceil(chunk.length / 2);
    return pageToken ? { items: chunk.slice(half), next: "" } : { items: chunk.slice(0, half), next: "more" };
  });
  assert.equal(items, ids);
  assert.equal(calls.map((c) => c.size), [MAX_PAGE_SIZE, MAX_PAGE_SIZE, MAX_PAGE_SIZE, MAX_PAGE_SIZE, 5, 5]);
  assert.equal(await allPagesOf([], async () => ({ items: ["never"], next: "" })), [], "no ids, no call");
});

test.run();
