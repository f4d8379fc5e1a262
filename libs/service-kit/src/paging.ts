// Keyset paging: a page token is the opaque key of the last item returned.
import { InvalidArgumentError } from "./errors.js";

export { MAX_PAGE_SIZE, allPages } from "@bulkhead/api/paging";

/** A page's size when the caller names none (the contracts say so). */
export const DEFAULT_PAGE_SIZE = 100;

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

/** A request for one page of a list. */
export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

/** Where a page ends: the last item's key, or its keys for a list ordered by several columns. */
export type PageKey = string | readonly string[];

const MAX_KEY_LENGTH = 128;

export function encodePageToken(after: PageKey): string {
  return Buffer.from(JSON.stringify({ after })).toString("base64url");
}

const invalidToken = () => new InvalidArgumentError("page_token", "is not a token returned by a previous call");

function decodeAfter(token: string): unknown {
  try {
    return (JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { after?: unknown }).after;
  } catch {
    throw invalidToken();
  }
}

const isKey = (key: unknown): key is string => typeof key === "string" && key.length <= MAX_KEY_LENGTH;

/** The key to continue after; undefined for the first page. Invalid tokens name the field. */
export function decodePageToken(token: string): string | undefined {
  if (!token) return undefined;
  const after = decodeAfter(token);
  if (isKey(after)) return after;
  throw invalidToken();
}

/** The `parts` keys to continue after (a list ordered by several columns); undefined for the first page. */
export function decodePageKeys(token: string, parts: number): string[] | undefined {
  if (!token) return undefined;
  const after = decodeAfter(token);
  if (Array.isArray(after) && after.length === parts && after.every(isKey)) return after as string[];
  throw invalidToken();
}

/** Cuts `rows` (fetched with limit + 1) to `limit` and makes the next token when more remain. */
export function page<T>(rows: T[], limit: number, key: (row: T) => PageKey): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextPageToken: rows.length > limit ? encodePageToken(key(items[items.length - 1]!)) : "" };
}

/** One page of a list ordered by one key: `fetch` reads up to `limit` rows after `after`. */
export async function listPage<T>(req: PageRequest, fetch: (after: string | undefined, limit: number) => Promise<T[]>, key: (row: T) => string): Promise<Page<T>> {
  const size = req.pageSize || DEFAULT_PAGE_SIZE;
  return page(await fetch(decodePageToken(req.pageToken), size + 1), size, key);
}

/** One page of a list ordered by `parts` keys (e.g. project, then name). */
export async function listPageByKeys<T>(req: PageRequest, parts: number, fetch: (after: string[] | undefined, limit: number) => Promise<T[]>, key: (row: T) => readonly string[]): Promise<Page<T>> {
  const size = req.pageSize || DEFAULT_PAGE_SIZE;
  return page(await fetch(decodePageKeys(req.pageToken, parts), size + 1), size, key);
}
