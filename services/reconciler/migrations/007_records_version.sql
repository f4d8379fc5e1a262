-- The changes the reconciler has taken in, in order. Every event it takes in (and every resync)
-- bumps the version and records which parts of whose records it changed, in one statement, before
-- the renders it touches are queued: a read of a partition's records begun when the version stood
-- at N holds every change up to N, and is brought to a later version by re-reading only the parts
-- the changes in between name (src/snapshots.ts). The bump takes the counter's row lock, so
-- versions commit in order: every change up to a version read is there to be read.
CREATE TABLE records_version (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version bigint NOT NULL
);
INSERT INTO records_version (version) VALUES (0);

CREATE TABLE records_changes (
  version bigint PRIMARY KEY,
  -- '' when the change may touch every partition
  partition text NOT NULL,
  -- the parts of the records it changed (src/records-changes.ts); 'all' for everything
  parts text[] NOT NULL,
  -- the machines a change of machines names
  machines text[] NOT NULL,
  taken_in_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX records_changes_by_time ON records_changes (taken_in_at);
