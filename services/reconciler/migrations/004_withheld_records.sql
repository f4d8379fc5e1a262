-- The records whose grants a refused render's cut-back withholds: an operator asks, for a machine,
-- firewall, peering or network, on which devices a change of it was refused.
ALTER TABLE devices ADD COLUMN withheld_records text[] NOT NULL DEFAULT '{}';
CREATE INDEX devices_withheld_records ON devices USING gin (withheld_records);
