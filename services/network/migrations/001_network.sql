-- Partitions, tenants, projects, networks with their VRF, and the IPs allocated from networks.
-- Prefixes and addresses themselves live in IPAM; this schema owns what they are for.

CREATE TABLE settings (
  key text PRIMARY KEY,
  value jsonb NOT NULL
);

CREATE TABLE partitions (
  id text PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  labels jsonb NOT NULL DEFAULT '{}',
  dns_servers text[] NOT NULL DEFAULT '{}',
  ntp_servers text[] NOT NULL DEFAULT '{}',
  mgmt_service_addresses text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tenants (
  id text PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  labels jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
  id uuid PRIMARY KEY,
  tenant text NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  labels jsonb NOT NULL DEFAULT '{}',
  request_id text UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT projects_name_per_tenant UNIQUE (tenant, name)
);

-- network.type uses bulkhead.network.v1.NetworkType numbers:
-- 1 super, 2 super-namespaced, 3 child, 4 child-shared, 5 external, 6 underlay.
-- state: 'allocating', 'compensating' and 'freeing' mark a saga in progress (IPAM calls
-- outstanding); the sweeper completes or compensates sagas abandoned for longer than the saga
-- timeout. An allocation is compensated only after it moved from 'allocating' to 'compensating',
-- so a concurrent resume of the same request can no longer mark it ready.
CREATE TABLE networks (
  id text PRIMARY KEY,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  labels jsonb NOT NULL DEFAULT '{}',
  type smallint NOT NULL CHECK (type BETWEEN 1 AND 6),
  partition text REFERENCES partitions (id) ON DELETE RESTRICT,
  project uuid REFERENCES projects (id) ON DELETE RESTRICT,
  parent_network text REFERENCES networks (id) ON DELETE RESTRICT,
  prefixes cidr[] NOT NULL DEFAULT '{}',
  destination_prefixes cidr[] NOT NULL DEFAULT '{}',
  nat_type smallint NOT NULL DEFAULT 1 CHECK (nat_type IN (1, 2)),
  default_child_length_v4 smallint,
  default_child_length_v6 smallint,
  min_child_length_v4 smallint,
  min_child_length_v6 smallint,
  additional_announceable_cidrs cidr[] NOT NULL DEFAULT '{}',
  namespace text NOT NULL DEFAULT 'root',
  -- child allocations: the prefix length asked for per family (null: family not allocated), so a
  -- resumed saga asks IPAM for the same thing
  requested_length_v4 smallint,
  requested_length_v6 smallint,
  state text NOT NULL DEFAULT 'ready' CHECK (state IN ('allocating', 'compensating', 'ready', 'freeing')),
  request_id text,
  saga_started_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT networks_no_nat_on_super_or_underlay CHECK (nat_type = 1 OR type NOT IN (1, 2, 6)),
  CONSTRAINT networks_children_have_parent_and_project CHECK (type NOT IN (3, 4) OR (parent_network IS NOT NULL AND project IS NOT NULL)),
  CONSTRAINT networks_partition_required CHECK (type = 5 OR partition IS NOT NULL)
);
CREATE UNIQUE INDEX networks_one_super_per_partition ON networks (partition) WHERE type IN (1, 2);
CREATE UNIQUE INDEX networks_one_underlay_per_partition ON networks (partition) WHERE type = 6;
CREATE UNIQUE INDEX networks_request_id ON networks (project, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX networks_by_project ON networks (project);
CREATE INDEX networks_by_parent ON networks (parent_network);
CREATE INDEX networks_pending ON networks (saga_started_at) WHERE state <> 'ready';

-- The VRF/VNI pool: a row per VRF in use. The primary key makes two networks with one VRF
-- impossible; the network's deletion releases its VRF.
CREATE TABLE vrfs (
  vrf integer PRIMARY KEY CHECK (vrf BETWEEN 1 AND 16777215),
  network text NOT NULL UNIQUE REFERENCES networks (id) ON DELETE CASCADE,
  acquired_at timestamptz NOT NULL DEFAULT now()
);

-- ip.type uses bulkhead.network.v1.IPType numbers: 1 ephemeral, 2 static.
CREATE TABLE ips (
  uuid uuid PRIMARY KEY,
  ip inet,
  network text NOT NULL REFERENCES networks (id) ON DELETE RESTRICT,
  prefix cidr,
  namespace text NOT NULL,
  project uuid NOT NULL REFERENCES projects (id) ON DELETE RESTRICT,
  type smallint NOT NULL CHECK (type IN (1, 2)),
  machine text,
  name text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  labels jsonb NOT NULL DEFAULT '{}',
  -- what the allocation asked for, so a resumed saga asks IPAM for the same thing
  requested_ip inet,
  family smallint NOT NULL CHECK (family IN (4, 6)),
  state text NOT NULL DEFAULT 'ready' CHECK (state IN ('allocating', 'compensating', 'ready', 'freeing')),
  request_id text,
  saga_started_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT ips_address_unique UNIQUE (namespace, ip),
  CONSTRAINT ips_ready_have_address CHECK (state IN ('allocating', 'compensating') OR ip IS NOT NULL)
);
CREATE UNIQUE INDEX ips_request_id ON ips (project, request_id) WHERE request_id IS NOT NULL;
CREATE INDEX ips_by_network ON ips (network);
CREATE INDEX ips_by_machine ON ips (machine) WHERE machine IS NOT NULL;
CREATE INDEX ips_pending ON ips (saga_started_at) WHERE state <> 'ready';
