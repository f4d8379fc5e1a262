-- What firewalls run is known only from the reconciler's reports: `rulesets` holds the ruleset each
-- firewall's agent last applied (what plans diff against), `ruleset_refusals` the last ruleset
-- refused for a firewall, with the reason. GetFirewallRuleset no longer writes either.
ALTER TABLE rulesets RENAME COLUMN compiled_at TO applied_at;

CREATE TABLE ruleset_refusals (
  firewall text PRIMARY KEY,
  hash text NOT NULL,
  reason text NOT NULL,
  refused_at timestamptz NOT NULL DEFAULT now()
);

-- Whether a policy compiles for every firewall in scope (is in their rulesets): a policy can be
-- rejected because a ruleset with it was refused and still be in it.
ALTER TABLE policies ADD COLUMN compiles boolean NOT NULL DEFAULT true;
UPDATE policies SET compiles = false WHERE state = 3;
