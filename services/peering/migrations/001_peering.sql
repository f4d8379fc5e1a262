-- Peerings: local ones join two networks' VRFs on the leaves, external ones attach a network to an
-- outside BGP peer on an exit switch. Networks live in the network service; a peering names them.
-- type: 1 local, 2 external (bulkhead.peering.v1.PeeringType).
CREATE TABLE peerings (
  id uuid PRIMARY KEY,
  project text NOT NULL,
  name text NOT NULL,
  type smallint NOT NULL CHECK (type IN (1, 2)),
  -- the partition whose leaves (local) or exit switch (external) carry the peering
  partition text NOT NULL,
  network1 text NOT NULL,
  network2 text,
  -- external only: {local: {asn, address}, remote: {asn, address}}
  bgp jsonb,
  exit_switch text,
  exit_port text,
  -- created and removed by the project's `auto-peer` label
  automatic boolean NOT NULL DEFAULT false,
  request_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT peerings_local CHECK (type <> 1 OR (network2 IS NOT NULL AND network2 <> network1 AND bgp IS NULL AND exit_switch IS NULL)),
  CONSTRAINT peerings_external CHECK (type <> 2 OR (network2 IS NULL AND bgp IS NOT NULL AND exit_switch IS NOT NULL AND exit_port IS NOT NULL AND NOT automatic)),
  CONSTRAINT peerings_request_id UNIQUE (project, request_id)
);

-- A pair of networks is peered at most once, whichever side is named first.
CREATE UNIQUE INDEX peerings_pair ON peerings (least(network1, network2), greatest(network1, network2)) WHERE type = 1;
-- An exit switch port carries one external session.
CREATE UNIQUE INDEX peerings_exit_port ON peerings (exit_switch, exit_port) WHERE type = 2;
CREATE INDEX peerings_by_network1 ON peerings (network1);
CREATE INDEX peerings_by_network2 ON peerings (network2) WHERE network2 IS NOT NULL;
CREATE INDEX peerings_by_partition ON peerings (partition);
CREATE INDEX peerings_by_project ON peerings (project, created_at);
