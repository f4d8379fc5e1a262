// Snapshots of a partition's records (or of what is derived from them, e.g. its route-leak plan),
// each tagged with the records version that stood when its read began (migration 007): it holds
// every change taken in up to that version. A render asks for the snapshot as of the version it
// began at; one of that version or later serves it, so the renders of a quiet partition share one
// read however many batches they come in. Otherwise the latest snapshot is brought forward by
// reading again only what the changes since it name (`refresh`), in a read that begins after the
// caller asked (FreshReads: callers asking together share it). A snapshot read whole, never
// brought forward, is there for a caller that must not trust any earlier read.
import { FreshReads } from "./fresh-reads.js";
import type { RecordsChange } from "./records-changes.js";

interface Tagged<V> {
  version: number;
  value: V;
}

/**
 * The snapshot of `key` brought forward from `previous` by `changes` (of every partition); read
 * whole when there is no previous one or the changes are not all known (`undefined`).
 */
export type Refresh<V> = (key: string, previous: V | undefined, changes: readonly RecordsChange[] | undefined) => Promise<V>;

/** The records version now and, given an earlier one, every change after it (undefined when not all are kept). */
export type ChangesSince = (since: number | undefined) => Promise<{ version: number; changes?: RecordsChange[] }>;

export class Snapshots<V> {
  private readonly latest = new Map<string, Tagged<V>>();
  private readonly refreshes: FreshReads<string, Tagged<V>>;
  private readonly wholeReads: FreshReads<string, Tagged<V>>;

  constructor(refresh: Refresh<V>, changesSince: ChangesSince, gatherMs = 0) {
    this.refreshes = new FreshReads(async (key: string) => {
      const previous = this.latest.get(key);
      const { version, changes } = await changesSince(previous?.version);
      return { version, value: await refresh(key, previous?.value, previous ? changes : undefined) };
    }, gatherMs);
    this.wholeReads = new FreshReads(async (key: string) => {
      const { version } = await changesSince(undefined);
      return { version, value: await refresh(key, undefined, undefined) };
    }, gatherMs);
  }

  /** Reads begun, brought forward or whole (for tests and metrics). */
  get reads(): number {
    return this.refreshes.reads + this.wholeReads.reads;
  }

  /** The snapshot of `key` as of `version` or later. */
  read(key: string, version: number): Promise<V> {
    const latest = this.latest.get(key);
    return latest && latest.version >= version ? Promise.resolve(latest.value) : this.keep(key, this.refreshes.read(key));
  }

  /** A snapshot read whole, begun after this call. */
  readWhole(key: string): Promise<V> {
    return this.keep(key, this.wholeReads.read(key));
  }

  private async keep(key: string, read: Promise<Tagged<V>>): Promise<V> {
    const snapshot = await read;
    const latest = this.latest.get(key);
    if (!latest || latest.version <= snapshot.version) this.latest.set(key, snapshot);
    return snapshot.value;
  }
}
