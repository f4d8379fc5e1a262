// All of IPAM's SQL. Mutations are single calls of the functions in migrations/001_ipam.sql;
// their BHxxx errors become typed domain errors here.
import type { Pool } from "@bulkhead/db";
import { SqlState, sqlState, violatedConstraint } from "@bulkhead/db";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError } from "@bulkhead/service-kit";

export interface NamespaceRow {
  name: string;
  created_at: Date;
}

export interface PrefixRow {
  id: string;
  namespace: string;
  cidr: string;
  parent_cidr: string | null;
  use: 0 | 1 | 2;
  request_id: string | null;
  created_at: Date;
}

export interface IpRow {
  namespace: string;
  ip: string;
  prefix_cidr: string;
  request_id: string | null;
  created_at: Date;
}

/** What usage is computed from, for one prefix. */
export interface UsageFacts {
  prefix: PrefixRow;
  acquiredIps: bigint;
  children: bigint;
  /** Free blocks of a parent prefix: prefix length → how many. */
  freeBlocks: Map<number, bigint>;
  largestFreeBlock: string | undefined;
}

const resourceTypes: Record<string, string> = { namespace: "bulkhead.ipam.v1.Namespace", prefix: "bulkhead.ipam.v1.Prefix", ip: "bulkhead.ipam.v1.IP" };

/** Translates the functions' BHxxx errors; anything else is rethrown unchanged. */
function translate(error: unknown): never {
  const state = sqlState(error);
  const { message, detail } = error as { message: string; detail?: string };
  const [kind = "", name = ""] = (detail ?? "").split("|");
  switch (state) {
    case "BH400":
      throw new InvalidArgumentError(kind, message);
    case "BH404":
      throw new NotFoundError(resourceTypes[kind] ?? kind, name, message);
    case "BH409":
      throw new AlreadyExistsError(resourceTypes[kind] ?? kind, name, message);
    case "BH412":
      throw new FailedPreconditionError(message, { type: resourceTypes[kind] ?? kind, name });
    case "BH429":
      throw new ResourceExhaustedError(message);
    case SqlState.foreignKeyViolation:
      throw new NotFoundError(resourceTypes.prefix!, "", "the prefix was deleted while the call ran");
  }
  throw error;
}

const prefixColumns = `p.id, p.namespace, p.cidr::text AS cidr, parent.cidr::text AS parent_cidr, p.use, p.request_id, p.created_at`;

export class IpamStore {
  constructor(private readonly pool: Pool) {}

  async createNamespace(name: string): Promise<NamespaceRow> {
    const { rows } = await this.pool.query<NamespaceRow>(
      `WITH inserted AS (INSERT INTO namespaces (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING *)
       SELECT * FROM inserted UNION ALL SELECT * FROM namespaces WHERE name = $1 LIMIT 1`,
      [name],
    );
    return rows[0]!;
  }

  /** A page of namespaces in name order, after `page.after`. */
  async listNamespaces(page: { after?: string; limit: number }): Promise<NamespaceRow[]> {
    return (await this.pool.query<NamespaceRow>("SELECT * FROM namespaces WHERE ($1::text IS NULL OR name > $1) ORDER BY name LIMIT $2", [page.after ?? null, page.limit])).rows;
  }

  async deleteNamespace(name: string): Promise<void> {
    try {
      const { rowCount } = await this.pool.query("DELETE FROM namespaces WHERE name = $1", [name]);
      if (rowCount === 0) throw new NotFoundError(resourceTypes.namespace!, name);
    } catch (error) {
      if (sqlState(error) === SqlState.foreignKeyViolation) throw new FailedPreconditionError(`namespace ${name} still holds prefixes; delete them first`, { type: resourceTypes.namespace!, name });
      throw error;
    }
  }

  async createPrefix(namespace: string, cidr: string): Promise<PrefixRow> {
    try {
      const { rows } = await this.pool.query<PrefixRow>(
        `WITH p AS (INSERT INTO prefixes (namespace, cidr) VALUES ($1, $2) RETURNING *)
         SELECT ${prefixColumns} FROM p LEFT JOIN prefixes parent ON false`,
        [namespace, cidr],
      );
      return rows[0]!;
    } catch (error) {
      const state = sqlState(error);
      if (state === SqlState.foreignKeyViolation) throw new NotFoundError(resourceTypes.namespace!, namespace);
      if (state === SqlState.exclusionViolation || state === SqlState.uniqueViolation) {
        const { rows } = await this.pool.query<{ cidr: string }>("SELECT cidr::text FROM prefixes WHERE namespace = $1 AND parent_id IS NULL AND cidr && $2 ORDER BY cidr LIMIT 1", [namespace, cidr]);
        const existing = rows[0]?.cidr ?? cidr;
        throw new AlreadyExistsError(resourceTypes.prefix!, existing, existing === cidr ? `prefix ${cidr} already exists in namespace ${namespace}` : `prefix ${cidr} overlaps prefix ${existing} in namespace ${namespace}`);
      }
      throw error;
    }
  }

  async getPrefix(namespace: string, cidr: string): Promise<PrefixRow | undefined> {
    const { rows } = await this.pool.query<PrefixRow>({
      name: "ipam_get_prefix",
      text: `SELECT ${prefixColumns} FROM prefixes p LEFT JOIN prefixes parent ON parent.id = p.parent_id WHERE p.namespace = $1 AND p.cidr = $2`,
      values: [namespace, cidr],
    });
    return rows[0];
  }

  async namespaceExists(namespace: string): Promise<boolean> {
    return (await this.pool.query("SELECT 1 FROM namespaces WHERE name = $1", [namespace])).rowCount === 1;
  }

  /** Prefixes ordered by address, after `after` (exclusive). */
  async listPrefixes(namespace: string, filter: { parentCidr?: string; topLevelOnly: boolean; family?: 4 | 6; requestId?: string; after?: string; limit: number }): Promise<PrefixRow[]> {
    const { rows } = await this.pool.query<PrefixRow>(
      `SELECT ${prefixColumns} FROM prefixes p LEFT JOIN prefixes parent ON parent.id = p.parent_id
       WHERE p.namespace = $1
         AND ($2::cidr IS NULL OR parent.cidr = $2)
         AND (NOT $3 OR p.parent_id IS NULL)
         AND ($4::int IS NULL OR family(p.cidr) = $4)
         AND ($5::cidr IS NULL OR p.cidr > $5)
         AND ($7::text IS NULL OR p.request_id = $7)
       ORDER BY p.cidr LIMIT $6`,
      [namespace, filter.parentCidr ?? null, filter.topLevelOnly, filter.family ?? null, filter.after ?? null, filter.limit, filter.requestId ?? null],
    );
    return rows;
  }

  async deletePrefix(namespace: string, cidr: string): Promise<PrefixRow> {
    return this.callPrefixFunction("SELECT * FROM delete_prefix($1, $2)", [namespace, cidr]);
  }

  async acquireChildPrefix(namespace: string, parentCidr: string, target: { length?: number; cidr?: string }, requestId: string | undefined): Promise<PrefixRow> {
    return this.callPrefixFunction("SELECT * FROM acquire_child_prefix($1, $2, $3, $4, $5)", [namespace, parentCidr, target.length ?? null, target.cidr ?? null, requestId ?? null], "ipam_acquire_child");
  }

  async releaseChildPrefix(namespace: string, cidr: string): Promise<PrefixRow> {
    return this.callPrefixFunction("SELECT * FROM release_child_prefix($1, $2)", [namespace, cidr], "ipam_release_child");
  }

  async acquireIp(namespace: string, prefixCidr: string, ip: string | undefined, requestId: string | undefined): Promise<IpRow> {
    return this.callIpFunction(
      "ipam_acquire_ip",
      "SELECT i.namespace, host(i.ip) AS ip, $2::cidr::text AS prefix_cidr, i.request_id, i.created_at FROM acquire_ip($1, $2, $3, $4) i",
      [namespace, prefixCidr, ip ?? null, requestId ?? null],
    );
  }

  async releaseIp(namespace: string, ip: string, prefixCidr: string | undefined): Promise<IpRow> {
    return this.callIpFunction(
      "ipam_release_ip",
      "SELECT i.namespace, host(i.ip) AS ip, (SELECT p.cidr::text FROM prefixes p WHERE p.id = i.prefix_id) AS prefix_cidr, i.request_id, i.created_at FROM release_ip($1, $2, $3) i",
      [namespace, ip, prefixCidr ?? null],
    );
  }

  /** Addresses of a pool prefix in address order: a range scan of the primary key. */
  async listIps(namespace: string, prefixCidr: string, filter: { requestId?: string; after?: string; limit: number }): Promise<IpRow[]> {
    const { rows } = await this.pool.query<IpRow>(
      `SELECT i.namespace, host(i.ip) AS ip, $2::cidr::text AS prefix_cidr, i.request_id, i.created_at FROM ips i
       WHERE i.namespace = $1 AND i.ip <<= $2::cidr AND ($3::inet IS NULL OR i.ip > $3) AND ($5::text IS NULL OR i.request_id = $5)
       ORDER BY i.ip LIMIT $4`,
      [namespace, prefixCidr, filter.after ?? null, filter.limit, filter.requestId ?? null],
    );
    return rows;
  }

  async usageFacts(namespace: string, cidrs: readonly string[]): Promise<Map<string, UsageFacts>> {
    const { rows } = await this.pool.query<PrefixRow & {
      acquired_ips: string;
      children: string;
      free_blocks: Record<string, string> | null;
      largest_free_block: string | null;
    }>(
      `SELECT ${prefixColumns},
         (SELECT coalesce(sum(b.used), 0) FROM ip_blocks b WHERE b.prefix_id = p.id) AS acquired_ips,
         (SELECT count(*) FROM prefixes c WHERE c.parent_id = p.id) AS children,
         (SELECT jsonb_object_agg(len, n) FROM (SELECT masklen(block) AS len, count(*) AS n FROM free_blocks WHERE parent_id = p.id GROUP BY 1) f) AS free_blocks,
         (SELECT f.block::text FROM free_blocks f WHERE f.parent_id = p.id ORDER BY masklen(f.block), f.block LIMIT 1) AS largest_free_block
       FROM prefixes p LEFT JOIN prefixes parent ON parent.id = p.parent_id
       WHERE p.namespace = $1 AND p.cidr = ANY($2::cidr[])`,
      [namespace, cidrs],
    );
    return new Map(
      rows.map((row) => [
        row.cidr,
        {
          prefix: row,
          acquiredIps: BigInt(row.acquired_ips),
          children: BigInt(row.children),
          freeBlocks: new Map(Object.entries(row.free_blocks ?? {}).map(([len, n]) => [Number(len), BigInt(n)])),
          largestFreeBlock: row.largest_free_block ?? undefined,
        },
      ]),
    );
  }

  private async callPrefixFunction(sql: string, values: unknown[], name?: string, retried = false): Promise<PrefixRow> {
    try {
      const { rows } = await this.pool.query<PrefixRow>({
        name,
        text: `WITH p AS (${sql}) SELECT ${prefixColumns} FROM p LEFT JOIN prefixes parent ON parent.id = p.parent_id`,
        values,
      });
      return rows[0]!;
    } catch (error) {
      if (!retried && sqlState(error) === SqlState.uniqueViolation && violatedConstraint(error) === "prefixes_request_id") {
        return this.callPrefixFunction(sql, values, name, true);
      }
      translate(error);
    }
  }

  private async callIpFunction(name: string, text: string, values: unknown[], retried = false): Promise<IpRow> {
    try {
      const { rows } = await this.pool.query<IpRow>({ name, text, values });
      return rows[0]!;
    } catch (error) {
      // Two calls with the same request_id raced; the repeat returns the winner's address.
      if (!retried && sqlState(error) === SqlState.uniqueViolation && violatedConstraint(error) === "ips_request_id") {
        return this.callIpFunction(name, text, values, true);
      }
      translate(error);
    }
  }
}
