// SQL for switches, their ports and the connection map.
import { SqlState, sqlState, withTransaction, type Pool, type PoolClient } from "@bulkhead/db";
import { FailedPreconditionError, NotFoundError, groupBy } from "@bulkhead/service-kit";
import { SwitchRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import type { Outbox } from "./outbox.js";

export interface PortRow {
  switch: string;
  name: string;
  identifier: string;
  mac: string;
  mtu: number;
  breakout: string;
  uplink: boolean;
  admin_state: 1 | 2;
  oper_state: 0 | 1 | 2;
  bgp: BgpState | null;
}

export interface BgpState {
  neighbor: string;
  peerGroup: string;
  vrf: string;
  state: number;
  establishedAt?: string;
  acceptedPrefixes: number;
  sentPrefixes: number;
}

export interface SwitchRow {
  id: string;
  partition: string;
  rack: string;
  role: 1 | 2 | 3;
  asn: number;
  router_id: string;
  management_ip: string | null;
  os_vendor: string;
  os_version: string;
  /** eth0 in the mgmt VRF; null: DHCP. */
  management: { address: string; gateway: string; routes: string[] } | null;
  pxe_address: string;
  agent_version: string;
  lldp_neighbors: { port: string; chassisId: string; systemName: string; portId: string; portDescription: string }[];
  running_config_hash: string;
  last_heartbeat_at: Date | null;
  created_at: Date;
  updated_at: Date;
  ports: PortRow[];
}

export interface ConnectionRow {
  machine: string;
  nic: string;
  nic_mac: string;
  switch: string;
  port: string;
}

export type SwitchFields = Pick<SwitchRow, "id" | "partition" | "rack" | "role" | "asn" | "router_id" | "management_ip" | "os_vendor" | "os_version" | "management" | "pxe_address" | "agent_version">;
export type PortFields = Pick<PortRow, "name" | "identifier" | "mac" | "mtu" | "breakout" | "uplink">;

export const SWITCH = "bulkhead.inventory.v1.Switch";
const switchColumns = `id, partition, rack, role, asn::float8 AS asn, host(router_id) AS router_id, host(management_ip) AS management_ip, os_vendor, os_version,
  management, pxe_address, agent_version, lldp_neighbors, running_config_hash, last_heartbeat_at, created_at, updated_at`;

export class SwitchStore {
  constructor(
    private readonly pool: Pool,
    private readonly outbox: Outbox,
  ) {}

  /**
   * Records a switch as its agent sees it. Ports keep their administrative and observed state;
   * a port that disappears must not have a machine cabled to it.
   */
  async register(sw: SwitchFields, ports: readonly PortFields[]): Promise<SwitchRow> {
    return withTransaction(this.pool, async (client) => {
      const before = await this.read(client, sw.id, true);
      await client.query(
        `INSERT INTO switches (id, partition, rack, role, asn, router_id, management_ip, os_vendor, os_version, agent_version, management, pxe_address)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         ON CONFLICT (id) DO UPDATE SET partition = $2, rack = $3, role = $4, asn = $5, router_id = $6, management_ip = $7, os_vendor = $8, os_version = $9,
           agent_version = $10, management = $11, pxe_address = $12, updated_at = now()`,
        [sw.id, sw.partition, sw.rack, sw.role, sw.asn, sw.router_id, sw.management_ip, sw.os_vendor, sw.os_version, sw.agent_version, sw.management, sw.pxe_address],
      );
      try {
        await client.query("DELETE FROM switch_ports WHERE switch = $1 AND NOT (name = ANY($2::text[]))", [sw.id, ports.map((p) => p.name)]);
      } catch (error) {
        if (sqlState(error) === SqlState.foreignKeyViolation) throw new FailedPreconditionError(`a port of ${sw.id} that has a machine cabled to it is missing from the registration`, { type: SWITCH, name: sw.id });
        throw error;
      }
      // Identifiers may move between ports: clear them first so the unique constraint holds.
      await client.query("UPDATE switch_ports SET identifier = '~' || name WHERE switch = $1", [sw.id]);
      await client.query(
        `INSERT INTO switch_ports (switch, name, identifier, mac, mtu, breakout, uplink)
         SELECT $1, name, identifier, mac, mtu, breakout, uplink FROM jsonb_to_recordset($2::jsonb) AS p(name text, identifier text, mac text, mtu int, breakout text, uplink boolean)
         ON CONFLICT (switch, name) DO UPDATE SET identifier = EXCLUDED.identifier, mac = EXCLUDED.mac, mtu = EXCLUDED.mtu, breakout = EXCLUDED.breakout, uplink = EXCLUDED.uplink`,
        [sw.id, JSON.stringify(ports.map(({ name, identifier, mac, mtu, breakout, uplink }) => ({ name, identifier, mac, mtu, breakout, uplink })))],
      );
      const after = (await this.read(client, sw.id))!;
      if (!before || describe(before) !== describe(after)) {
        await this.outbox(client, { topic: before ? "switch.updated" : "switch.registered", key: `switch/${sw.id}`, payload: { switch: sw.id, partition: sw.partition, role: sw.role } });
      }
      return after;
    });
  }

  async heartbeat(
    id: string,
    report: { ports: { name: string; oper_state: 0 | 1 | 2; bgp: BgpState | null }[]; lldp: SwitchRow["lldp_neighbors"]; runningConfigHash: string; agentVersion: string },
  ): Promise<void> {
    // One statement (agents report every few seconds): the switch and its ports' states together.
    const { rowCount } = await this.pool.query(
      `WITH sw AS (
         UPDATE switches SET lldp_neighbors = $2, running_config_hash = $3, agent_version = $4, last_heartbeat_at = now() WHERE id = $1 RETURNING id
       ), ports AS (
         UPDATE switch_ports p SET oper_state = r.oper_state, bgp = r.bgp FROM jsonb_to_recordset($5::jsonb) AS r(name text, oper_state smallint, bgp jsonb), sw
         WHERE p.switch = sw.id AND p.name = r.name AND (p.oper_state, p.bgp) IS DISTINCT FROM (r.oper_state, r.bgp)
       )
       SELECT id FROM sw`,
      [id, JSON.stringify(report.lldp), report.runningConfigHash, report.agentVersion, JSON.stringify(report.ports)],
    );
    if (rowCount === 0) throw new NotFoundError(SWITCH, id, `switch ${id} is not registered; register it first`);
  }

  /** The registered switches among `ids` with their connection maps (port → machine), in the order of `ids`. */
  async cabled(ids: readonly string[]): Promise<{ sw: SwitchRow; connections: Map<string, string> }[]> {
    const switches = await this.readMany(this.pool, ids);
    const { rows } = await this.pool.query<{ switch: string; port: string; machine: string }>("SELECT switch, port, machine FROM connections WHERE switch = ANY($1::text[])", [switches.map((s) => s.id)]);
    const bySwitch = groupBy(rows, (c) => c.switch);
    return switches.map((sw) => ({ sw, connections: new Map((bySwitch.get(sw.id) ?? []).map((c) => [c.port, c.machine])) }));
  }

  /** The leaf or exit switch of the partition other than `except` whose router id (its VTEP) is `routerId`. */
  async vtepHolder(partition: string, routerId: string, except: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ id: string }>("SELECT id FROM switches WHERE partition = $1 AND router_id = $2::inet AND id <> $3 AND role IN ($4, $5) LIMIT 1", [partition, routerId, except, SwitchRole.LEAF, SwitchRole.EXIT]);
    return rows[0]?.id;
  }

  async get(id: string): Promise<SwitchRow | undefined> {
    return this.read(this.pool, id);
  }

  /** Switches by filter, ordered by id; a page of them after `page.after` (all without `page`). */
  async list(filter: { partition?: string; rack?: string; role?: number }, page?: { after?: string; limit: number }): Promise<SwitchRow[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      "SELECT id FROM switches WHERE ($1::text IS NULL OR partition = $1) AND ($2::text IS NULL OR rack = $2) AND ($3::int IS NULL OR role = $3) AND ($4::text IS NULL OR id > $4) ORDER BY id LIMIT $5",
      [filter.partition ?? null, filter.rack ?? null, filter.role ?? null, page?.after ?? null, page?.limit ?? null],
    );
    return this.readMany(this.pool, rows.map((r) => r.id));
  }


  async delete(id: string): Promise<SwitchRow> {
    try {
      return await withTransaction(this.pool, async (client) => {
        const row = await this.read(client, id, true);
        if (!row) throw new NotFoundError(SWITCH, id);
        await client.query("DELETE FROM switches WHERE id = $1", [id]);
        await this.outbox(client, { topic: "switch.deleted", key: `switch/${id}`, payload: { switch: id, partition: row.partition } });
        return row;
      });
    } catch (error) {
      if (sqlState(error) === SqlState.foreignKeyViolation) throw new FailedPreconditionError(`machines are cabled to switch ${id}; it cannot be deleted`, { type: SWITCH, name: id });
      throw error;
    }
  }

  async setAdminState(id: string, port: string, state: 1 | 2): Promise<SwitchRow> {
    return withTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query("UPDATE switch_ports SET admin_state = $3 WHERE switch = $1 AND name = $2", [id, port, state]);
      if (rowCount === 0) throw new NotFoundError("bulkhead.inventory.v1.SwitchPort", `${id}/${port}`, `switch ${id} has no port ${port}`);
      const row = (await this.read(client, id))!;
      await this.outbox(client, { topic: "switch.port.changed", key: `switch/${id}`, payload: { switch: id, partition: row.partition, port } });
      return row;
    });
  }

  /** The matching connections by switch and port: all, or a page after `page.after` (a switch and a port). */
  async connections(filter: { partition?: string; switch?: string; machine?: string }, page?: { after?: string[]; limit: number }): Promise<ConnectionRow[]> {
    const { rows } = await this.pool.query<ConnectionRow>(
      `SELECT c.machine, c.nic, c.nic_mac, c.switch, c.port FROM connections c JOIN switches s ON s.id = c.switch
       WHERE ($1::text IS NULL OR s.partition = $1) AND ($2::text IS NULL OR c.switch = $2) AND ($3::text IS NULL OR c.machine = $3)
         AND ($4::text IS NULL OR (c.switch, c.port) > ($4, $5::text))
       ORDER BY c.switch, c.port LIMIT $6`,
      [filter.partition ?? null, filter.switch ?? null, filter.machine ?? null, page?.after?.[0] ?? null, page?.after?.[1] ?? null, page?.limit ?? null],
    );
    return rows;
  }

  private async read(client: Pool | PoolClient, id: string, lock = false): Promise<SwitchRow | undefined> {
    return (await this.readMany(client, [id], lock))[0];
  }

  /** Switches with their ports, in the order of `ids` (those that exist), in two queries. */
  private async readMany(client: Pool | PoolClient, ids: readonly string[], lock = false): Promise<SwitchRow[]> {
    if (ids.length === 0) return [];
    const switches = (await client.query<Omit<SwitchRow, "ports">>(`SELECT ${switchColumns} FROM switches WHERE id = ANY($1::text[])${lock ? " FOR UPDATE" : ""}`, [ids])).rows;
    const ports = groupBy((await client.query<PortRow>("SELECT * FROM switch_ports WHERE switch = ANY($1::text[]) ORDER BY switch, name", [ids])).rows, (p) => p.switch);
    const byId = new Map(switches.map((sw) => [sw.id, { ...sw, ports: ports.get(sw.id) ?? [] }]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }
}

/** What a registration may change, to tell whether anything did. */
function describe(sw: SwitchRow): string {
  return JSON.stringify([sw.partition, sw.rack, sw.role, sw.asn, sw.router_id, sw.os_vendor, sw.os_version, sw.management, sw.pxe_address, sw.ports.map((p) => [p.name, p.identifier, p.mtu, p.breakout, p.uplink])]);
}
