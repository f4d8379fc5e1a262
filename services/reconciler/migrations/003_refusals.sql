-- Fail closed, not frozen: the model each revision was rendered from (the cut-back of a refused
-- render starts from the last verified one), and per device the refused render's hash with what
-- it asked for that the device does not get.
ALTER TABLE revisions ADD COLUMN model jsonb;
ALTER TABLE devices ADD COLUMN refused_hash text NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN withheld text[] NOT NULL DEFAULT '{}';
