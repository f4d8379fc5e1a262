// Reads shared by the renders that need them at the same time. A caller is given a read that
// began after it asked — never one already under way, which may predate the change it renders —
// and every caller that asks while a read runs shares the next one. So a burst of N renders of one
// partition costs two reads of it, not N, and none sees older records than it would alone.
// With a gather window, a read begins that long after its first caller asked, and every caller
// asking meanwhile shares it (the two leaves of a machine's rack ask a few milliseconds apart).

interface Slot<V> {
  running?: Promise<V>;
  /** The running read has not begun reading yet: a caller joining it still asked before it began. */
  gathering?: boolean;
  next?: Promise<V>;
}

export class FreshReads<K, V> {
  private readonly slots = new Map<K, Slot<V>>();
  /** Reads started, for tests and metrics. */
  reads = 0;

  constructor(
    private readonly load: (key: K) => Promise<V>,
    private readonly gatherMs = 0,
  ) {}

  read(key: K): Promise<V> {
    let slot = this.slots.get(key);
    if (!slot) this.slots.set(key, (slot = {}));
    if (!slot.running) return this.begin(key, slot);
    if (slot.gathering) return slot.running;
    const current = slot;
    current.next ??= current.running!.then(
      () => this.afterRunning(key, current),
      () => this.afterRunning(key, current),
    );
    return current.next;
  }

  private afterRunning(key: K, slot: Slot<V>): Promise<V> {
    slot.next = undefined;
    return this.begin(key, slot);
  }

  private begin(key: K, slot: Slot<V>): Promise<V> {
    this.reads++;
    const load = () => {
      slot.gathering = false;
      return this.load(key);
    };
    slot.gathering = this.gatherMs > 0;
    const read: Promise<V> = (slot.gathering ? new Promise<void>((r) => setTimeout(r, this.gatherMs)).then(load) : load()).finally(() => {
      if (slot.running !== read) return;
      slot.running = undefined;
      if (!slot.next) this.slots.delete(key);
    });
    slot.running = read;
    return read;
  }
}
