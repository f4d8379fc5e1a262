-- What --wait follows: each fabric change the reconciler fanned out (when, to which devices), and
-- when each device's last render began reading the records.
CREATE TABLE processed_changes (
  source text NOT NULL,
  event_id bigint NOT NULL,
  -- the database time before the change was fanned out: a render that began later includes it
  fanned_out_from timestamptz NOT NULL,
  devices text[] NOT NULL,
  PRIMARY KEY (source, event_id)
);
CREATE INDEX processed_changes_by_time ON processed_changes (fanned_out_from);

ALTER TABLE devices ADD COLUMN rendered_from timestamptz;
