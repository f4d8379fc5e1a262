// SQL for machines, their connections, BMC credentials, images and allocations.
import { randomUUID } from "node:crypto";
import { SqlState, sqlState, violatedConstraint, withTransaction, type Pool, type PoolClient } from "@bulkhead/db";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, type SagaState } from "@bulkhead/service-kit";
import type { Connection, NicReport, Problem } from "../lldp.js";
import type { Outbox } from "./outbox.js";

export const enum MachineState {
  Registered = 1,
  Allocated = 2,
  Installed = 3,
  Freeing = 4,
}

export interface AllocationNetwork {
  network: string;
  autoAcquire: boolean;
}

export interface AllocationRow {
  machine: string;
  id: string;
  project: string;
  role: 1 | 2;
  hostname: string;
  name: string;
  description: string;
  image: string;
  asn: number;
  ssh_public_keys: string[];
  networks: AllocationNetwork[];
  explicit_ips: string[];
  state: SagaState;
  request_id: string | null;
  saga_started_at: Date | null;
  allocated_at: Date;
  installed_at: Date | null;
  installation_change: string;
}

export interface MachineRow {
  id: string;
  partition: string | null;
  rack: string | null;
  state: MachineState;
  nics: NicReport[];
  problems: Problem[];
  bmc_address: string;
  bmc_username: string;
  has_bmc_secret: boolean;
  bmc_rotated_at: Date | null;
  created_at: Date;
  updated_at: Date;
  connections: Connection[];
  allocation: AllocationRow | null;
}

export interface ImageRow {
  name: string;
  description: string;
  url: string;
  checksum_algorithm: "sha256" | "sha512";
  checksum_digest: string;
  created_at: Date;
}

export type NewAllocation = Omit<AllocationRow, "machine" | "id" | "asn" | "state" | "saga_started_at" | "allocated_at" | "installed_at" | "installation_change">;

const MACHINE = "bulkhead.inventory.v1.Machine";
const IMAGE = "bulkhead.inventory.v1.Image";
// The secret itself is never selected: only whether there is one.
const machineColumns = `id, partition, rack, state, nics, problems, bmc_address, bmc_username, bmc_secret IS NOT NULL AS has_bmc_secret, bmc_rotated_at, created_at, updated_at`;
const allocationColumns = `machine, id::text AS id, project, role, hostname, name, description, image, asn::float8 AS asn, ssh_public_keys, networks, explicit_ips, state, request_id,
  saga_started_at, allocated_at, installed_at, installation_change`;

export class MachineStore {
  constructor(
    private readonly pool: Pool,
    private readonly outbox: Outbox,
    private readonly asnRange: { min: number; max: number },
  ) {}

  /** Which machine each port of these switches is cabled to. */
  async portOwners(switches: readonly string[]): Promise<Map<string, string>> {
    const { rows } = await this.pool.query<{ switch: string; port: string; machine: string }>("SELECT switch, port, machine FROM connections WHERE switch = ANY($1::text[])", [switches]);
    return new Map(rows.map((r) => [`${r.switch}/${r.port}`, r.machine]));
  }

  /**
   * Records a registration: the NICs, the problems, and the connections, replacing earlier ones.
   * A port another machine took meanwhile becomes a problem, not an error.
   */
  async register(id: string, nics: readonly NicReport[], match: { connections: Connection[]; problems: Problem[]; partition?: string; rack?: string }, bmc: { address: string; username: string; secret: Buffer } | undefined): Promise<MachineRow> {
    return withTransaction(this.pool, async (client) => {
      const before = await this.read(client, id, true);
      const problems = [...match.problems];
      await client.query(
        `INSERT INTO machines (id, partition, rack, nics) VALUES ($1, $2, $3, $4)
         ON CONFLICT (id) DO UPDATE SET partition = $2, rack = $3, nics = $4, updated_at = now()`,
        [id, match.partition ?? null, match.rack ?? null, JSON.stringify(nics)],
      );
      await client.query("DELETE FROM connections WHERE machine = $1", [id]);
      const connected: Connection[] = [];
      for (const c of match.connections) {
        const { rowCount } = await client.query("INSERT INTO connections (machine, nic, nic_mac, switch, port) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING", [id, c.nic, c.nicMac, c.switch, c.port]);
        if (rowCount === 1) connected.push(c);
        else problems.push({ kind: 4, nic: c.nic, message: `${c.nic} sees ${c.switch} ${c.port}, which is cabled to another machine` });
      }
      await client.query("UPDATE machines SET problems = $2 WHERE id = $1", [id, JSON.stringify(problems)]);
      if (bmc) await client.query("UPDATE machines SET bmc_address = $2, bmc_username = $3, bmc_secret = $4, bmc_rotated_at = now() WHERE id = $1", [id, bmc.address, bmc.username, bmc.secret]);
      const wiring = (cs: readonly Connection[]) => JSON.stringify(cs.map((c) => `${c.nic}>${c.switch}/${c.port}`).sort());
      if (!before || wiring(before.connections) !== wiring(connected)) {
        const switches = [...new Set([...(before?.connections ?? []), ...connected].map((c) => c.switch))].sort();
        await this.outbox(client, {
          topic: before ? "machine.recabled" : "machine.registered",
          key: `machine/${id}`,
          payload: { machine: id, partition: match.partition ?? null, switches, project: before?.allocation?.project ?? null },
        });
      }
      return (await this.read(client, id))!;
    });
  }

  async setBmc(id: string, bmc: { address: string; username: string; secret: Buffer }): Promise<MachineRow> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query("UPDATE machines SET bmc_address = $2, bmc_username = $3, bmc_secret = $4, bmc_rotated_at = now(), updated_at = now() WHERE id = $1", [
        id,
        bmc.address,
        bmc.username,
        bmc.secret,
      ]);
      if (rowCount === 0) throw new NotFoundError(MACHINE, id);
      await this.outbox(client, { topic: "machine.bmc.rotated", key: `machine/${id}`, payload: { machine: id } });
      return (await this.read(client, id))!;
    });
  }

  async get(id: string): Promise<MachineRow | undefined> {
    return this.read(this.pool, id);
  }

  /** The machines of `ids` that exist, in their order. */
  async getMany(ids: readonly string[]): Promise<MachineRow[]> {
    return this.readMany(this.pool, ids);
  }

  async list(filter: { project?: string; partition?: string; rack?: string; state?: number; role?: number; ids?: string[] }, after: string | undefined, limit: number): Promise<MachineRow[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT m.id FROM machines m LEFT JOIN allocations a ON a.machine = m.id
       WHERE ($1::text IS NULL OR a.project = $1) AND ($2::text IS NULL OR m.partition = $2) AND ($3::text IS NULL OR m.rack = $3)
         AND ($4::int IS NULL OR m.state = $4) AND ($5::int IS NULL OR a.role = $5) AND ($6::text IS NULL OR m.id > $6)
         AND ($8::text[] IS NULL OR m.id = ANY($8))
       ORDER BY m.id LIMIT $7`,
      [filter.project ?? null, filter.partition ?? null, filter.rack ?? null, filter.state ?? null, filter.role ?? null, after ?? null, limit, filter.ids ?? null],
    );
    return this.readMany(this.pool, rows.map((r) => r.id));
  }

  async delete(id: string): Promise<MachineRow> {
    return withTransaction(this.pool, async (client) => {
      const row = await this.read(client, id, true);
      if (!row) throw new NotFoundError(MACHINE, id);
      if (row.allocation) throw new FailedPreconditionError(`machine ${id} is allocated to project ${row.allocation.project}; free it first`, { type: MACHINE, name: id });
      await client.query("DELETE FROM machines WHERE id = $1", [id]);
      await this.outbox(client, { topic: "machine.deleted", key: `machine/${id}`, payload: { machine: id, partition: row.partition, switches: [...new Set(row.connections.map((c) => c.switch))] } });
      return row;
    });
  }

  /**
   * Starts an allocation saga: claims the given machine, or any free one of the partition (two
   * concurrent claims never get the same machine), writes the allocation `allocating` with an ASN
   * from the pool, in one transaction.
   */
  async claim(partition: string, machine: string | undefined, allocation: NewAllocation): Promise<MachineRow> {
    try {
      return await withTransaction(this.pool, async (client) => {
        let id = machine;
        if (id) {
          const row = await this.read(client, id, true);
          if (!row) throw new NotFoundError(MACHINE, id);
          this.requireAllocatable(row, partition);
        } else {
          id = (await client.query<{ id: string }>("SELECT id FROM machines WHERE partition = $1 AND state = 1 AND problems = '[]'::jsonb ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED", [partition])).rows[0]?.id;
          if (!id) throw new ResourceExhaustedError(`partition ${partition} has no free machine`);
        }
        await client.query("UPDATE machines SET state = 2, updated_at = now() WHERE id = $1", [id]);
        const asn = await this.acquireAsn(client);
        await client.query(
          `INSERT INTO allocations (machine, id, project, role, hostname, name, description, image, asn, ssh_public_keys, networks, explicit_ips, state, request_id, saga_started_at)
           VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'allocating', $13, now())`,
          [id, randomUUID(), allocation.project, allocation.role, allocation.hostname, allocation.name, allocation.description, allocation.image, asn, allocation.ssh_public_keys, JSON.stringify(allocation.networks), allocation.explicit_ips, allocation.request_id],
        );
        return (await this.read(client, id))!;
      });
    } catch (error) {
      const constraint = violatedConstraint(error);
      if (constraint === "allocations_request_id") throw new RequestIdTaken();
      // Two claims drew the same random ASN at once: draw again.
      if (constraint === "allocations_asn_unique") return this.claim(partition, machine, allocation);
      if (sqlState(error) === SqlState.foreignKeyViolation) throw new InvalidArgumentError("image", `there is no image ${allocation.image}`);
      throw error;
    }
  }

  private requireAllocatable(row: MachineRow, partition: string): void {
    if (row.partition !== partition) throw new FailedPreconditionError(`machine ${row.id} is in partition ${row.partition ?? "(unknown)"}, not ${partition}`, { type: MACHINE, name: row.id });
    if (row.problems.length > 0) throw new FailedPreconditionError(`machine ${row.id} has registration problems: ${row.problems.map((p) => p.message).join("; ")}`, { type: MACHINE, name: row.id });
    if (row.state !== MachineState.Registered) throw new FailedPreconditionError(`machine ${row.id} is not free`, { type: MACHINE, name: row.id });
  }

  private async acquireAsn(client: PoolClient): Promise<number> {
    const { min, max } = this.asnRange;
    for (let attempt = 0; attempt < 16; attempt++) {
      const candidate = min + Math.floor(Math.random() * (max - min + 1));
      if ((await client.query("SELECT 1 FROM allocations WHERE asn = $1", [candidate])).rowCount === 0) return candidate;
    }
    // The lowest free ASN is the range's start or follows a taken one: a walk of the taken, not of the range.
    const free = (
      await client.query<{ n: string }>(
        `WITH taken AS (SELECT asn FROM allocations WHERE asn BETWEEN $1 AND $2)
         SELECT n::text FROM (SELECT $1::bigint AS n UNION ALL SELECT asn + 1 FROM taken) candidates
         WHERE n <= $2 AND NOT EXISTS (SELECT 1 FROM taken WHERE asn = n) ORDER BY n LIMIT 1`,
        [min, max],
      )
    ).rows[0]?.n;
    if (!free) throw new ResourceExhaustedError(`the ASN pool ${min}-${max} is exhausted`);
    return Number(free);
  }

  async byRequestId(project: string, requestId: string): Promise<MachineRow | undefined> {
    const id = (await this.pool.query<{ machine: string }>("SELECT machine FROM allocations WHERE project = $1 AND request_id = $2", [project, requestId])).rows[0]?.machine;
    return id ? this.read(this.pool, id) : undefined;
  }

  /** Finishes an allocation saga: `ready`, with its event. Undefined if it is no longer allocating. */
  async markAllocated(machine: string, payload: Record<string, unknown>): Promise<MachineRow | undefined> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query("UPDATE allocations SET state = 'ready', saga_started_at = NULL WHERE machine = $1 AND state = 'allocating'", [machine]);
      if (rowCount === 1) await this.outbox(client, { topic: "machine.allocated", key: `machine/${machine}`, payload });
      const row = await this.read(client, machine);
      return row?.allocation?.state === "ready" ? row : undefined;
    });
  }

  /** Moves an allocation into compensation; false if it is no longer being allocated. */
  async beginCompensation(machine: string, allocationId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query("UPDATE allocations SET state = 'compensating', saga_started_at = now() WHERE machine = $1 AND id = $2::uuid AND state IN ('allocating', 'compensating')", [machine, allocationId]);
    return rowCount === 1;
  }

  /** Starts freeing a ready allocation. */
  async markFreeing(machine: string): Promise<MachineRow> {
    return withTransaction(this.pool, async (client) => {
      const row = await this.read(client, machine, true);
      if (!row?.allocation) throw new NotFoundError(MACHINE, machine, `machine ${machine} is not allocated`);
      if (row.allocation.state !== "ready") throw new FailedPreconditionError(`machine ${machine} is being ${row.allocation.state === "freeing" ? "freed" : "allocated"}`, { type: MACHINE, name: machine });
      await client.query("UPDATE allocations SET state = 'freeing', saga_started_at = now() WHERE machine = $1", [machine]);
      await client.query("UPDATE machines SET state = 4, updated_at = now() WHERE id = $1", [machine]);
      return (await this.read(client, machine))!;
    });
  }

  /** Ends an allocation (compensated or freed): the machine is free again, the ASN released. */
  async endAllocation(machine: string, allocationId: string, from: SagaState, payload: Record<string, unknown> | undefined): Promise<boolean> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query("DELETE FROM allocations WHERE machine = $1 AND id = $2::uuid AND state = $3", [machine, allocationId, from]);
      if (rowCount === 0) return false;
      await client.query("UPDATE machines SET state = 1, updated_at = now() WHERE id = $1", [machine]);
      if (payload) await this.outbox(client, { topic: "machine.freed", key: `machine/${machine}`, payload });
      return true;
    });
  }

  async markInstalled(machine: string, payload: Record<string, unknown>): Promise<MachineRow> {
    return withTransaction(this.pool, async (client) => {
      const row = await this.read(client, machine, true);
      if (!row) throw new NotFoundError(MACHINE, machine);
      if (row.state !== MachineState.Allocated || row.allocation?.state !== "ready") throw new FailedPreconditionError(`machine ${machine} is not waiting for its installation`, { type: MACHINE, name: machine });
      await client.query("UPDATE machines SET state = 3, updated_at = now() WHERE id = $1", [machine]);
      const change = await this.outbox(client, { topic: "machine.installed", key: `machine/${machine}`, payload });
      await client.query("UPDATE allocations SET installed_at = now(), installation_change = $2 WHERE machine = $1", [machine, change]);
      return (await this.read(client, machine))!;
    });
  }

  async stalled(before: Date): Promise<MachineRow[]> {
    const { rows } = await this.pool.query<{ machine: string }>("SELECT machine FROM allocations WHERE state <> 'ready' AND saga_started_at < $1 ORDER BY saga_started_at LIMIT 100", [before]);
    return (await Promise.all(rows.map((r) => this.read(this.pool, r.machine)))).filter((r): r is MachineRow => r !== undefined);
  }

  /** Claims a stalled saga by restarting its clock; false if another process did first. */
  async claimStalled(machine: string, before: Date): Promise<boolean> {
    return (await this.pool.query("UPDATE allocations SET saga_started_at = now() WHERE machine = $1 AND state <> 'ready' AND saga_started_at < $2", [machine, before])).rowCount === 1;
  }

  // --- images ---

  async createImage(image: Omit<ImageRow, "created_at">): Promise<ImageRow> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<ImageRow>(
        "INSERT INTO images (name, description, url, checksum_algorithm, checksum_digest) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING RETURNING *",
        [image.name, image.description, image.url, image.checksum_algorithm, image.checksum_digest],
      );
      if (!rows[0]) throw new AlreadyExistsError(IMAGE, image.name);
      await this.outbox(client, { topic: "image.created", key: `image/${image.name}`, payload: { image: image.name } });
      return rows[0];
    });
  }

  async getImage(name: string): Promise<ImageRow | undefined> {
    return (await this.pool.query<ImageRow>("SELECT * FROM images WHERE name = $1", [name])).rows[0];
  }

  /** A page of images in name order, after `page.after`. */
  async listImages(page: { after?: string; limit: number }): Promise<ImageRow[]> {
    return (await this.pool.query<ImageRow>("SELECT * FROM images WHERE ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2", [page.after ?? null, page.limit])).rows;
  }

  async deleteImage(name: string): Promise<ImageRow> {
    try {
      return await withTransaction(this.pool, async (client) => {
        const { rows } = await client.query<ImageRow>("DELETE FROM images WHERE name = $1 RETURNING *", [name]);
        if (!rows[0]) throw new NotFoundError(IMAGE, name);
        await this.outbox(client, { topic: "image.deleted", key: `image/${name}`, payload: { image: name } });
        return rows[0];
      });
    } catch (error) {
      if (sqlState(error) === SqlState.foreignKeyViolation) throw new FailedPreconditionError(`image ${name} is used by allocations`, { type: IMAGE, name });
      throw error;
    }
  }

  private async read(client: Pool | PoolClient, id: string, lock = false): Promise<MachineRow | undefined> {
    return (await this.readMany(client, [id], lock))[0];
  }

  /** Machines with their connections and allocations, in the order of `ids` (those that exist), in one query. */
  private async readMany(client: Pool | PoolClient, ids: readonly string[], lock = false): Promise<MachineRow[]> {
    if (ids.length === 0) return [];
    const { rows } = await client.query<Omit<MachineRow, "allocation"> & { allocation: Json<AllocationRow> | null }>(
      `SELECT ${machineColumns},
         (SELECT COALESCE(json_agg(json_build_object('nic', c.nic, 'nicMac', c.nic_mac, 'switch', c.switch, 'port', c.port) ORDER BY c.nic), '[]') FROM connections c WHERE c.machine = m.id) AS connections,
         (SELECT row_to_json(a) FROM (SELECT ${allocationColumns} FROM allocations WHERE machine = m.id) a) AS allocation
       FROM machines m WHERE m.id = ANY($1::text[])${lock ? " FOR UPDATE OF m" : ""}`,
      [ids],
    );
    const byId = new Map(rows.map((m) => [m.id, { ...m, allocation: m.allocation && allocationOf(m.allocation) }]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }
}

/** A row as `row_to_json` gives it: timestamps as text. */
type Json<T> = { [K in keyof T]: T[K] extends Date ? string : T[K] extends Date | null ? string | null : T[K] };

const dateOf = (text: string | null) => (text === null ? null : new Date(text));

function allocationOf(a: Json<AllocationRow>): AllocationRow {
  return { ...a, saga_started_at: dateOf(a.saga_started_at), allocated_at: new Date(a.allocated_at), installed_at: dateOf(a.installed_at) };
}

/** A concurrent call with the same request_id won; the caller re-reads and resumes. */
export class RequestIdTaken extends Error {}
