-- The fabric changes the first call committed (its `bulkhead-changes` header), answered again
-- with a replay, so a retried call's --wait follows them too.
ALTER TABLE idempotency_keys ADD COLUMN changes text NOT NULL DEFAULT '';
