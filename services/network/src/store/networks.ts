// SQL for networks, the VRF pool and network IPs.
import { SqlState, sqlState, uuidOrNull, violatedConstraint, withTransaction, type Pool, type PoolClient } from "@bulkhead/db";
import { AlreadyExistsError, InvalidArgumentError, FailedPreconditionError, NotFoundError, ResourceExhaustedError, type SagaState } from "@bulkhead/service-kit";
import type { Outbox } from "./common.js";

export const enum NetworkType {
  Super = 1,
  SuperNamespaced = 2,
  Child = 3,
  ChildShared = 4,
  External = 5,
  Underlay = 6,
}

export interface NetworkRow {
  id: string;
  name: string;
  description: string;
  labels: Record<string, string>;
  type: NetworkType;
  partition: string | null;
  project: string | null;
  parent_network: string | null;
  prefixes: string[];
  destination_prefixes: string[];
  vrf: number | null;
  nat_type: 1 | 2;
  default_child_length_v4: number | null;
  default_child_length_v6: number | null;
  min_child_length_v4: number | null;
  min_child_length_v6: number | null;
  additional_announceable_cidrs: string[];
  namespace: string;
  requested_length_v4: number | null;
  requested_length_v6: number | null;
  state: SagaState;
  request_id: string | null;
  saga_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * An update that adds or removes prefixes: `acquiring` until the row lists the new prefixes (a
 * failure then deletes the added ones from IPAM), `releasing` after (the removed ones are then
 * deleted from IPAM, retried until done).
 */
export interface UpdateSaga {
  phase: "acquiring" | "releasing";
  add: string[];
  remove: string[];
}

/** The columns a new network is written with. */
export type NewNetwork = Omit<NetworkRow, "vrf" | "state" | "saga_started_at" | "created_at" | "updated_at">;

export interface IpRow {
  uuid: string;
  ip: string | null;
  network: string;
  prefix: string | null;
  namespace: string;
  project: string;
  type: 1 | 2;
  machine: string | null;
  name: string;
  description: string;
  labels: Record<string, string>;
  requested_ip: string | null;
  family: 4 | 6;
  state: SagaState;
  request_id: string | null;
  saga_started_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type NewIp = Pick<IpRow, "uuid" | "network" | "namespace" | "project" | "type" | "machine" | "name" | "description" | "labels" | "requested_ip" | "family" | "request_id">;

export interface NetworkFilter {
  /** Restricts to what this project may see: its networks, shared ones and base networks. */
  visibleTo?: string;
  project?: string;
  partition?: string;
  type?: NetworkType;
  vrf?: number;
  /** Networks with a prefix containing or equal to this one. */
  prefix?: string;
  parentNetwork?: string;
  labels: Record<string, string>;
  /** Only networks with one of these ids. */
  ids?: string[];
}

export interface IpFilter {
  project?: string;
  /** Only addresses of one of these projects. */
  projects?: string[];
  /** Only addresses bound to one of these machines. */
  machines?: string[];
  /** Only addresses in networks of one of these types. */
  networkTypes?: NetworkType[];
  network?: string;
  machine?: string;
  type?: 1 | 2;
  ip?: string;
}

const NETWORK = "bulkhead.network.v1.Network";
const IP = "bulkhead.network.v1.IP";

const networkColumns = `n.id, n.name, n.description, n.labels, n.type, n.partition, n.project::text AS project, n.parent_network,
  n.prefixes::text[] AS prefixes, n.destination_prefixes::text[] AS destination_prefixes, v.vrf, n.nat_type,
  n.default_child_length_v4, n.default_child_length_v6, n.min_child_length_v4, n.min_child_length_v6,
  n.additional_announceable_cidrs::text[] AS additional_announceable_cidrs, n.namespace,
  n.requested_length_v4, n.requested_length_v6, n.state, n.request_id, n.saga_started_at, n.created_at, n.updated_at`;
const fromNetworks = "networks n LEFT JOIN vrfs v ON v.network = n.id";
/** A saga's row by its key ($1): a network by id, an IP by uuid. */
const sagaKey = { networks: "id = $1::text", ips: "uuid = $1::uuid" } as const;

const ipColumns = `uuid::text AS uuid, host(ip) AS ip, network, prefix::text AS prefix, namespace, project::text AS project, type, machine, name, description, labels,
  host(requested_ip) AS requested_ip, family, state, request_id, saga_started_at, created_at, updated_at`;

// What a project may see: its own networks, shared networks, external networks open to it, and
// the super networks its children are cut from. Never another project's unshared networks nor
// an underlay.
const visibleTo = (param: string) =>
  `(n.project = ${param}::uuid OR n.type = 4 OR (n.type = 5 AND (n.project IS NULL OR n.project = ${param}::uuid)) OR n.type IN (1, 2))`;

export class NetworkStore {
  constructor(
    private readonly pool: Pool,
    private readonly outbox: Outbox,
    private readonly vrfRange: { min: number; max: number },
    /** VNIs the fabric uses itself (the PXE segment's, static VRFs'): never a network's. */
    private readonly reserved: readonly number[] = [],
  ) {}

  /** Records the VRF pool range; refuses to change it once a VRF is in use, and refuses to start while a network holds a reserved VNI. */
  async fixVrfRange(): Promise<void> {
    await withTransaction(this.pool, async (client) => {
      const clash = (await client.query<{ vrf: number; network: string }>("SELECT vrf, network FROM vrfs WHERE vrf = ANY($1::int[]) ORDER BY vrf", [this.reserved])).rows;
      if (clash.length > 0) throw new Error(`${clash.map((c) => `network ${c.network} holds VRF ${c.vrf}`).join(", ")}, which is reserved (BULKHEAD_RESERVED_VNIS); move it before starting with this setting`);
      await client.query("LOCK TABLE settings IN EXCLUSIVE MODE");
      const stored = (await client.query<{ value: { min: number; max: number } }>("SELECT value FROM settings WHERE key = 'vrf_pool'")).rows[0]?.value;
      if (stored && (stored.min !== this.vrfRange.min || stored.max !== this.vrfRange.max)) {
        const inUse = Number((await client.query("SELECT count(*) FROM vrfs")).rows[0].count);
        if (inUse > 0) throw new Error(`the VRF pool is ${stored.min}-${stored.max} and ${inUse} VRFs are in use; it cannot change to ${this.vrfRange.min}-${this.vrfRange.max}`);
      }
      await client.query("INSERT INTO settings (key, value) VALUES ('vrf_pool', $1) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value", [this.vrfRange]);
    });
  }

  async vrfPool(): Promise<{ min: number; max: number; acquired: number }> {
    const { rows } = await this.pool.query("SELECT count(*)::int AS n FROM vrfs WHERE vrf BETWEEN $1 AND $2", [this.vrfRange.min, this.vrfRange.max]);
    return { ...this.vrfRange, acquired: rows[0].n };
  }

  async get(id: string): Promise<NetworkRow | undefined> {
    return (await this.pool.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.id = $1`, [id])).rows[0];
  }

  async byRequestId(project: string, requestId: string): Promise<NetworkRow | undefined> {
    return (await this.pool.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.project = $1::uuid AND n.request_id = $2`, [project, requestId])).rows[0];
  }

  async superOf(partition: string): Promise<NetworkRow | undefined> {
    return (await this.pool.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.partition = $1 AND n.type IN (1, 2)`, [partition])).rows[0];
  }

  async underlayOf(partition: string): Promise<NetworkRow | undefined> {
    return (await this.pool.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.partition = $1 AND n.type = 6`, [partition])).rows[0];
  }

  async list(filter: NetworkFilter, after: string | undefined, limit: number): Promise<NetworkRow[]> {
    const { rows } = await this.pool.query<NetworkRow>(
      `SELECT ${networkColumns} FROM ${fromNetworks}
       WHERE n.state = 'ready'
         AND ($1::text IS NULL OR ${visibleTo("$1")})
         AND ($2::text IS NULL OR n.project = $2::uuid)
         AND ($3::text IS NULL OR n.partition = $3)
         AND ($4::int IS NULL OR n.type = $4)
         AND ($5::int IS NULL OR v.vrf = $5)
         AND ($6::cidr IS NULL OR EXISTS (SELECT 1 FROM unnest(n.prefixes) p WHERE p >>= $6))
         AND ($7::text IS NULL OR n.parent_network = $7)
         AND n.labels @> $8
         AND ($9::text IS NULL OR n.id > $9)
         AND ($11::text[] IS NULL OR n.id = ANY($11::text[]))
       ORDER BY n.id LIMIT $10`,
      [filter.visibleTo ?? null, filter.project ?? null, filter.partition ?? null, filter.type ?? null, filter.vrf ?? null, filter.prefix ?? null, filter.parentNetwork ?? null, filter.labels, after ?? null, limit, filter.ids ?? null],
    );
    return rows;
  }

  /**
   * Writes a network in state `allocating` with its VRF (a specific one, a random one from the
   * pool, or none), so that a crash after this point leaves a record of what to compensate.
   */
  async insertAllocating(network: NewNetwork, vrf: "none" | "pool" | number): Promise<NetworkRow> {
    try {
      return await withTransaction(this.pool, async (client) => {
        await client.query(
          `INSERT INTO networks (id, name, description, labels, type, partition, project, parent_network, prefixes, destination_prefixes, nat_type,
             default_child_length_v4, default_child_length_v6, min_child_length_v4, min_child_length_v6, additional_announceable_cidrs, namespace,
             requested_length_v4, requested_length_v6, request_id, state, saga_started_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7::uuid, $8, $9::cidr[], $10::cidr[], $11, $12, $13, $14, $15, $16::cidr[], $17, $18, $19, $20, 'allocating', now())`,
          [
            network.id, network.name, network.description, network.labels, network.type, network.partition, network.project, network.parent_network,
            network.prefixes, network.destination_prefixes, network.nat_type, network.default_child_length_v4, network.default_child_length_v6,
            network.min_child_length_v4, network.min_child_length_v6, network.additional_announceable_cidrs, network.namespace,
            network.requested_length_v4, network.requested_length_v6, network.request_id,
          ],
        );
        if (vrf !== "none") await this.acquireVrf(client, network.id, vrf === "pool" ? undefined : vrf);
        return (await client.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.id = $1`, [network.id])).rows[0]!;
      });
    } catch (error) {
      const constraint = violatedConstraint(error);
      if (constraint === "networks_pkey") throw new AlreadyExistsError(NETWORK, network.id);
      if (constraint === "networks_one_super_per_partition") throw new AlreadyExistsError(NETWORK, network.partition ?? "", `partition ${network.partition} already has a super network`);
      if (constraint === "networks_one_underlay_per_partition") throw new AlreadyExistsError(NETWORK, network.partition ?? "", `partition ${network.partition} already has an underlay network`);
      if (constraint === "networks_request_id") throw new RequestIdTaken();
      if (sqlState(error) === SqlState.foreignKeyViolation) throw new FailedPreconditionError(`${constraint?.replace(/^networks_|_fkey$/g, "")} of network ${network.id} does not exist`);
      throw error;
    }
  }

  private async acquireVrf(client: PoolClient, network: string, specific: number | undefined): Promise<void> {
    if (specific !== undefined && this.reserved.includes(specific)) throw new InvalidArgumentError("vrf", `VRF ${specific} is reserved for the fabric itself (BULKHEAD_RESERVED_VNIS: ${this.reserved.join(", ")})`);
    if (specific !== undefined) {
      const taken = (await client.query("INSERT INTO vrfs (vrf, network) VALUES ($1, $2) ON CONFLICT (vrf) DO NOTHING RETURNING vrf", [specific, network])).rowCount === 0;
      if (taken) {
        const owner = (await client.query("SELECT network FROM vrfs WHERE vrf = $1", [specific])).rows[0]?.network;
        throw new AlreadyExistsError("bulkhead.network.v1.Vrf", String(specific), `VRF ${specific} is in use by network ${owner}`);
      }
      return;
    }
    const { min, max } = this.vrfRange;
    // Random picks spread VRFs over the pool (a freed VRF is not reused at once); when the pool
    // runs full the lowest free one is searched instead.
    for (let attempt = 0; attempt < 16; attempt++) {
      const candidate = min + Math.floor(Math.random() * (max - min + 1));
      if (this.reserved.includes(candidate)) continue;
      if ((await client.query("INSERT INTO vrfs (vrf, network) VALUES ($1, $2) ON CONFLICT (vrf) DO NOTHING RETURNING vrf", [candidate, network])).rowCount === 1) return;
    }
    for (;;) {
      // The lowest free VRF is the range's start or follows a taken or reserved one: a walk of those, not of the range.
      const free = (
        await client.query<{ v: number }>(
          `WITH taken AS (SELECT vrf AS v FROM vrfs WHERE vrf BETWEEN $1 AND $2 UNION SELECT unnest($3::int[]))
           SELECT c AS v FROM (SELECT $1::int AS c UNION ALL SELECT v + 1 FROM taken) candidates
           WHERE c BETWEEN $1 AND $2 AND NOT EXISTS (SELECT 1 FROM taken WHERE v = c) ORDER BY c LIMIT 1`,
          [min, max, this.reserved],
        )
      ).rows[0]?.v;
      if (free === undefined) throw new ResourceExhaustedError(`the VRF pool ${min}-${max} is exhausted`);
      if ((await client.query("INSERT INTO vrfs (vrf, network) VALUES ($1, $2) ON CONFLICT (vrf) DO NOTHING RETURNING vrf", [free, network])).rowCount === 1) return;
    }
  }

  /** Completes an allocation saga: prefixes recorded, state ready, event appended. */
  async markReady(id: string, prefixes: string[], topic: string): Promise<NetworkRow | undefined> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query("UPDATE networks SET prefixes = $2::cidr[], state = 'ready', saga_started_at = NULL, updated_at = now() WHERE id = $1 AND state = 'allocating'", [id, prefixes]);
      const row = (await client.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.id = $1`, [id])).rows[0];
      if (rowCount === 1 && row) await this.outbox(client, networkEvent(topic, row));
      return row?.state === "ready" ? row : undefined;
    });
  }

  /**
   * Starts freeing: the network is locked and must be ready and unused (no IPs, no child
   * networks); IP allocations and child allocations check the state in their own transaction.
   */
  async markFreeing(id: string): Promise<NetworkRow> {
    return withTransaction(this.pool, async (client) => {
      const row = (await client.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.id = $1 FOR UPDATE OF n`, [id])).rows[0];
      if (!row) throw new NotFoundError(NETWORK, id);
      if (row.state !== "ready") throw new FailedPreconditionError(`network ${id} is being ${row.state === "allocating" ? "allocated" : "freed"}`, { type: NETWORK, name: id });
      const usage = (await client.query<{ ips: number; children: number }>(
        "SELECT (SELECT count(*)::int FROM ips WHERE network = $1) AS ips, (SELECT count(*)::int FROM networks WHERE parent_network = $1) AS children",
        [id],
      )).rows[0]!;
      if (usage.ips > 0) throw new FailedPreconditionError(`network ${id} still has ${usage.ips} IPs (of machines or projects); release them first`, { type: NETWORK, name: id });
      if (usage.children > 0) throw new FailedPreconditionError(`network ${id} still has ${usage.children} child networks; free them first`, { type: NETWORK, name: id });
      await client.query("UPDATE networks SET state = 'freeing', saga_started_at = now() WHERE id = $1", [id]);
      return { ...row, state: "freeing" };
    });
  }

  /** Takes back a free that was refused before anything was released. */
  async unmarkFreeing(id: string): Promise<void> {
    await this.pool.query("UPDATE networks SET state = 'ready', saga_started_at = NULL WHERE id = $1 AND state = 'freeing'", [id]);
  }

  /**
   * Moves an allocation into compensation; false if it is no longer being allocated (it became
   * ready, or another process compensates it). A row already compensating is taken over.
   */
  async beginCompensation(table: "networks" | "ips", key: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE ${table} SET state = 'compensating', saga_started_at = now() WHERE ${sagaKey[table]} AND state IN ('allocating', 'compensating')`, [key]);
    return rowCount === 1;
  }

  /** Deletes a network whose saga ends here (allocation compensated, or freeing completed). */
  async delete(id: string, from: SagaState, topic: string | undefined): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const row = (await client.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.id = $1 AND n.state = $2 FOR UPDATE OF n`, [id, from])).rows[0];
      if (!row) return false;
      await client.query("DELETE FROM networks WHERE id = $1", [id]);
      if (topic) await this.outbox(client, networkEvent(topic, row));
      return true;
    });
  }

  /**
   * Replaces a ready network's mutable attributes and appends `network.updated`. `saga`: the update
   * saga's state afterwards (its releasing phase, or null when it is done); unset leaves it.
   */
  async update(
    id: string,
    change: (current: NetworkRow) => Partial<Pick<NetworkRow, "name" | "description" | "labels" | "type" | "prefixes" | "destination_prefixes" | "additional_announceable_cidrs">>,
    saga?: UpdateSaga | null,
  ): Promise<NetworkRow> {
    return withTransaction(this.pool, async (client) => {
      const current = (await client.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.id = $1 FOR UPDATE OF n`, [id])).rows[0];
      if (!current || current.state !== "ready") throw new NotFoundError(NETWORK, id);
      const next = { ...current, ...change(current) };
      await client.query(
        `UPDATE networks SET name = $2, description = $3, labels = $4, type = $5, prefixes = $6::cidr[], destination_prefixes = $7::cidr[],
           additional_announceable_cidrs = $8::cidr[], updated_at = now(),
           update_saga = CASE WHEN $10 THEN $9::jsonb ELSE update_saga END,
           update_started_at = CASE WHEN NOT $10 THEN update_started_at WHEN $9::jsonb IS NULL THEN NULL ELSE now() END
         WHERE id = $1`,
        [id, next.name, next.description, next.labels, next.type, next.prefixes, next.destination_prefixes, next.additional_announceable_cidrs, saga ? JSON.stringify(saga) : null, saga !== undefined],
      );
      const row = (await client.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.id = $1`, [id])).rows[0]!;
      await this.outbox(client, networkEvent("network.updated", row));
      return row;
    });
  }

  /** Starts an update saga of a ready network; false when another one is under way. */
  async beginUpdate(id: string, saga: UpdateSaga): Promise<boolean> {
    const { rowCount } = await this.pool.query("UPDATE networks SET update_saga = $2, update_started_at = now() WHERE id = $1 AND state = 'ready' AND update_saga IS NULL", [id, JSON.stringify(saga)]);
    return rowCount === 1;
  }

  /** Ends a network's update saga. */
  async endUpdate(id: string): Promise<void> {
    await this.pool.query("UPDATE networks SET update_saga = NULL, update_started_at = NULL WHERE id = $1", [id]);
  }

  /** Update sagas started before `before` and not ended, each claimed for this process (its clock restarted). */
  async claimStalledUpdates(before: Date): Promise<{ row: NetworkRow; saga: UpdateSaga }[]> {
    const { rows } = await this.pool.query<{ id: string; update_saga: UpdateSaga }>(
      "UPDATE networks SET update_started_at = now() WHERE id IN (SELECT id FROM networks WHERE update_saga IS NOT NULL AND update_started_at < $1 LIMIT 100 FOR UPDATE SKIP LOCKED) RETURNING id, update_saga",
      [before],
    );
    const claimed: { row: NetworkRow; saga: UpdateSaga }[] = [];
    for (const r of rows) {
      const row = await this.get(r.id);
      if (row) claimed.push({ row, saga: r.update_saga });
    }
    return claimed;
  }

  /** Networks whose saga was started before `before` and has not ended. */
  async stalled(before: Date): Promise<NetworkRow[]> {
    return (await this.pool.query<NetworkRow>(`SELECT ${networkColumns} FROM ${fromNetworks} WHERE n.state <> 'ready' AND n.saga_started_at < $1 ORDER BY n.saga_started_at LIMIT 100`, [before])).rows;
  }

  /** Claims a stalled saga for this process by restarting its clock; false if another process did first. */
  async claim(table: "networks" | "ips", key: string, stalledBefore: Date): Promise<boolean> {
    return (await this.pool.query(`UPDATE ${table} SET saga_started_at = now() WHERE ${sagaKey[table]} AND state <> 'ready' AND saga_started_at < $2`, [key, stalledBefore])).rowCount === 1;
  }

  /** Whether a network other than `id` claims `cidr` in the root namespace (then it is theirs in IPAM). */
  async prefixClaimedByOther(id: string, cidr: string): Promise<boolean> {
    return (await this.pool.query("SELECT 1 FROM networks WHERE id <> $1 AND namespace = 'root' AND $2::cidr = ANY(prefixes) LIMIT 1", [id, cidr])).rowCount === 1;
  }

  /** Whether the project still has child networks cut from a namespaced super (i.e. uses its namespace). */
  async projectUsesNamespace(parent: string, project: string): Promise<boolean> {
    return (await this.pool.query("SELECT 1 FROM networks WHERE parent_network = $1 AND project = $2::uuid LIMIT 1", [parent, project])).rowCount === 1;
  }

  // --- IPs ---

  async getIp(uuid: string): Promise<IpRow | undefined> {
    if (!/^[0-9a-f-]{36}$/.test(uuid)) return undefined;
    return (await this.pool.query<IpRow>(`SELECT ${ipColumns} FROM ips WHERE uuid = $1::uuid`, [uuid])).rows[0];
  }

  async ipByRequestId(project: string, requestId: string): Promise<IpRow | undefined> {
    return (await this.pool.query<IpRow>(`SELECT ${ipColumns} FROM ips WHERE project = $1::uuid AND request_id = $2`, [project, requestId])).rows[0];
  }

  async listIps(filter: IpFilter, after: string | undefined, limit: number): Promise<IpRow[]> {
    const { rows } = await this.pool.query<IpRow>(
      `SELECT ${ipColumns} FROM ips
       WHERE state = 'ready' AND ($1::text IS NULL OR project = $1::uuid) AND ($2::text IS NULL OR network = $2) AND ($3::text IS NULL OR machine = $3)
         AND ($4::int IS NULL OR type = $4) AND ($5::inet IS NULL OR ip = $5) AND ($6::text IS NULL OR uuid > $6::uuid)
         AND ($8::uuid[] IS NULL OR project = ANY($8::uuid[])) AND ($9::text[] IS NULL OR machine = ANY($9::text[]))
         AND ($10::int[] IS NULL OR network IN (SELECT id FROM networks WHERE type = ANY($10::int[])))
       ORDER BY uuid LIMIT $7`,
      [filter.project ?? null, filter.network ?? null, filter.machine ?? null, filter.type ?? null, filter.ip ?? null, after ?? null, limit, filter.projects?.flatMap((p) => uuidOrNull(p) ?? []) ?? null, filter.machines ?? null, filter.networkTypes ?? null],
    );
    return rows;
  }

  /** Writes an IP in state `allocating`, if the network is ready (checked under a share lock). */
  async insertIpAllocating(ip: NewIp): Promise<IpRow> {
    try {
      // One statement: the network row is share-locked while the address is written, so a free of
      // the network waits for it (and the insert finds nothing once the network is being freed).
      const { rows } = await this.pool.query<IpRow>(
        `INSERT INTO ips (uuid, network, namespace, project, type, machine, name, description, labels, requested_ip, family, request_id, state, saga_started_at)
         SELECT $1::uuid, n.id, $3, $4::uuid, $5, $6, $7, $8, $9, $10::inet, $11, $12, 'allocating', now() FROM networks n WHERE n.id = $2 AND n.state = 'ready' FOR SHARE OF n
         RETURNING ${ipColumns}`,
        [ip.uuid, ip.network, ip.namespace, ip.project, ip.type, ip.machine, ip.name, ip.description, ip.labels, ip.requested_ip, ip.family, ip.request_id],
      );
      if (rows[0]) return rows[0];
      const state = (await this.pool.query<{ state: string }>("SELECT state FROM networks WHERE id = $1", [ip.network])).rows[0]?.state;
      throw new FailedPreconditionError(`network ${ip.network} is being ${state === "freeing" ? "freed" : "allocated"}`, { type: NETWORK, name: ip.network });
    } catch (error) {
      if (violatedConstraint(error) === "ips_request_id") throw new RequestIdTaken();
      throw error;
    }
  }

  async markIpReady(uuid: string, ip: string, prefix: string): Promise<IpRow | undefined> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<IpRow>(
        `UPDATE ips SET ip = $2::inet, prefix = $3::cidr, state = 'ready', saga_started_at = NULL, updated_at = now() WHERE uuid = $1::uuid AND state = 'allocating' RETURNING ${ipColumns}`,
        [uuid, ip, prefix],
      );
      if (rows[0]) await this.outbox(client, ipEvent("ip.allocated", rows[0]));
      else return (await client.query<IpRow>(`SELECT ${ipColumns} FROM ips WHERE uuid = $1::uuid AND state = 'ready'`, [uuid])).rows[0];
      return rows[0];
    });
  }

  async markIpFreeing(uuid: string): Promise<IpRow> {
    const { rows } = await this.pool.query<IpRow>(`UPDATE ips SET state = 'freeing', saga_started_at = now() WHERE uuid = $1::uuid AND state = 'ready' RETURNING ${ipColumns}`, [uuid]);
    if (!rows[0]) throw new FailedPreconditionError(`IP ${uuid} is being allocated or released`, { type: IP, name: uuid });
    return rows[0];
  }

  async deleteIp(uuid: string, from: SagaState, topic: string | undefined): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<IpRow>(`DELETE FROM ips WHERE uuid = $1::uuid AND state = $2 RETURNING ${ipColumns}`, [uuid, from]);
      if (rows[0] && topic) await this.outbox(client, ipEvent(topic, rows[0]));
      return rows.length === 1;
    });
  }

  async updateIp(uuid: string, change: (current: IpRow) => Pick<IpRow, "name" | "description" | "labels" | "type" | "machine">): Promise<IpRow> {
    return withTransaction(this.pool, async (client) => {
      const current = (await client.query<IpRow>(`SELECT ${ipColumns} FROM ips WHERE uuid = $1::uuid AND state = 'ready' FOR UPDATE`, [uuid])).rows[0];
      if (!current) throw new NotFoundError(IP, uuid);
      const next = change(current);
      const { rows } = await client.query<IpRow>(`UPDATE ips SET name = $2, description = $3, labels = $4, type = $5, machine = $6, updated_at = now() WHERE uuid = $1::uuid RETURNING ${ipColumns}`, [
        uuid,
        next.name,
        next.description,
        next.labels,
        next.type,
        next.machine,
      ]);
      await this.outbox(client, ipEvent("ip.updated", rows[0]!));
      return rows[0]!;
    });
  }

  async stalledIps(before: Date): Promise<IpRow[]> {
    return (await this.pool.query<IpRow>(`SELECT ${ipColumns} FROM ips WHERE state <> 'ready' AND saga_started_at < $1 ORDER BY saga_started_at LIMIT 100`, [before])).rows;
  }
}

/** A concurrent call with the same request_id won the insert; the caller re-reads and resumes. */
export class RequestIdTaken extends Error {}

function networkEvent(topic: string, n: NetworkRow) {
  return {
    topic,
    key: `network/${n.id}`,
    payload: { network: n.id, type: n.type, partition: n.partition, project: n.project, vrf: n.vrf, prefixes: n.prefixes, parent: n.parent_network },
  };
}

function ipEvent(topic: string, ip: IpRow) {
  return { topic, key: `ip/${ip.uuid}`, payload: { uuid: ip.uuid, ip: ip.ip, network: ip.network, project: ip.project, machine: ip.machine } };
}
