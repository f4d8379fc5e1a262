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
  /** Records held in memory at most; beyond it the oldest are written synchronously first. */
  maxBuffered?: number;
  onError?: (error: unknown, lost: number) => void;
}

/**
 * Appends audit records to the service's `audit_log` table in batches, off the request path:
 * a call does not wait for its audit row. Records still buffered are written on close().
 */
export class PgAuditWriter {
  private buffer: AuditRecord[] = [];
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: AuditWriterOptions = {},
  ) {
    this.timer = setInterval(() => void this.flush(), options.flushMs ?? 200);
    this.timer.unref();
  }

  record(record: AuditRecord): void {
    this.buffer.push(record);
    if (this.buffer.length >= (this.options.maxBuffered ?? 1000)) void this.flush();
  }

  /** Writes everything buffered so far; resolves when it is stored. */
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
    try {
      await this.pool.query(
        `INSERT INTO audit_log (at, principal, method, target, request_id, outcome, message)
         SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])`,
        [
          batch.map((r) => r.at),
          batch.map((r) => r.principal),
          batch.map((r) => r.method),
          batch.map((r) => r.target),
          batch.map((r) => r.requestId),
          batch.map((r) => r.outcome),
          batch.map((r) => r.message ?? ""),
        ],
      );
    } catch (error) {
      this.options.onError?.(error, batch.length);
    }
  }
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
