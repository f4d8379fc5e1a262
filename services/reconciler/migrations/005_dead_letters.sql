-- A device's newest pushes that failed for good (at most 10, newest first), on its status; they
-- used to pile up in a BullMQ queue nobody consumed.
ALTER TABLE devices ADD COLUMN dead_letters jsonb NOT NULL DEFAULT '[]';
