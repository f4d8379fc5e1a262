// Request headers that are part of the contract besides the messages (no Node imports: browsers
// load this too).

/**
 * Names a mutating call, so that a retry of it is not run twice: the servers keep the first
 * call's response a day per principal and key; a retry with the same request gets it again, another
 * request under the key is `already_exists`. The SDK sends a fresh one per call and reuses it
 * when it retries.
 */
export const IDEMPOTENCY_HEADER = "idempotency-key";

/**
 * Response header of a call that changed what the fabric is rendered from: the outbox events its
 * transactions committed, `<service schema>:<event id>` comma-separated. The reconciler's
 * GetChangeProgress tells when each one reached every device it affects (the CLI's `--wait`).
 */
export const CHANGES_HEADER = "bulkhead-changes";
