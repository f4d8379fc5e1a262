// SQL for devices and their revisions. Status transitions are single conditional UPDATEs, so
// concurrent renders, pushes and heartbeats of one device cannot undo each other's newer facts.
import { withTransaction, type Pool } from "@bulkhead/db";
import type { RevisionFile } from "@bulkhead/render";
import type { Finding } from "@bulkhead/verify";
import type { Withheld } from "./cutback.js";
import { RecordsPart, type RecordsChange } from "./records-changes.js";

export const enum DeviceKind {
  Unknown = 0,
  Leaf = 1,
  Spine = 2,
  Exit = 3,
  Firewall = 4,
}

export const enum SyncState {
  InSync = 1,
  Pending = 2,
  Failed = 3,
  Drifted = 4,
  Rejected = 5,
}

/** A verification finding: syntax (vtysh, nft) or isolation (libs/verify). */
export type { Finding } from "@bulkhead/verify";

export interface Verification {
  passed: boolean;
  checks: string[];
  findings: Finding[];
}

export interface DeviceRow {
  device: string;
  kind: DeviceKind;
  partition: string;
  state: SyncState;
  desired_generation: number;
  desired_hash: string;
  applied_generation: number;
  applied_hash: string;
  running_hash: string;
  last_error: string;
  blocked_generation: number;
  endpoint: string;
  vrfs: number[];
  projects: string[];
  vlans: Record<string, number>;
  pushes: number;
  refused_hash: string;
  withheld: string[];
  /** The records (machine, firewall, peering, network ids) whose grants `withheld` names. */
  withheld_records: string[];
  /** Newest first, at most DEAD_LETTERS_KEPT. */
  dead_letters: { generation: number; reason: string; failedAt: string }[];
  last_heartbeat_at: Date | null;
  updated_at: Date;
}

export interface RevisionRow {
  device: string;
  generation: number;
  hash: string;
  files: RevisionFile[];
  verification: Verification;
  rejected: boolean;
  /** The model it was rendered from (switch or firewall), for cutting back a later refused render. */
  model: unknown;
  created_at: Date;
}

export interface Rendered {
  kind: DeviceKind;
  partition: string;
  files: RevisionFile[];
  hash: string;
  verification: Verification;
  vrfs: number[];
  projects: string[];
  /** `project/network` of each machine port (a firewall: `project/*`). */
  projectNetworks: string[];
  vlans: Record<string, number>;
  model?: unknown;
}

/** A refused render's verified part: what is pushed instead, and what it withholds. */
export interface CutBack {
  rendered: Rendered;
  withheld: Withheld[];
}

/** Dead letters a device keeps. */
const DEAD_LETTERS_KEPT = 10;

const deviceColumns = `device, kind, partition, state, desired_generation::float8 AS desired_generation, desired_hash, applied_generation::float8 AS applied_generation,
  applied_hash, running_hash, last_error, blocked_generation::float8 AS blocked_generation, endpoint, vrfs, projects, vlans, pushes, refused_hash, withheld, withheld_records, dead_letters, last_heartbeat_at, updated_at`;
const revisionColumns = "device, generation::float8 AS generation, hash, files, verification, rejected, model, created_at";

export class ReconcilerStore {
  constructor(private readonly pool: Pool) {}

  async device(device: string, client: Pick<Pool, "query"> = this.pool): Promise<DeviceRow | undefined> {
    return (await client.query<DeviceRow>(`SELECT ${deviceColumns} FROM devices WHERE device = $1`, [device])).rows[0];
  }

  /** Devices by filter, ordered by device; a page of them after `page.after` (all without `page`). */
  async devices(filter: { partition?: string; state?: number; kind?: number; record?: string; project?: string } = {}, page?: { after?: string; limit: number }): Promise<DeviceRow[]> {
    const { rows } = await this.pool.query<DeviceRow>(
      `SELECT ${deviceColumns} FROM devices WHERE ($1::text IS NULL OR partition = $1) AND ($2::int IS NULL OR state = $2) AND ($3::int IS NULL OR kind = $3) AND ($4::text IS NULL OR $4 = ANY(withheld_records)) AND ($5::text IS NULL OR $5 = ANY(projects))
         AND ($6::text IS NULL OR device > $6) ORDER BY device LIMIT $7`,
      [filter.partition ?? null, filter.state ?? null, filter.kind ?? null, filter.record ?? null, filter.project ?? null, page?.after ?? null, page?.limit ?? null],
    );
    return rows;
  }

  /**
   * Devices whose last render carried one of the VRFs, served one of the projects, or had a port
   * of an address's project on another network than the address's.
   */
  async devicesTouching(vrfs: readonly number[], projects: readonly string[], addresses: readonly { project: string; network: string }[] = []): Promise<string[]> {
    if (vrfs.length === 0 && projects.length === 0 && addresses.length === 0) return [];
    const { rows } = await this.pool.query<{ device: string }>(
      `SELECT device FROM devices WHERE vrfs && $1::int[] OR projects && $2::text[]
         OR EXISTS (SELECT 1 FROM unnest(project_networks) pn, unnest($3::text[], $4::text[]) AS a(project, network)
                    WHERE split_part(pn, '/', 1) = a.project AND split_part(pn, '/', 2) <> a.network)`,
      [vrfs, projects, addresses.map((a) => a.project), addresses.map((a) => a.network)],
    );
    return rows.map((r) => r.device);
  }

  /** The firewalls serving `project`: as their last render carried it, or as their allocation announced it. */
  async firewallsServing(project: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ device: string }>("SELECT device FROM devices WHERE kind = $1 AND $2 = ANY(projects) ORDER BY device", [DeviceKind.Firewall, project]);
    return rows.map((r) => r.device);
  }

  /**
   * A firewall allocated to `project`, recorded before its first render is queued: every later
   * fan-out of the project's changes finds it (an earlier one happened before its render reads).
   */
  async announceFirewall(device: string, partition: string, project: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO devices (device, kind, partition, projects) VALUES ($1, $2, $3, ARRAY[$4])
       ON CONFLICT (device) DO UPDATE SET kind = $2, projects = CASE WHEN $4 = ANY(devices.projects) THEN devices.projects ELSE devices.projects || $4 END`,
      [device, DeviceKind.Firewall, partition, project],
    );
  }

  /** Makes sure a device row exists (a render or a heartbeat of a device seen for the first time). */
  async ensure(device: string): Promise<void> {
    await this.pool.query("INSERT INTO devices (device) VALUES ($1) ON CONFLICT DO NOTHING", [device]);
  }

  async forget(device: string): Promise<void> {
    await this.pool.query("DELETE FROM devices WHERE device = $1", [device]);
  }

  /**
   * Stores a render. Unchanged content stores nothing. A render that passed verification becomes
   * the desired revision. One that failed is kept as a rejected revision for inspection and its
   * cut-back (the verified part) becomes the desired one instead, the device REJECTED with what
   * was withheld. Returns the device afterwards and whether the desired revision changed.
   */
  async record(device: string, r: Rendered, cut?: CutBack): Promise<{ row: DeviceRow; changed: boolean }> {
    const facts = [device, r.kind, r.partition, r.vrfs, r.projects, r.projectNetworks, JSON.stringify(r.vlans)];
    const setFacts = "UPDATE devices SET kind = $2, partition = $3, vrfs = $4, projects = $5, project_networks = $6, vlans = $7";
    // Most renders change nothing (every resync, every device a change only may touch): one statement.
    if (r.verification.passed) {
      const same = await this.pool.query<DeviceRow>(`${setFacts} WHERE device = $1 AND desired_hash = $8 AND refused_hash = '' RETURNING ${deviceColumns}`, [...facts, r.hash]);
      if (same.rows[0]) return { row: same.rows[0], changed: false };
    }
    return withTransaction(this.pool, async (client) => {
      await client.query("INSERT INTO devices (device) VALUES ($1) ON CONFLICT DO NOTHING", [device]);
      const current = (await client.query<DeviceRow>(`SELECT ${deviceColumns} FROM devices WHERE device = $1 FOR UPDATE`, [device])).rows[0]!;
      await client.query(`${setFacts} WHERE device = $1`, facts);
      const latest = async () => (await client.query<{ hash: string; generation: number }>("SELECT hash, generation::float8 AS generation FROM revisions WHERE device = $1 ORDER BY generation DESC LIMIT 1", [device])).rows[0];
      const insert = async (x: Rendered, rejected: boolean) => {
        const generation = ((await latest())?.generation ?? 0) + 1;
        await client.query("INSERT INTO revisions (device, generation, hash, files, verification, rejected, model) VALUES ($1, $2, $3, $4, $5, $6, $7)", [device, generation, x.hash, JSON.stringify(x.files), JSON.stringify(x.verification), rejected, x.model === undefined ? null : JSON.stringify(x.model)]);
        // Keep the last 20 revisions (and the desired and applied ones).
        await client.query("DELETE FROM revisions WHERE device = $1 AND generation <= $2 - 20 AND generation NOT IN ($3, $4)", [device, generation, current.desired_generation, current.applied_generation]);
        return generation;
      };
      const desire = async (x: Rendered) => {
        const generation = await insert(x, false);
        const inSync = current.applied_hash === x.hash && current.running_hash === x.hash;
        await client.query("UPDATE devices SET desired_generation = $2, desired_hash = $3, state = $4, updated_at = now() WHERE device = $1", [device, generation, x.hash, inSync && !cut ? 1 : cut ? 5 : 2]);
      };
      if (r.verification.passed) {
        const unchanged = current.desired_hash === r.hash && current.refused_hash === "";
        if (!unchanged) {
          if ((await latest())?.hash !== r.hash || current.desired_hash !== r.hash) await desire(r);
          await client.query("UPDATE devices SET refused_hash = '', withheld = '{}', withheld_records = '{}', last_error = '', state = CASE WHEN applied_hash = desired_hash AND running_hash = desired_hash THEN 1 ELSE 2 END WHERE device = $1", [device]);
        }
        return { row: (await this.device(device, client))!, changed: !unchanged };
      }
      if (current.refused_hash === r.hash && (!cut || current.desired_hash === cut.rendered.hash)) return { row: (await this.device(device, client))!, changed: false };
      if ((await latest())?.hash !== r.hash) await insert(r, true);
      const reason = r.verification.findings.map((f) => `${f.path}${f.line ? `:${f.line}` : ""}: ${f.object ? `${f.object}: ` : ""}${f.message}`).join("; ");
      const changed = cut !== undefined && cut.rendered.hash !== current.desired_hash;
      if (cut && changed) await desire(cut.rendered);
      const withheld = (cut?.withheld ?? []).map((w) => w.grant);
      const records = [...new Set((cut?.withheld ?? []).flatMap((w) => w.records))].sort();
      const message = `render refused by verification: ${reason}${cut ? `; pushed instead: the last verified configuration minus what is no longer authorized${withheld.length > 0 ? `, withholding ${withheld.join("; ")}` : ""}` : ""}`;
      await client.query("UPDATE devices SET state = 5, refused_hash = $2, withheld = $3, withheld_records = $4, last_error = $5, updated_at = now() WHERE device = $1", [device, r.hash, withheld, records, message.slice(0, 4000)]);
      return { row: (await this.device(device, client))!, changed };
    });
  }

  // --- change progress (--wait) ---

  // The database's clock orders renders and fan-outs, whichever replica ran them; the records
  // version (migration 007) says which changes a read of the records holds.

  /**
   * A change is taken in: the records version is bumped with what it changed (committed before
   * this returns), then the clock read — a render that began later began at this version or a
   * later one. Answers the clock.
   */
  async changeTakenIn(change: RecordsChange): Promise<Date> {
    await this.pool.query(
      `WITH bumped AS (UPDATE records_version SET version = version + 1 RETURNING version)
       INSERT INTO records_changes (version, partition, parts, machines) SELECT version, $1, $2, $3 FROM bumped`,
      [change.partition, change.parts, change.machines],
    );
    return (await this.pool.query<{ now: Date }>("SELECT clock_timestamp() AS now")).rows[0]!.now;
  }

  /**
   * A render begins: the clock and the records version. The clock is the statement's start,
   * before its snapshot: a change taken in before that clock is in the version read.
   */
  async renderBegins(): Promise<{ from: Date; recordsVersion: number }> {
    const { rows } = await this.pool.query<{ now: Date; version: string }>("SELECT statement_timestamp() AS now, version FROM records_version");
    return { from: rows[0]!.now, recordsVersion: Number(rows[0]!.version) };
  }

  /**
   * The records version now and, given an earlier one, the changes after it — undefined when
   * some of them are no longer kept (then everything must be read again).
   */
  async recordsChangesSince(since: number | undefined): Promise<{ version: number; changes?: RecordsChange[] }> {
    if (since === undefined) return { version: Number((await this.pool.query<{ version: string }>("SELECT version FROM records_version")).rows[0]!.version) };
    const { rows } = await this.pool.query<{ current: string; changes: RecordsChange[] }>(
      `SELECT r.version AS current,
         coalesce(json_agg(json_build_object('partition', c.partition, 'parts', c.parts, 'machines', c.machines) ORDER BY c.version) FILTER (WHERE c.version IS NOT NULL), '[]') AS changes
       FROM records_version r LEFT JOIN records_changes c ON c.version > $1 AND c.version <= r.version
       GROUP BY r.version`,
      [since],
    );
    const version = Number(rows[0]!.current);
    const changes = rows[0]!.changes;
    return changes.length === version - since ? { version, changes } : { version };
  }

  /**
   * Records may have changed without an event (a resync asks for them anew): everything is read
   * again. Changes older than an hour are let go (a snapshot that old is read whole).
   */
  async recordsMayHaveChanged(): Promise<void> {
    await this.changeTakenIn({ partition: "", parts: [RecordsPart.All], machines: [] });
    await this.pool.query("DELETE FROM records_changes WHERE taken_in_at < now() - interval '1 hour'");
  }

  /** A change was fanned out to `devices` (again, when its job is retried: the later one counts). */
  async changeFannedOut(source: string, eventId: string, from: Date, devices: string[]): Promise<void> {
    await this.pool.query(
      `INSERT INTO processed_changes (source, event_id, fanned_out_from, devices) VALUES ($1, $2, $3, $4)
       ON CONFLICT (source, event_id) DO UPDATE SET fanned_out_from = EXCLUDED.fanned_out_from, devices = EXCLUDED.devices`,
      [source, eventId, from, devices],
    );
  }

  /** A render of `device` that began reading the records at `from` has finished (or found it no longer configured). */
  async renderedFrom(device: string, from: Date): Promise<void> {
    await this.pool.query(
      "INSERT INTO render_marks (device, rendered_from) VALUES ($1, $2) ON CONFLICT (device) DO UPDATE SET rendered_from = GREATEST(render_marks.rendered_from, EXCLUDED.rendered_from)",
      [device, from],
    );
  }

  /** The fan-outs of these changes, by `<source>:<event id>`. */
  async fanOuts(changes: { source: string; eventId: string }[]): Promise<Map<string, { from: Date; devices: string[] }>> {
    const { rows } = await this.pool.query<{ source: string; event_id: string; fanned_out_from: Date; devices: string[] }>(
      "SELECT source, event_id::text, fanned_out_from, devices FROM processed_changes WHERE (source, event_id) IN (SELECT * FROM unnest($1::text[], $2::bigint[]))",
      [changes.map((c) => c.source), changes.map((c) => c.eventId)],
    );
    return new Map(rows.map((r) => [`${r.source}:${r.event_id}`, { from: r.fanned_out_from, devices: r.devices }]));
  }

  /** For change progress: each device's row (none once forgotten) and when its last render began (none before the first). */
  async renderProgress(devices: string[]): Promise<Map<string, { row?: DeviceRow; renderedFrom?: Date }>> {
    const progress = new Map<string, { row?: DeviceRow; renderedFrom?: Date }>(devices.map((d) => [d, {}]));
    if (devices.length === 0) return progress;
    for (const row of (await this.pool.query<DeviceRow>(`SELECT ${deviceColumns} FROM devices WHERE device = ANY($1)`, [devices])).rows) progress.get(row.device)!.row = row;
    const marks = await this.pool.query<{ device: string; rendered_from: Date }>("SELECT device, rendered_from FROM render_marks WHERE device = ANY($1)", [devices]);
    for (const mark of marks.rows) progress.get(mark.device)!.renderedFrom = mark.rendered_from;
    return progress;
  }

  /** Forgets fan-outs older than `before` (a wait is over long before). */
  async pruneFanOuts(before: Date): Promise<void> {
    await this.pool.query("DELETE FROM processed_changes WHERE fanned_out_from < $1", [before]);
  }

  async latestHash(device: string): Promise<string | undefined> {
    const { rows } = await this.pool.query<{ hash: string }>("SELECT hash FROM revisions WHERE device = $1 ORDER BY generation DESC LIMIT 1", [device]);
    return rows[0]?.hash;
  }

  async revision(device: string, generation?: number): Promise<RevisionRow | undefined> {
    const { rows } = generation
      ? await this.pool.query<RevisionRow>(`SELECT ${revisionColumns} FROM revisions WHERE device = $1 AND generation = $2`, [device, generation])
      : await this.pool.query<RevisionRow>(`SELECT ${revisionColumns} FROM revisions WHERE device = $1 ORDER BY generation DESC LIMIT 1`, [device]);
    return rows[0];
  }

  /** The agent applied a revision; in sync if that is still the desired one. */
  async applied(device: string, generation: number, hash: string, changed: boolean): Promise<void> {
    await this.pool.query(
      `UPDATE devices SET applied_generation = $2, applied_hash = $3, running_hash = $3, pushes = pushes + $4,
         state = CASE WHEN refused_hash <> '' THEN 5 WHEN desired_hash = $3 THEN 1 ELSE 2 END, last_error = CASE WHEN desired_hash = $3 AND refused_hash = '' THEN '' ELSE last_error END, updated_at = now()
       WHERE device = $1 AND applied_generation <= $2`,
      [device, generation, hash, changed ? 1 : 0],
    );
  }

  /**
   * Pushing `generation` failed for good; only recorded while it is still the desired one. When
   * the agent refused the revision it is not pushed again until a newer one or a resync.
   */
  /** A push failed for good: a dead letter on the device, and FAILED unless a newer revision moved on. */
  async failed(device: string, generation: number, reason: string, refused: boolean): Promise<void> {
    const text = reason.slice(0, 4000);
    await this.pool.query(
      `UPDATE devices SET dead_letters = (
         SELECT coalesce(jsonb_agg(letter ORDER BY n), '[]') FROM jsonb_array_elements(jsonb_build_array(jsonb_build_object('generation', $2::bigint, 'reason', $3::text, 'failedAt', now())) || dead_letters) WITH ORDINALITY AS t(letter, n)
         WHERE n <= ${DEAD_LETTERS_KEPT})
       WHERE device = $1`,
      [device, generation, text],
    );
    await this.pool.query(
      "UPDATE devices SET state = 3, last_error = $3, blocked_generation = CASE WHEN $4 THEN $2 ELSE blocked_generation END, updated_at = now() WHERE device = $1 AND desired_generation = $2 AND state <> 1",
      [device, generation, text, refused],
    );
  }

  async unblock(device: string): Promise<void> {
    await this.pool.query("UPDATE devices SET blocked_generation = 0 WHERE device = $1", [device]);
  }

  async waiting(device: string, reason: string): Promise<void> {
    // A refusal's reason stays: it says more than "waiting".
    await this.pool.query("UPDATE devices SET state = CASE WHEN state = 1 THEN 2 ELSE state END, last_error = CASE WHEN refused_hash <> '' THEN last_error ELSE $2 END, updated_at = now() WHERE device = $1", [device, reason]);
  }

  /**
   * An agent's heartbeat. Returns the device afterwards: the caller re-pushes when it does not
   * run the desired revision. A running hash that differs from the applied one is drift.
   * Recorded only for a device rendered before (one statement: agents report every few seconds)
   * unless `create`: undefined answers that the device must be checked first.
   */
  async heartbeat(device: string, report: { appliedGeneration: number; appliedHash: string; runningHash: string; endpoint: string }, create: boolean): Promise<DeviceRow | undefined> {
    if (create) await this.ensure(device);
    const { rows } = await this.pool.query<DeviceRow>(
      `UPDATE devices SET last_heartbeat_at = now(), endpoint = CASE WHEN $5 <> '' THEN $5 ELSE endpoint END, running_hash = $4,
         applied_generation = $2, applied_hash = $3,
         state = CASE
           WHEN desired_generation = 0 OR state = 5 THEN state
           WHEN $4 <> '' AND $4 <> $3 THEN 4
           WHEN $3 = desired_hash AND $4 = desired_hash THEN 1
           WHEN state IN (1, 4) THEN 2
           ELSE state END,
         updated_at = now()
       WHERE device = $1 AND ($6 OR desired_generation > 0) RETURNING ${deviceColumns}`,
      [device, report.appliedGeneration, report.appliedHash, report.runningHash, report.endpoint, create],
    );
    return rows[0];
  }
}
