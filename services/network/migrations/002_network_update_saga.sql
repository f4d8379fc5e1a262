-- An update that adds or removes prefixes spans IPAM and this database: the pending change is
-- recorded first (`update_saga`: phase, prefixes to add, prefixes to remove), so that a failure or
-- a crash in between is finished by the sweeper — never an IPAM prefix the row does not list, nor
-- one it lists that IPAM no longer has.
ALTER TABLE networks ADD COLUMN update_saga jsonb;
ALTER TABLE networks ADD COLUMN update_started_at timestamptz;
CREATE INDEX networks_updating ON networks (update_started_at) WHERE update_saga IS NOT NULL;
