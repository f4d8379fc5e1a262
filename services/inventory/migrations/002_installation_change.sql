-- The fabric change (outbox event, `<schema>:<id>`) the installation report committed, for --wait.
ALTER TABLE allocations ADD COLUMN installation_change text NOT NULL DEFAULT '';
