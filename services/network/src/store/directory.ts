// SQL for partitions, tenants and projects.
import { randomUUID } from "node:crypto";
import { SqlState, sqlState, uuidOrNull, violatedConstraint, withTransaction, type Pool } from "@bulkhead/db";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "@bulkhead/service-kit";
import type { Outbox } from "./common.js";

export interface PartitionRow {
  id: string;
  name: string;
  description: string;
  labels: Record<string, string>;
  dns_servers: string[];
  ntp_servers: string[];
  mgmt_service_addresses: string[];
  created_at: Date;
  updated_at: Date;
}

export interface TenantRow {
  id: string;
  name: string;
  description: string;
  labels: Record<string, string>;
  created_at: Date;
  updated_at: Date;
}

export interface ProjectRow extends TenantRow {
  tenant: string;
}

export type PartitionFields = Omit<PartitionRow, "created_at" | "updated_at">;
export type TenantFields = Omit<TenantRow, "created_at" | "updated_at">;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** Project ids are UUIDs; anything else names no project (and must not reach a ::uuid cast). */
export const isProjectId = (id: string) => uuidPattern.test(id);

const PARTITION = "bulkhead.network.v1.Partition";
const TENANT = "bulkhead.network.v1.Tenant";
const PROJECT = "bulkhead.network.v1.Project";

/** Labels in key order, to compare two sets. */
const sorted = (labels: Record<string, string>) => Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));

export class DirectoryStore {
  constructor(
    private readonly pool: Pool,
    private readonly outbox: Outbox,
  ) {}

  async createPartition(p: PartitionFields): Promise<PartitionRow> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<PartitionRow>(
        `INSERT INTO partitions (id, name, description, labels, dns_servers, ntp_servers, mgmt_service_addresses)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING *`,
        [p.id, p.name, p.description, p.labels, p.dns_servers, p.ntp_servers, p.mgmt_service_addresses],
      );
      if (!rows[0]) throw new AlreadyExistsError(PARTITION, p.id);
      await this.outbox(client, { topic: "partition.created", key: `partition/${p.id}`, payload: { partition: p.id } });
      return rows[0];
    });
  }

  async getPartition(id: string): Promise<PartitionRow | undefined> {
    return (await this.pool.query<PartitionRow>("SELECT * FROM partitions WHERE id = $1", [id])).rows[0];
  }

  /** A page of partitions in id order, after `page.after`. */
  async listPartitions(page: { after?: string; limit: number }): Promise<PartitionRow[]> {
    return (await this.pool.query<PartitionRow>("SELECT * FROM partitions WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2", [page.after ?? null, page.limit])).rows;
  }

  async updatePartition(id: string, change: (current: PartitionRow) => PartitionFields): Promise<PartitionRow> {
    return withTransaction(this.pool, async (client) => {
      const current = (await client.query<PartitionRow>("SELECT * FROM partitions WHERE id = $1 FOR UPDATE", [id])).rows[0];
      if (!current) throw new NotFoundError(PARTITION, id);
      const p = change(current);
      const { rows } = await client.query<PartitionRow>(
        `UPDATE partitions SET name = $2, description = $3, labels = $4, dns_servers = $5, ntp_servers = $6, mgmt_service_addresses = $7, updated_at = now()
         WHERE id = $1 RETURNING *`,
        [id, p.name, p.description, p.labels, p.dns_servers, p.ntp_servers, p.mgmt_service_addresses],
      );
      await this.outbox(client, { topic: "partition.updated", key: `partition/${id}`, payload: { partition: id } });
      return rows[0]!;
    });
  }

  async deletePartition(id: string): Promise<PartitionRow> {
    return this.deleteRow("partitions", PARTITION, id, "partition", "networks live in it");
  }

  async createTenant(t: TenantFields): Promise<TenantRow> {
    return withTransaction(this.pool, async (client) => {
      const { rows } = await client.query<TenantRow>("INSERT INTO tenants (id, name, description, labels) VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING RETURNING *", [t.id, t.name, t.description, t.labels]);
      if (!rows[0]) throw new AlreadyExistsError(TENANT, t.id);
      await this.outbox(client, { topic: "tenant.created", key: `tenant/${t.id}`, payload: { tenant: t.id } });
      return rows[0];
    });
  }

  async getTenant(id: string): Promise<TenantRow | undefined> {
    return (await this.pool.query<TenantRow>("SELECT * FROM tenants WHERE id = $1", [id])).rows[0];
  }

  /** A page of tenants in id order, after `page.after`. */
  async listTenants(page: { after?: string; limit: number }): Promise<TenantRow[]> {
    return (await this.pool.query<TenantRow>("SELECT * FROM tenants WHERE ($1::text IS NULL OR id > $1) ORDER BY id LIMIT $2", [page.after ?? null, page.limit])).rows;
  }

  async updateTenant(id: string, change: (current: TenantRow) => TenantFields): Promise<TenantRow> {
    return withTransaction(this.pool, async (client) => {
      const current = (await client.query<TenantRow>("SELECT * FROM tenants WHERE id = $1 FOR UPDATE", [id])).rows[0];
      if (!current) throw new NotFoundError(TENANT, id);
      const t = change(current);
      const { rows } = await client.query<TenantRow>("UPDATE tenants SET name = $2, description = $3, labels = $4, updated_at = now() WHERE id = $1 RETURNING *", [id, t.name, t.description, t.labels]);
      await this.outbox(client, { topic: "tenant.updated", key: `tenant/${id}`, payload: { tenant: id } });
      return rows[0]!;
    });
  }

  async deleteTenant(id: string): Promise<TenantRow> {
    return this.deleteRow("tenants", TENANT, id, "tenant", "it owns projects");
  }

  async createProject(p: { tenant: string; name: string; description: string; labels: Record<string, string>; requestId?: string }): Promise<ProjectRow> {
    if (p.requestId) {
      const existing = (await this.pool.query<ProjectRow>("SELECT id::text, tenant, name, description, labels, created_at, updated_at FROM projects WHERE request_id = $1", [p.requestId])).rows[0];
      if (existing) {
        // A replay is the same request; another one under the id is a mistake to say, not to hide.
        const same = existing.tenant === p.tenant && existing.name === p.name && existing.description === p.description && JSON.stringify(sorted(existing.labels)) === JSON.stringify(sorted(p.labels));
        if (!same) throw new AlreadyExistsError(PROJECT, p.requestId, `request_id ${p.requestId} was used for another project (${existing.id}); use a new request_id for a new request`);
        return existing;
      }
    }
    try {
      return await withTransaction(this.pool, async (client) => {
        const { rows } = await client.query<ProjectRow>(
          `INSERT INTO projects (id, tenant, name, description, labels, request_id) VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id::text, tenant, name, description, labels, created_at, updated_at`,
          [randomUUID(), p.tenant, p.name, p.description, p.labels, p.requestId ?? null],
        );
        const project = rows[0]!;
        await this.outbox(client, { topic: "project.created", key: `project/${project.id}`, payload: { project: project.id, tenant: p.tenant, labels: p.labels } });
        return project;
      });
    } catch (error) {
      if (sqlState(error) === SqlState.foreignKeyViolation) throw new NotFoundError(TENANT, p.tenant);
      if (violatedConstraint(error) === "projects_name_per_tenant") throw new AlreadyExistsError(PROJECT, p.name, `tenant ${p.tenant} already has a project named ${JSON.stringify(p.name)}`);
      if (violatedConstraint(error) === "projects_request_id_key") return this.createProject(p);
      throw error;
    }
  }

  async getProject(id: string): Promise<ProjectRow | undefined> {
    if (!isProjectId(id)) return undefined;
    return (await this.pool.query<ProjectRow>("SELECT id::text, tenant, name, description, labels, created_at, updated_at FROM projects WHERE id = $1::uuid", [id])).rows[0];
  }

  /** A page of the matching projects ordered by tenant and name, after `page.after` (a tenant and a name). */
  async listProjects(filter: { tenant?: string; labels: Record<string, string>; ids?: string[] }, page: { after?: string[]; limit: number }): Promise<ProjectRow[]> {
    const { rows } = await this.pool.query<ProjectRow>(
      `SELECT id::text, tenant, name, description, labels, created_at, updated_at FROM projects
       WHERE ($1::text IS NULL OR tenant = $1) AND labels @> $2 AND ($3::uuid[] IS NULL OR id = ANY($3::uuid[]))
         AND ($4::text IS NULL OR (tenant, name) > ($4, $5::text))
       ORDER BY tenant, name LIMIT $6`,
      [filter.tenant ?? null, filter.labels, filter.ids ? filter.ids.flatMap((id) => uuidOrNull(id) ?? []) : null, page.after?.[0] ?? null, page.after?.[1] ?? null, page.limit],
    );
    return rows;
  }

  async updateProject(id: string, change: (current: ProjectRow) => TenantFields): Promise<ProjectRow> {
    if (!isProjectId(id)) throw new NotFoundError(PROJECT, id);
    return withTransaction(this.pool, async (client) => {
      const current = (await client.query<ProjectRow>("SELECT id::text, tenant, name, description, labels, created_at, updated_at FROM projects WHERE id = $1::uuid FOR UPDATE", [id])).rows[0];
      if (!current) throw new NotFoundError(PROJECT, id);
      const p = change(current);
      try {
        const { rows } = await client.query<ProjectRow>(
          "UPDATE projects SET name = $2, description = $3, labels = $4, updated_at = now() WHERE id = $1::uuid RETURNING id::text, tenant, name, description, labels, created_at, updated_at",
          [id, p.name, p.description, p.labels],
        );
        await this.outbox(client, { topic: "project.updated", key: `project/${id}`, payload: { project: id, tenant: current.tenant, labels: p.labels } });
        return rows[0]!;
      } catch (error) {
        if (violatedConstraint(error) === "projects_name_per_tenant") throw new AlreadyExistsError(PROJECT, p.name, `tenant ${current.tenant} already has a project named ${JSON.stringify(p.name)}`);
        throw error;
      }
    });
  }

  async deleteProject(id: string): Promise<ProjectRow> {
    if (!isProjectId(id)) throw new NotFoundError(PROJECT, id);
    return this.deleteRow("projects", PROJECT, id, "project", "it owns networks or IPs", "id::text, tenant, name, description, labels, created_at, updated_at", "::uuid");
  }

  private async deleteRow<T>(table: string, type: string, id: string, kind: string, inUse: string, columns = "*", cast = ""): Promise<T> {
    try {
      return await withTransaction(this.pool, async (client) => {
        const { rows } = await client.query(`DELETE FROM ${table} WHERE id = $1${cast} RETURNING ${columns}`, [id]);
        if (!rows[0]) throw new NotFoundError(type, id);
        await this.outbox(client, { topic: `${kind}.deleted`, key: `${kind}/${id}`, payload: { [kind]: id } });
        return rows[0] as T;
      });
    } catch (error) {
      if (sqlState(error) === SqlState.foreignKeyViolation) throw new FailedPreconditionError(`${kind} ${id} cannot be deleted while ${inUse}`, { type, name: id });
      throw error;
    }
  }
}
