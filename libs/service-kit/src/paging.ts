// Keyset paging: a page token is the opaque key of the last item returned.
import { InvalidArgumentError } from "./errors.js";

/** A page's size when the caller names none (the contracts say so). */
export const DEFAULT_PAGE_SIZE = 100;

export interface Page<T> {
  items: T[];
  nextPageToken: string;
}

export function encodePageToken(after: string): string {
  return Buffer.from(JSON.stringify({ after })).toString("base64url");
}

/** The key to continue after; undefined for the first page. Invalid tokens name the field. */
export function decodePageToken(token: string): string | undefined {
  if (!token) return undefined;
  try {
    const { after } = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as { after?: unknown };
    if (typeof after === "string" && after.length <= 128) return after;
  } catch {
    // fall through
  }
  throw new InvalidArgumentError("page_token", "is not a token returned by a previous call");
}

/**
 * Every item of a paged list, walking its pages: `fetch` gets the page token ("" first) and
 * returns the page's items and the next token ("" at the end).
 */
export async function allPages<T>(fetch: (pageToken: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  let pageToken = "";
  do {
    const page = await fetch(pageToken);
    all.push(...page.items);
    pageToken = page.next;
  } while (pageToken);
  return all;
}

/** Cuts `rows` (fetched with limit + 1) to `limit` and makes the next token when more remain. */
export function page<T>(rows: T[], limit: number, key: (row: T) => string): Page<T> {
  const items = rows.slice(0, limit);
  return { items, nextPageToken: rows.length > limit ? encodePageToken(key(items[items.length - 1]!)) : "" };
}
