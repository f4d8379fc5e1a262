import { changesMark, dropChangesSince } from "./changes.js";
import type pg from "pg";
import { isRetryableTransactionError } from "./errors.js";

export type IsolationLevel = "read committed" | "repeatable read" | "serializable";

export interface TransactionOptions {
  isolation?: IsolationLevel;
  readOnly?: boolean;
  /** Attempts after the first when the transaction fails with a serialization failure or deadlock. */
  retries?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs `work` in a transaction on one pooled client, committing on success and rolling back on
 * failure. Serialization failures and deadlocks are retried with exponential backoff and jitter,
 * so `work` must be safe to run again (it should do nothing but database work).
 */
export async function withTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const retries = options.retries ?? 8;
  const begin = `BEGIN ISOLATION LEVEL ${(options.isolation ?? "read committed").toUpperCase()}${options.readOnly ? " READ ONLY" : ""}`;
  for (let attempt = 0; ; attempt++) {
    const client = await pool.connect();
    let broken: Error | undefined;
    const mark = changesMark();
    try {
      await client.query(begin);
      const result = await work(client);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      dropChangesSince(mark);
      try {
        await client.query("ROLLBACK");
      } catch (rollbackError) {
        broken = rollbackError as Error;
      }
      if (attempt >= retries || !isRetryableTransactionError(error)) throw error;
      const backoff = Math.min(2 ** attempt * 5, 250);
      await sleep(backoff / 2 + Math.random() * backoff);
    } finally {
      // A client whose rollback failed is in an unknown state: discard it instead of reusing it.
      client.release(broken);
    }
  }
}
