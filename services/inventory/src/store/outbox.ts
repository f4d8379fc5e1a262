import type { OutboxEvent, Queryable } from "@bulkhead/db";

/** Appends an event in the caller's transaction (the service context's outbox). */
export type Outbox = (client: Queryable, event: OutboxEvent) => Promise<void>;
