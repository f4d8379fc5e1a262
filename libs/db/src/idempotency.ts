// Idempotency keys of mutating calls: the first call under a key runs, a retry with the same
// request gets its response, another request under the key is refused.
import type pg from "pg";

/** How long a key is kept. */
const KEPT = "1 day";
/** A first call that has not finished after this long is taken to have died: a retry runs again. */
const ABANDONED = "10 minutes";

export type Claim =
  | { state: "claimed" }
  | { state: "replay"; response: Uint8Array; changes: string }
  | { state: "running" }
  | { state: "other-request"; method: string };

export class IdempotencyKeys {
  constructor(private readonly pool: pg.Pool) {}

  /** Claims `key` for this call, or says what an earlier call under it did. */
  async claim(principal: string, key: string, method: string, requestHash: string): Promise<Claim> {
    const inserted = await this.pool.query(
      `INSERT INTO idempotency_keys (principal, key, method, request_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT (principal, key) DO UPDATE SET created_at = now(), method = $3, request_hash = $4
         WHERE idempotency_keys.response IS NULL AND idempotency_keys.created_at < now() - interval '${ABANDONED}'
            OR idempotency_keys.created_at < now() - interval '${KEPT}'
       RETURNING key`,
      [principal, key, method, requestHash],
    );
    if (inserted.rowCount === 1) return { state: "claimed" };
    const row = (await this.pool.query<{ method: string; request_hash: string; response: Buffer | null; changes: string }>("SELECT method, request_hash, response, changes FROM idempotency_keys WHERE principal = $1 AND key = $2", [principal, key])).rows[0];
    if (!row) return this.claim(principal, key, method, requestHash);
    if (row.method !== method || row.request_hash !== requestHash) return { state: "other-request", method: row.method };
    return row.response ? { state: "replay", response: new Uint8Array(row.response), changes: row.changes } : { state: "running" };
  }

  /** The call succeeded: its response (and the changes it committed) are what a retry gets. */
  async complete(principal: string, key: string, response: Uint8Array, changes = ""): Promise<void> {
    await this.pool.query("UPDATE idempotency_keys SET response = $3, changes = $4 WHERE principal = $1 AND key = $2", [principal, key, Buffer.from(response), changes]);
  }

  /** The call failed: a retry runs it again. */
  async release(principal: string, key: string): Promise<void> {
    await this.pool.query("DELETE FROM idempotency_keys WHERE principal = $1 AND key = $2 AND response IS NULL", [principal, key]);
  }

  /** Forgets keys older than a day; returns how many. */
  async prune(): Promise<number> {
    return (await this.pool.query(`DELETE FROM idempotency_keys WHERE created_at < now() - interval '${KEPT}'`)).rowCount ?? 0;
  }
}
