-- Network policies, per-firewall options, and the ruleset each firewall was last given.
-- state: 1 pending, 2 deployed, 3 rejected (bulkhead.firewall.v1.PolicyState).
CREATE TABLE policies (
  id uuid PRIMARY KEY,
  project text NOT NULL,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  -- exactly one scope: one firewall, or every firewall of the project attached to a network
  firewall text,
  network text,
  -- [{peers: [{cidr, except}], ports: [{protocol, port, endPort}]}]
  ingress jsonb NOT NULL DEFAULT '[]',
  egress jsonb NOT NULL DEFAULT '[]',
  state smallint NOT NULL DEFAULT 1 CHECK (state BETWEEN 1 AND 3),
  reason text NOT NULL DEFAULT '',
  firewalls text[] NOT NULL DEFAULT '{}',
  status_at timestamptz NOT NULL DEFAULT now(),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT policies_scope CHECK ((firewall IS NULL) <> (network IS NULL)),
  CONSTRAINT policies_name UNIQUE (project, name)
);
CREATE INDEX policies_by_firewall ON policies (firewall) WHERE firewall IS NOT NULL;
CREATE INDEX policies_by_network ON policies (network) WHERE network IS NOT NULL;

CREATE TABLE firewall_options (
  firewall text PRIMARY KEY,
  project text NOT NULL,
  rate_limits jsonb NOT NULL DEFAULT '[]',
  log_accepted_connections boolean NOT NULL DEFAULT false,
  ssh_allowed_from text[] NOT NULL DEFAULT '{}',
  snat jsonb NOT NULL DEFAULT '[]',
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- What GetFirewallRuleset last handed out per firewall: the deployed ruleset PlanPolicy diffs
-- against.
CREATE TABLE rulesets (
  firewall text PRIMARY KEY,
  ruleset text NOT NULL,
  hash text NOT NULL,
  policies text[] NOT NULL,
  compiled_at timestamptz NOT NULL DEFAULT now()
);
