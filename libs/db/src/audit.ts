import type pg from "pg";

/** One line of the audit log. */
export interface AuditRecord {
  at: Date;
  principal: string;
  method: string;
  target: string;
  requestId: string;
  outcome: string;
  message?: string;
}

export interface AuditWriterOptions {
  flushMs?: number;
  /** Records held in memory at most: a caller whose record fills the buffer waits until it is written. */
  maxBuffered?: number;
  /** A batch could not be written; it is kept (`pending` records) and retried. */
  onError?: (error: unknown, pending: number) => void;
}

/**
 * Appends audit records to the service's `audit_log` table in batches, off the request path: a
 * call does not wait for its audit row — unless the buffer is full (the database is slow or away),
 * then it waits until its record is written. A batch that fails is kept and retried, never dropped.
 * Records still buffered are written on close().
 */
export class PgAuditWriter {
  /** Records in the order they came, each with its sequence number; written in that order. */
  private buffer: { seq: number; record: AuditRecord }[] = [];
  private seq = 0;
  /** Every record up to this sequence number is stored. */
  private writtenUpTo = 0;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly flushMs: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: AuditWriterOptions = {},
  ) {
    this.flushMs = options.flushMs ?? 200;
    this.maxBuffered = options.maxBuffered ?? 1000;
    this.timer = setInterval(() => void this.flush(), this.flushMs);
    this.timer.unref();
  }

  /** Buffers the record; resolves at once, or once it is stored when the buffer is full (back-pressure). */
  async record(record: AuditRecord): Promise<void> {
    const seq = ++this.seq;
    this.buffer.push({ seq, record });
    if (this.buffer.length < this.maxBuffered) return;
    while (this.writtenUpTo < seq) {
      await this.flush();
      if (this.writtenUpTo < seq) await new Promise((r) => setTimeout(r, this.flushMs));
    }
  }

  /** Writes everything buffered so far; resolves when it is stored or the attempt failed (then it is kept). */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBuffered());
    return this.flushing;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  private async writeBuffered(): Promise<void> {
    const batch = this.buffer;
    if (batch.length === 0) return;
    this.buffer = [];
    const records = batch.map((b) => b.record);
    try {
      await this.pool.query(
        `INSERT INTO audit_log (at, principal, method, target, request_id, outcome, message)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        [
          records.map((r) => r.at),
          records.map((r) => r.principal),
          records.map((r) => r.method),
          records.map((r) => r.target),
          records.map((r) => r.requestId),
          records.map((r) => r.outcome),
          records.map((r) => r.message ?? ""),
        ],
      );
      this.writtenUpTo = batch.at(-1)!.seq;
    } catch (error) {
      this.buffer = [...batch, ...this.buffer];
      this.options.onError?.(error, this.buffer.length);
    }
  }
}

/**
 * Deletes audit records older than `retentionDays` (at least 1) through the one door the
 * append-only trigger opens: the `audit_log_prune` function. Returns how many were deleted.
 */
export async function pruneAuditLog(pool: pg.Pool, retentionDays: number): Promise<number> {
  const { rows } = await pool.query<{ n: string }>("SELECT audit_log_prune(make_interval(days => $1)) AS n", [retentionDays]);
  return Number(rows[0]!.n);
}

export interface StoredAuditRecord extends AuditRecord {
  id: string;
}

export interface AuditFilter {
  principal?: string;
  /** Substring of the method name. */
  method?: string;
  outcome?: string;
  /** Substring of the target. */
  target?: string;
  since?: Date;
  until?: Date;
  /** Only records older than this id (keyset paging, newest first). */
  beforeId?: string;
}

const like = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/** Reads audit records matching every set filter, newest first. */
export async function readAuditLog(pool: pg.Pool, limit = 100, filter: AuditFilter = {}): Promise<StoredAuditRecord[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    where.push(sql.replace("?", `$${params.length}`));
  };
  if (filter.principal) add("principal = ?", filter.principal);
  if (filter.method) add("method LIKE ?", like(filter.method));
  if (filter.outcome) add("outcome = ?", filter.outcome);
  if (filter.target) add("target LIKE ?", like(filter.target));
  if (filter.since) add("at >= ?", filter.since);
  if (filter.until) add("at < ?", filter.until);
  if (filter.beforeId) add("id < ?", filter.beforeId);
  params.push(limit);
  const { rows } = await pool.query<{ id: string; at: Date; principal: string; method: string; target: string; request_id: string; outcome: string; message: string }>(
    `SELECT id, at, principal, method, target, request_id, outcome, message FROM audit_log
     ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY id DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map((r) => ({ id: r.id, at: r.at, principal: r.principal, method: r.method, target: r.target, requestId: r.request_id, outcome: r.outcome, message: r.message }));
}
