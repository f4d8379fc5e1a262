-- Switches and their ports, machines with their NICs, the connection map learned from LLDP,
-- BMC credentials (encrypted), OS images and machine allocations.
-- Enum columns use the numbers of bulkhead.inventory.v1: SwitchRole (1 leaf, 2 spine, 3 exit),
-- PortState (0 unknown, 1 up, 2 down), MachineState (1 registered, 2 allocated, 3 installed,
-- 4 freeing), MachineRole (1 machine, 2 firewall).

CREATE TABLE switches (
  id text PRIMARY KEY,
  partition text NOT NULL,
  rack text NOT NULL,
  role smallint NOT NULL CHECK (role BETWEEN 1 AND 3),
  asn bigint NOT NULL CHECK (asn BETWEEN 1 AND 4294967294),
  router_id inet NOT NULL,
  management_ip inet,
  os_vendor text NOT NULL DEFAULT '',
  os_version text NOT NULL DEFAULT '',
  agent_version text NOT NULL DEFAULT '',
  lldp_neighbors jsonb NOT NULL DEFAULT '[]',
  running_config_hash text NOT NULL DEFAULT '',
  last_heartbeat_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX switches_by_partition ON switches (partition, rack);

CREATE TABLE switch_ports (
  switch text NOT NULL REFERENCES switches (id) ON DELETE CASCADE,
  name text NOT NULL,
  identifier text NOT NULL,
  mac text NOT NULL DEFAULT '',
  mtu integer NOT NULL DEFAULT 9216,
  breakout text NOT NULL DEFAULT '',
  uplink boolean NOT NULL DEFAULT false,
  admin_state smallint NOT NULL DEFAULT 1 CHECK (admin_state IN (1, 2)),
  oper_state smallint NOT NULL DEFAULT 0 CHECK (oper_state IN (0, 1, 2)),
  bgp jsonb,
  PRIMARY KEY (switch, name),
  CONSTRAINT switch_ports_identifier UNIQUE (switch, identifier)
);

CREATE TABLE machines (
  id text PRIMARY KEY,
  partition text,
  rack text,
  state smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 4),
  nics jsonb NOT NULL DEFAULT '[]',
  problems jsonb NOT NULL DEFAULT '[]',
  bmc_address text NOT NULL DEFAULT '',
  bmc_username text NOT NULL DEFAULT '',
  -- AES-256-GCM: 12-byte nonce, ciphertext, 16-byte tag; never leaves this service decrypted
  bmc_secret bytea,
  bmc_rotated_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX machines_allocatable ON machines (partition, id) WHERE state = 1;

-- The connection map: a machine NIC cabled to a switch port. A port holds at most one NIC; a
-- switch cannot be deleted, nor lose a port, while machines are cabled to it.
CREATE TABLE connections (
  machine text NOT NULL REFERENCES machines (id) ON DELETE CASCADE,
  nic text NOT NULL,
  nic_mac text NOT NULL,
  switch text NOT NULL,
  port text NOT NULL,
  PRIMARY KEY (machine, nic),
  CONSTRAINT connections_one_nic_per_port UNIQUE (switch, port),
  CONSTRAINT connections_port_fkey FOREIGN KEY (switch, port) REFERENCES switch_ports (switch, name) ON DELETE RESTRICT
);

CREATE TABLE images (
  name text PRIMARY KEY,
  description text NOT NULL DEFAULT '',
  url text NOT NULL,
  checksum_algorithm text NOT NULL CHECK (checksum_algorithm IN ('sha256', 'sha512')),
  checksum_digest text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- A machine's allocation to a project. Its networks are stored as requested; their prefixes and
-- VRFs are read live from the network service, and its IPs are the network service's IPs bound to
-- the machine. The ASN comes from a pool; the unique constraint makes a duplicate impossible.
-- state: 'allocating' / 'compensating' / 'freeing' mark a saga in progress (see the network
-- service); 'ready' is a finished allocation.
CREATE TABLE allocations (
  machine text PRIMARY KEY REFERENCES machines (id) ON DELETE RESTRICT,
  id uuid NOT NULL UNIQUE,
  project text NOT NULL,
  role smallint NOT NULL CHECK (role IN (1, 2)),
  hostname text NOT NULL,
  name text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  image text NOT NULL REFERENCES images (name) ON DELETE RESTRICT,
  asn bigint NOT NULL CONSTRAINT allocations_asn_unique UNIQUE,
  ssh_public_keys text[] NOT NULL DEFAULT '{}',
  -- [{network, auto_acquire}] as requested (the underlay of a firewall added)
  networks jsonb NOT NULL,
  explicit_ips text[] NOT NULL DEFAULT '{}',
  state text NOT NULL CHECK (state IN ('allocating', 'compensating', 'ready', 'freeing')),
  request_id text,
  saga_started_at timestamptz,
  allocated_at timestamptz NOT NULL DEFAULT now(),
  installed_at timestamptz,
  CONSTRAINT allocations_request_id UNIQUE (project, request_id)
);
CREATE INDEX allocations_by_project ON allocations (project);
CREATE INDEX allocations_pending ON allocations (saga_started_at) WHERE state <> 'ready';
