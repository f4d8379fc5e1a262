-- What --wait follows: each fabric change the reconciler fanned out (when, to which devices), and
-- when each device's last render began reading the records — also a render that found the device
-- no longer configured (its devices row is gone then, the mark stays).
CREATE TABLE processed_changes (
  source text NOT NULL,
  event_id bigint NOT NULL,
  -- the database time before the change was fanned out: a render that began later includes it
  fanned_out_from timestamptz NOT NULL,
  devices text[] NOT NULL,
  PRIMARY KEY (source, event_id)
);
CREATE INDEX processed_changes_by_time ON processed_changes (fanned_out_from);

CREATE TABLE render_marks (
  device text PRIMARY KEY,
  rendered_from timestamptz NOT NULL
);
