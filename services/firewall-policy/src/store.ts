// SQL for policies, firewall options and the rulesets handed out. Every change appends its outbox
// event in the same transaction.
import { randomUUID } from "node:crypto";
import { uuidOrNull, violatedConstraint, withTransaction, type Outbox, type Pool, type Queryable } from "@bulkhead/db";
import { AlreadyExistsError, NotFoundError } from "@bulkhead/service-kit";
import type { FirewallOptions, PolicyRule } from "@bulkhead/render";
import type { PolicyDraft } from "./spec.js";

export const enum PolicyState {
  Pending = 1,
  Deployed = 2,
  Rejected = 3,
}

export interface Status {
  state: PolicyState;
  reason: string;
  firewalls: string[];
  /** Part of the rulesets of the firewalls in scope (false: left out for `reason`). */
  compiles: boolean;
}

export interface PolicyRow extends Status {
  id: string;
  project: string;
  name: string;
  description: string;
  firewall: string | null;
  network: string | null;
  ingress: PolicyRule[];
  egress: PolicyRule[];
  status_at: Date;
  created_at: Date;
  updated_at: Date;
}

export interface RulesetOutcomes {
  appliedHash?: string;
  refused?: { hash: string; reason: string };
}

export interface RulesetRow {
  firewall: string;
  ruleset: string;
  hash: string;
  policies: string[];
}


const POLICY = "bulkhead.firewall.v1.NetworkPolicy";
const columns = "id::text AS id, project, name, description, firewall, network, ingress, egress, state, reason, firewalls, compiles, status_at, created_at, updated_at";

export class PolicyStore {
  constructor(
    private readonly pool: Pool,
    private readonly outbox: Outbox,
  ) {}

  async insert(project: string, draft: PolicyDraft, status: Status): Promise<PolicyRow> {
    try {
      return await withTransaction(this.pool, async (client) => {
        const row = (await client.query<PolicyRow>(
          `INSERT INTO policies (id, project, name, description, firewall, network, ingress, egress, state, reason, firewalls, compiles)
           VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${columns}`,
          [randomUUID(), project, draft.name, draft.description, draft.firewall, draft.network, JSON.stringify(draft.ingress), JSON.stringify(draft.egress), status.state, status.reason, status.firewalls, status.compiles],
        )).rows[0]!;
        await this.event(client, "policy.created", row, row.firewalls);
        return row;
      });
    } catch (error) {
      if (violatedConstraint(error) === "policies_name") throw new AlreadyExistsError(POLICY, draft.name, `project ${project} already has a policy named ${draft.name}`);
      throw error;
    }
  }

  async get(id: string): Promise<PolicyRow | undefined> {
    return (await this.pool.query<PolicyRow>(`SELECT ${columns} FROM policies WHERE id = $1::uuid`, [uuidOrNull(id)])).rows[0];
  }

  /** The matching policies by project and name: all, or a page after `page.after` (a project and a name). */
  async list(filter: { project?: string; firewall?: string; state?: number }, page?: { after?: string[]; limit: number }): Promise<PolicyRow[]> {
    const { rows } = await this.pool.query<PolicyRow>(
      `SELECT ${columns} FROM policies
       WHERE ($1::text IS NULL OR project = $1) AND ($2::text IS NULL OR firewall = $2 OR $2 = ANY(firewalls)) AND ($3::int IS NULL OR state = $3)
         AND ($4::text IS NULL OR (project, name) > ($4, $5::text))
       ORDER BY project, name LIMIT $6`,
      [filter.project ?? null, filter.firewall ?? null, filter.state ?? null, page?.after?.[0] ?? null, page?.after?.[1] ?? null, page?.limit ?? null],
    );
    return rows;
  }

  /** The policies of the firewall's project scoped to the firewall or to one of its networks. */
  async applyingTo(firewall: string, project: string, networks: readonly string[]): Promise<PolicyRow[]> {
    const { rows } = await this.pool.query<PolicyRow>(`SELECT ${columns} FROM policies WHERE project = $2 AND (firewall = $1 OR network = ANY($3::text[])) ORDER BY name`, [firewall, project, networks]);
    return rows;
  }

  /** Replaces a policy's description and rules (and status); `affected` are old and new firewalls. */
  async update(id: string, draft: PolicyDraft, status: Status, affected: string[]): Promise<PolicyRow> {
    return withTransaction(this.pool, async (client) => {
      const row = (await client.query<PolicyRow>(
        `UPDATE policies SET description = $2, ingress = $3, egress = $4, state = $5, reason = $6, firewalls = $7, compiles = $8, status_at = now(), updated_at = now()
         WHERE id = $1::uuid RETURNING ${columns}`,
        [uuidOrNull(id), draft.description, JSON.stringify(draft.ingress), JSON.stringify(draft.egress), status.state, status.reason, status.firewalls, status.compiles],
      )).rows[0];
      if (!row) throw new NotFoundError(POLICY, id);
      await this.event(client, "policy.updated", row, affected);
      return row;
    });
  }

  /**
   * Records a re-evaluated status. Its state follows the ruleset it came from (no event), but
   * whether it compiles changes what its firewalls may hold — the records the reconciler's
   * verifier reads — so that change is an event naming them.
   */
  async setStatus(id: string, status: Status): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<PolicyRow & { compiled: boolean }>(
        `WITH before AS (SELECT id, compiles FROM policies WHERE id = $1::uuid FOR UPDATE),
         updated AS (
           UPDATE policies p SET state = $2, reason = $3, firewalls = $4, compiles = $5, status_at = now() FROM before
           WHERE p.id = before.id AND (p.state, p.reason, p.firewalls, p.compiles) IS DISTINCT FROM ($2, $3, $4, $5)
           RETURNING p.*, before.compiles AS compiled)
         SELECT ${columns}, compiled FROM updated`,
        [uuidOrNull(id), status.state, status.reason, status.firewalls, status.compiles],
      );
      const row = rows[0];
      if (row && row.compiled !== row.compiles) await this.event(client, "policy.compiles.changed", row, row.firewalls);
    });
  }

  async delete(id: string): Promise<PolicyRow> {
    return withTransaction(this.pool, async (client) => {
      const row = (await client.query<PolicyRow>(`DELETE FROM policies WHERE id = $1::uuid RETURNING ${columns}`, [uuidOrNull(id)])).rows[0];
      if (!row) throw new NotFoundError(POLICY, id);
      await this.event(client, "policy.deleted", row, row.firewalls);
      return row;
    });
  }

  /** The options the project set for the firewall; a firewall's former project's options are not its. */
  async options(firewall: string, project: string): Promise<FirewallOptions> {
    const row = (await this.pool.query("SELECT rate_limits, log_accepted_connections, ssh_allowed_from, snat FROM firewall_options WHERE firewall = $1 AND project = $2", [firewall, project])).rows[0];
    return row
      ? { rateLimits: row.rate_limits, logAcceptedConnections: row.log_accepted_connections, sshAllowedFrom: row.ssh_allowed_from, snat: row.snat }
      : { rateLimits: [], logAcceptedConnections: false, sshAllowedFrom: [], snat: [] };
  }

  async setOptions(firewall: string, project: string, options: FirewallOptions): Promise<FirewallOptions> {
    return withTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO firewall_options (firewall, project, rate_limits, log_accepted_connections, ssh_allowed_from, snat) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (firewall) DO UPDATE SET project = $2, rate_limits = $3, log_accepted_connections = $4, ssh_allowed_from = $5, snat = $6, updated_at = now()`,
        [firewall, project, JSON.stringify(options.rateLimits), options.logAcceptedConnections, options.sshAllowedFrom, JSON.stringify(options.snat)],
      );
      await this.outbox(client, { topic: "firewall.options.changed", key: `firewall/${firewall}`, payload: { firewall, project, firewalls: [firewall] } });
      return options;
    });
  }

  async ruleset(firewall: string): Promise<RulesetRow | undefined> {
    return (await this.pool.query<RulesetRow>("SELECT firewall, ruleset, hash, policies FROM rulesets WHERE firewall = $1", [firewall])).rows[0];
  }

  /** The ruleset the firewall's agent applied. */
  async putApplied(r: RulesetRow): Promise<void> {
    await this.pool.query(
      `INSERT INTO rulesets (firewall, ruleset, hash, policies) VALUES ($1, $2, $3, $4)
       ON CONFLICT (firewall) DO UPDATE SET ruleset = $2, hash = $3, policies = $4, applied_at = now() WHERE rulesets.hash <> $3`,
      [r.firewall, r.ruleset, r.hash, r.policies],
    );
  }

  /** A ruleset refused for the firewall, with the reason. */
  async putRefused(firewall: string, hash: string, reason: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO ruleset_refusals (firewall, hash, reason) VALUES ($1, $2, $3)
       ON CONFLICT (firewall) DO UPDATE SET hash = $2, reason = $3, refused_at = now()`,
      [firewall, hash, reason],
    );
  }

  /** What became of the firewall's rulesets: the hash last applied, the last refusal. */
  async outcome(firewall: string): Promise<RulesetOutcomes> {
    const { rows } = await this.pool.query<{ applied: string | null; refused: string | null; reason: string | null }>(
      `SELECT (SELECT hash FROM rulesets WHERE firewall = $1) AS applied, r.hash AS refused, r.reason
       FROM (SELECT 1) one LEFT JOIN ruleset_refusals r ON r.firewall = $1`,
      [firewall],
    );
    const row = rows[0]!;
    return { appliedHash: row.applied ?? undefined, refused: row.refused ? { hash: row.refused, reason: row.reason! } : undefined };
  }

  private async event(client: Queryable, topic: string, row: PolicyRow, firewalls: readonly string[]): Promise<void> {
    await this.outbox(client, { topic, key: `policy/${row.id}`, payload: { policy: row.id, project: row.project, name: row.name, firewalls: [...new Set(firewalls)].sort() } });
  }
}
