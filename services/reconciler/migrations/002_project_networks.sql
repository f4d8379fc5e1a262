-- What the machine ports of a device's last render were bound to, as `project/network` (a
-- firewall: `project/*`): an address of a project reaches the allow-lists of the devices with a
-- port of that project on another network only (its own network's prefixes already cover it).
ALTER TABLE devices ADD COLUMN project_networks text[] NOT NULL DEFAULT '{}';
CREATE INDEX devices_by_project_network ON devices USING gin (project_networks);
