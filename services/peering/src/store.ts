// SQL for peerings. Every change appends its outbox event in the same transaction.
import { randomUUID } from "node:crypto";
import { uuidOrNull, violatedConstraint, withTransaction, type Outbox, type Pool, type PoolClient, type Queryable } from "@bulkhead/db";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from "@bulkhead/service-kit";
import type { BgpEndpoint } from "./bgp.js";

export interface PeeringRow {
  id: string;
  project: string;
  name: string;
  type: 1 | 2;
  partition: string;
  network1: string;
  network2: string | null;
  bgp: { local: BgpEndpoint; remote: BgpEndpoint; remotePrefixes?: string[]; maximumPrefixes?: number } | null;
  exit_switch: string | null;
  exit_port: string | null;
  automatic: boolean;
  request_id: string | null;
  created_at: Date;
}

export type NewPeering = Omit<PeeringRow, "id" | "created_at">;

/** What the event of a peering change carries; the domain knows the networks' VRFs. */
export type Describe = (row: PeeringRow) => Record<string, unknown>;

/** The insert lost to an existing peering: of the same pair, on the same port, or request. */
export class Taken extends Error {
  constructor(readonly what: "pair" | "port" | "request") {
    super(`peering ${what} taken`);
  }
}

const PEERING = "bulkhead.peering.v1.Peering";
/** A timestamptz as Postgres writes it (`created_at::text`), the time part of a peerings page key. */
const POSTGRES_TIMESTAMPTZ = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}(:\d{2})?$/;
const columns = "id::text AS id, project, name, type, partition, network1, network2, bgp, exit_switch, exit_port, automatic, request_id, created_at";

export class PeeringStore {
  constructor(
    private readonly pool: Pool,
    private readonly outbox: Outbox,
  ) {}

  /**
   * Inserts a peering. Peerings of the same network are created one at a time (a lock per network,
   * taken in order): `check` runs under those locks, so what it reads cannot change before the insert.
   */
  async insert(p: NewPeering, describe: Describe, check: (q: Queryable) => Promise<void> = async () => {}): Promise<PeeringRow> {
    try {
      return await withTransaction(this.pool, async (client) => {
        for (const network of [p.network1, p.network2 ?? p.network1].sort().filter((n, i, all) => all.indexOf(n) === i)) {
          await client.query("SELECT pg_advisory_xact_lock(hashtext('peering-network'), hashtext($1))", [network]);
        }
        await check(client);
        const row = (await client.query<PeeringRow>(
          `INSERT INTO peerings (id, project, name, type, partition, network1, network2, bgp, exit_switch, exit_port, automatic, request_id)
           VALUES ($1::uuid, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING ${columns}`,
          [randomUUID(), p.project, p.name, p.type, p.partition, p.network1, p.network2, p.bgp && JSON.stringify(p.bgp), p.exit_switch, p.exit_port, p.automatic, p.request_id],
        )).rows[0]!;
        await this.event(client, "peering.created", row, describe);
        return row;
      });
    } catch (error) {
      const constraint = violatedConstraint(error);
      if (constraint === "peerings_pair") throw new Taken("pair");
      if (constraint === "peerings_exit_port") throw new Taken("port");
      if (constraint === "peerings_request_id") throw new Taken("request");
      throw error;
    }
  }

  async get(id: string): Promise<PeeringRow | undefined> {
    return (await this.pool.query<PeeringRow>(`SELECT ${columns} FROM peerings WHERE id = $1::uuid`, [uuidOrNull(id)])).rows[0];
  }

  async byRequestId(project: string, requestId: string): Promise<PeeringRow | undefined> {
    return (await this.pool.query<PeeringRow>(`SELECT ${columns} FROM peerings WHERE project = $1 AND request_id = $2`, [project, requestId])).rows[0];
  }

  /** The local peering of the unordered pair, if any. */
  async ofPair(a: string, b: string): Promise<PeeringRow | undefined> {
    return (await this.pool.query<PeeringRow>(`SELECT ${columns} FROM peerings WHERE type = 1 AND least(network1, network2) = least($1, $2) AND greatest(network1, network2) = greatest($1, $2)`, [a, b])).rows[0];
  }

  async onPort(sw: string, port: string): Promise<PeeringRow | undefined> {
    return (await this.pool.query<PeeringRow>(`SELECT ${columns} FROM peerings WHERE type = 2 AND exit_switch = $1 AND exit_port = $2`, [sw, port])).rows[0];
  }

  /**
   * The matching peerings in order of creation: all, or a page after `page.after` (the last one's
   * `created_key` and id; the key is the database's own text of the time, which keeps its microseconds).
   */
  async list(filter: { project?: string; network?: string; partition?: string }, page?: { after?: string[]; limit: number }): Promise<(PeeringRow & { created_key: string })[]> {
    const [createdKey, idKey] = page?.after ?? [];
    if (page?.after && !(POSTGRES_TIMESTAMPTZ.test(createdKey!) && uuidOrNull(idKey!))) throw new InvalidArgumentError("page_token", "is not a token returned by a previous call");
    const { rows } = await this.pool.query<PeeringRow & { created_key: string }>(
      `SELECT ${columns}, created_at::text AS created_key FROM peerings
       WHERE ($1::text IS NULL OR project = $1) AND ($2::text IS NULL OR network1 = $2 OR network2 = $2) AND ($3::text IS NULL OR partition = $3)
         AND ($4::timestamptz IS NULL OR (created_at, id) > ($4::timestamptz, $5::uuid))
       ORDER BY created_at, id LIMIT $6`,
      [filter.project ?? null, filter.network ?? null, filter.partition ?? null, createdKey ?? null, idKey ?? null, page?.limit ?? null],
    );
    return rows;
  }

  /** The networks a network imports from through local peerings, with the peering. */
  async localPeersOf(network: string, q: Queryable = this.pool): Promise<{ peering: string; network: string }[]> {
    const { rows } = await q.query<{ peering: string; network: string }>(
      "SELECT id::text AS peering, CASE WHEN network1 = $1 THEN network2 ELSE network1 END AS network FROM peerings WHERE type = 1 AND (network1 = $1 OR network2 = $1)",
      [network],
    );
    return rows;
  }

  async delete(id: string, describe: Describe, refuse: (row: PeeringRow) => void): Promise<PeeringRow> {
    return withTransaction(this.pool, async (client) => {
      const row = (await client.query<PeeringRow>(`SELECT ${columns} FROM peerings WHERE id = $1::uuid FOR UPDATE`, [uuidOrNull(id)])).rows[0];
      if (!row) throw new NotFoundError(PEERING, id);
      refuse(row);
      await client.query("DELETE FROM peerings WHERE id = $1::uuid", [id]);
      await this.event(client, "peering.deleted", row, describe);
      return row;
    });
  }

  /**
   * Before a network is deleted: removes its automatic peerings, refuses while other peerings use
   * it. The refusal names the peerings of `project` (the network's owner) and only counts others'.
   */
  async release(network: string, project: string | undefined, describe: Describe): Promise<PeeringRow[]> {
    return withTransaction(this.pool, async (client) => {
      const rows = (await client.query<PeeringRow>(`SELECT ${columns} FROM peerings WHERE network1 = $1 OR network2 = $1 ORDER BY created_at FOR UPDATE`, [network])).rows;
      const manual = rows.filter((r) => !r.automatic);
      if (manual.length > 0) {
        const own = manual.filter((r) => r.project === project).map((r) => `${r.name} (${r.id})`);
        const others = manual.length - own.length;
        const named = [...own, ...(others > 0 ? [`${others} of other projects`] : [])].join(", ");
        throw new FailedPreconditionError(`network ${network} is peered: delete its peerings first (${named})`, { type: "bulkhead.network.v1.Network", name: network });
      }
      for (const row of rows) {
        await client.query("DELETE FROM peerings WHERE id = $1::uuid", [row.id]);
        await this.event(client, "peering.deleted", row, describe);
      }
      return rows;
    });
  }

  /**
   * Makes the project's automatic peerings exactly `pairs` (one transaction per project at a
   * time). A pair that already has a manual peering keeps it.
   */
  async syncAutomatic(project: string, pairs: readonly { network1: string; network2: string; partition: string }[], describe: Describe): Promise<{ created: PeeringRow[]; removed: PeeringRow[] }> {
    return withTransaction(this.pool, async (client) => {
      await client.query("SELECT pg_advisory_xact_lock(hashtext('auto-peer'), hashtext($1))", [project]);
      const existing = (await client.query<PeeringRow>(`SELECT ${columns} FROM peerings WHERE project = $1 AND automatic`, [project])).rows;
      const key = (a: string, b: string) => (a < b ? `${a}|${b}` : `${b}|${a}`);
      const wanted = new Set(pairs.map((p) => key(p.network1, p.network2)));
      const removed: PeeringRow[] = [];
      for (const row of existing.filter((r) => !wanted.has(key(r.network1, r.network2!)))) {
        await client.query("DELETE FROM peerings WHERE id = $1::uuid", [row.id]);
        await this.event(client, "peering.deleted", row, describe);
        removed.push(row);
      }
      const have = new Set(existing.map((r) => key(r.network1, r.network2!)));
      const created: PeeringRow[] = [];
      for (const pair of pairs.filter((p) => !have.has(key(p.network1, p.network2)))) {
        const row = (await client.query<PeeringRow>(
          `INSERT INTO peerings (id, project, name, type, partition, network1, network2, automatic)
           VALUES ($1::uuid, $2, $3, 1, $4, $5, $6, true) ON CONFLICT DO NOTHING RETURNING ${columns}`,
          [randomUUID(), project, `auto: ${pair.network1} + ${pair.network2}`.slice(0, 128), pair.partition, pair.network1, pair.network2],
        )).rows[0];
        if (!row) continue;
        await this.event(client, "peering.created", row, describe);
        created.push(row);
      }
      return { created, removed };
    });
  }

  async projectsWithAutomatic(): Promise<string[]> {
    return (await this.pool.query<{ project: string }>("SELECT DISTINCT project FROM peerings WHERE automatic")).rows.map((r) => r.project);
  }

  /** Peerings naming a network that is not among `existing`. */
  /** Every network a peering names. */
  async networkIds(): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>("SELECT network1 AS id FROM peerings UNION SELECT network2 FROM peerings WHERE network2 IS NOT NULL");
    return rows.map((r) => r.id);
  }

  async dangling(existing: readonly string[]): Promise<PeeringRow[]> {
    return (await this.pool.query<PeeringRow>(`SELECT ${columns} FROM peerings WHERE NOT (network1 = ANY($1::text[])) OR NOT (coalesce(network2, network1) = ANY($1::text[]))`, [existing])).rows;
  }

  private async event(client: PoolClient, topic: string, row: PeeringRow, describe: Describe): Promise<void> {
    await this.outbox(client, { topic, key: `peering/${row.id}`, payload: describe(row) });
  }
}
