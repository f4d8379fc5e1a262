// Walking a paged list: the contracts' List RPCs answer a page and a next_page_token ("" on the last).

/** The largest page a List RPC answers, and the most ids a list request filters by (the contracts' limits). */
export const MAX_PAGE_SIZE = 1000;

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

/**
 * Every item a list filtered by `ids` answers, asking for at most MAX_PAGE_SIZE ids a call (the
 * contracts' limit) and walking each call's pages: `fetch` gets the ids and the page token.
 */
export async function allPagesOf<T>(ids: readonly string[], fetch: (ids: string[], pageToken: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  for (let i = 0; i < ids.length; i += MAX_PAGE_SIZE) {
    const chunk = ids.slice(i, i + MAX_PAGE_SIZE);
    all.push(...(await allPages((pageToken) => fetch(chunk, pageToken))));
  }
  return all;
}
