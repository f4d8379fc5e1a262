-- Retention without giving up append-only: the trigger lets a DELETE through only inside
-- audit_log_prune(), which deletes nothing younger than a day, and never an UPDATE.
CREATE OR REPLACE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND current_setting('bulkhead.audit_prune', true) = 'on' AND OLD.at < now() - interval '1 day' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE FUNCTION audit_log_prune(retention interval) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  deleted bigint;
BEGIN
  IF retention < interval '1 day' THEN
    RAISE EXCEPTION 'audit retention must be at least a day';
  END IF;
  PERFORM set_config('bulkhead.audit_prune', 'on', true);
  DELETE FROM audit_log WHERE at < now() - retention;
  GET DIAGNOSTICS deleted = ROW_COUNT;
  PERFORM set_config('bulkhead.audit_prune', 'off', true);
  RETURN deleted;
END;
$$;
