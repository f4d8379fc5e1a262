-- Mutating calls that carry an `idempotency-key` header: per principal and key, the request's
-- hash and, once the call succeeded, its response. A retry with the same request gets that
-- response again; another request under the key is refused. Kept a day.
CREATE TABLE idempotency_keys (
  principal text NOT NULL,
  key text NOT NULL,
  method text NOT NULL,
  request_hash text NOT NULL,
  -- NULL while the first call runs.
  response bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_keys_created_at ON idempotency_keys (created_at);
