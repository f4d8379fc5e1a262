export type { Outbox } from "@bulkhead/db";
