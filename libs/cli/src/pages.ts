// List commands print whole lists: they walk every page of a paged List RPC.
import type { Message } from "@bufbuild/protobuf";
import { MAX_PAGE_SIZE, allPages } from "@bulkhead/api/paging";

/**
 * A paged list as one answer, read in the largest pages: the first page's answer with every
 * page's items in `field` (a list is never cut at a page boundary).
 */
export async function everyPage<M extends Message & { nextPageToken: string }>(fetch: (page: { pageSize: number; pageToken: string }) => Promise<M>, field: string): Promise<M> {
  let first: M | undefined;
  const items = await allPages(async (pageToken) => {
    const page = await fetch({ pageSize: MAX_PAGE_SIZE, pageToken });
    first ??= page;
    return { items: (page as unknown as Record<string, unknown[]>)[field]!, next: page.nextPageToken };
  });
  return { ...first!, [field]: items, nextPageToken: "" };
}
