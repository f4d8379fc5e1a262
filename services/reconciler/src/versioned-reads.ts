// A partition's records as of a version of them (the records version, migration 007: every change
// the reconciler takes in bumps it before the renders it touches are queued). A read is tagged with
// the version that stood when it began; a render that began at that version or an earlier one may
// use it — it holds every change taken in before the render began — so the renders of a quiet
// partition share one read however many batches they come in. A render that needs newer records
// waits for a read that begins after it asked (FreshReads: those asking together share it).
import { FreshReads } from "./fresh-reads.js";

interface Tagged<V> {
  version: number;
  value: V;
}

export class VersionedReads<K, V> {
  private readonly latest = new Map<K, Tagged<V>>();
  private readonly fresh: FreshReads<K, Tagged<V>>;

  constructor(load: (key: K) => Promise<V>, currentVersion: () => Promise<number>, gatherMs = 0) {
    this.fresh = new FreshReads(async (key: K) => {
      const version = await currentVersion();
      return { version, value: await load(key) };
    }, gatherMs);
  }

  /** Reads started, for tests and metrics. */
  get reads(): number {
    return this.fresh.reads;
  }

  /** The records of `key` as of `version` or later. */
  read(key: K, version: number): Promise<V> {
    const latest = this.latest.get(key);
    return latest && latest.version >= version ? Promise.resolve(latest.value) : this.readAnew(key);
  }

  /** A read that begins after this call, whatever the version of the last one. */
  async readAnew(key: K): Promise<V> {
    const read = await this.fresh.read(key);
    const latest = this.latest.get(key);
    if (!latest || latest.version <= read.version) this.latest.set(key, read);
    return read.value;
  }
}
