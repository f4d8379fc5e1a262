export { PgAuditWriter, pruneAuditLog, readAuditLog, type AuditFilter, type AuditRecord, type AuditWriterOptions, type StoredAuditRecord } from "./audit.js";
export { collectChanges } from "./changes.js";
export { IdempotencyKeys, type Claim } from "./idempotency.js";
export { SqlState, isRetryableTransactionError, sqlState, violatedConstraint } from "./errors.js";
export { loadMigrations, migrate, type Migration, type MigrateOptions } from "./migrate.js";
export { FABRIC_CHANGES_QUEUE, OutboxRelay, appendOutbox, type Outbox, type OutboxEvent, type OutboxRelayOptions, type PublishedEvent } from "./outbox.js";
export { assertIdentifier, createPool, type Pool, type PoolClient, type PoolOptions, type Queryable } from "./pool.js";
export { provisionServiceRoles, serviceRoleName, type ServiceRole } from "./roles.js";
export { uuidOrNull } from "./uuid.js";
export { withTransaction, type IsolationLevel, type TransactionOptions } from "./tx.js";

/** Migrations every service schema gets: the outbox and the audit log. */
export const baseMigrationsDir = new URL("../migrations/", import.meta.url);
