-- Per device: the desired revision, what its agent applied and runs, and the revisions rendered.
-- kind: bulkhead.fabric.v1.DeviceKind (1 leaf, 3 exit, 4 firewall); state: SyncState (1 in sync,
-- 2 pending, 3 failed, 4 drifted, 5 rejected).
CREATE TABLE devices (
  device text PRIMARY KEY,
  kind smallint NOT NULL DEFAULT 0,
  partition text NOT NULL DEFAULT '',
  state smallint NOT NULL DEFAULT 2 CHECK (state BETWEEN 1 AND 5),
  desired_generation bigint NOT NULL DEFAULT 0,
  desired_hash text NOT NULL DEFAULT '',
  applied_generation bigint NOT NULL DEFAULT 0,
  applied_hash text NOT NULL DEFAULT '',
  running_hash text NOT NULL DEFAULT '',
  last_error text NOT NULL DEFAULT '',
  -- a generation the agent refused: not pushed again until a newer one (or a resync)
  blocked_generation bigint NOT NULL DEFAULT 0,
  -- where the agent's AgentService listens, as it reported
  endpoint text NOT NULL DEFAULT '',
  -- what the last render carried: to find the devices a change touches
  vrfs integer[] NOT NULL DEFAULT '{}',
  projects text[] NOT NULL DEFAULT '{}',
  -- the switch's VRF → VLAN assignment, kept stable across renders
  vlans jsonb NOT NULL DEFAULT '{}',
  -- Apply calls that changed the device (coalescing shows here)
  pushes integer NOT NULL DEFAULT 0,
  last_heartbeat_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_by_vrf ON devices USING gin (vrfs);
CREATE INDEX devices_by_project ON devices USING gin (projects);
CREATE INDEX devices_by_partition ON devices (partition, state);

CREATE TABLE revisions (
  device text NOT NULL REFERENCES devices (device) ON DELETE CASCADE,
  generation bigint NOT NULL,
  hash text NOT NULL,
  -- [{path, content}] ordered by path
  files jsonb NOT NULL,
  -- {passed, checks: [..], findings: [{property, device, path, line, object, message}]}
  verification jsonb NOT NULL,
  rejected boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device, generation)
);
