// A list command prints the whole list: everyPage walks every page and answers them as one.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { create } from "@bufbuild/protobuf";
import { ListPartitionsResponseSchema, PartitionSchema } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { everyPage } from "../src/pages.js";

test("every page of a list is answered as one list, asking for the largest pages", async () => {
  const ids = ["a", "b", "c", "d", "e"];
  const asked: { pageSize: number; pageToken: string }[] = [];
  // Two items a page, whatever was asked: the server decides a page's size.
  const listed = await everyPage(async (page) => {
    asked.push(page);
    const from = page.pageToken ? ids.indexOf(page.pageToken) + 1 : 0;
    const items = ids.slice(from, from + 2);
    const next = from + 2 < ids.length ? items[items.length - 1]! : "";
    return create(ListPartitionsResponseSchema, { partitions: items.map((id) => create(PartitionSchema, { id })), nextPageToken: next });
  }, "partitions");
  assert.equal(listed.partitions.map((p) => p.id), ids);
  assert.is(listed.nextPageToken, "");
  assert.equal(asked.map((a) => a.pageToken), ["", "b", "d"]);
  assert.ok(asked.every((a) => a.pageSize === 1000));
});

test.run();
