// SONiC's CONFIG_DB as a store of the agent's apply engine: the rendered document is written as a
// diff against what the database holds, in an order SONiC's daemons accept — everything removed
// first, dependents before what they depend on (a port leaves its VLAN or VRF before the VRF goes,
// so a port never jumps VRF to VRF: metal-core#102), then everything added, dependencies first.
// VRFs, VLANs and tunnel maps no longer desired are removed (metal-core#142). Only the tables
// Bulkhead owns are read or touched; of PORT, only admin status and MTU of the ports it listed.
// A failed write puts back what was there.
import { readFileSync, writeFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { CONFIG_DB_TABLES, PORT_FIELDS, configDbText, type ConfigDb } from "@bulkhead/render";
import type { FileKind, Store } from "@bulkhead/agent";
import { checkConfigDb } from "./checks.js";

/** Tables whose keys Bulkhead owns, in the order entries are created; removal runs backwards. */
const CREATE_ORDER = ["LOOPBACK_INTERFACE", "VXLAN_TUNNEL", "VXLAN_EVPN_NVO", "VRF", "VLAN", "VLAN_INTERFACE", "SUPPRESS_VLAN_NEIGH", "VXLAN_TUNNEL_MAP", "INTERFACE", "VLAN_MEMBER"] as const;
const OWNED = new Set<string>(CREATE_ORDER);
/** SONiC cannot store a hash without fields: an entry without fields holds this one. */
const NULL_FIELD = "NULL";

/** One change to CONFIG_DB, as it was sent. */
export type Operation = { op: "del"; key: string } | { op: "hset"; key: string; fields: Record<string, string> } | { op: "hdel"; key: string; fields: string[] };

const sameFields = (a: Record<string, string> | undefined, b: Record<string, string> | undefined) => JSON.stringify(a && Object.entries(a).sort()) === JSON.stringify(b && Object.entries(b).sort());
/** A table's entries with sub-entries (`Ethernet0|10.0.0.1/30`) after their entry, or before it. */
const byDepth = (keys: string[], subEntriesFirst: boolean) => [...keys].sort((a, b) => (subEntriesFirst ? -1 : 1) * (a.split("|").length - b.split("|").length) || (a < b ? -1 : 1));

/**
 * The operations turning `current` into `desired` (both in document form, PORT limited to its
 * fields). `exact`: also clear the managed fields of ports `desired` does not list (a restore).
 */
export function plan(current: ConfigDb, desired: ConfigDb, exact = false): Operation[] {
  const removals: Operation[] = [];
  const additions: Operation[] = [];
  const changed = (table: string, key: string) => !sameFields(current[table]?.[key], desired[table]?.[key]);
  for (const table of [...CREATE_ORDER].reverse()) {
    const gone = Object.keys(current[table] ?? {}).filter((key) => changed(table, key));
    for (const key of byDepth(gone, true)) removals.push({ op: "del", key: `${table}|${key}` });
  }
  for (const table of CREATE_ORDER) {
    const added = Object.keys(desired[table] ?? {}).filter((key) => changed(table, key));
    for (const key of byDepth(added, false)) {
      const fields = desired[table]![key]!;
      additions.push({ op: "hset", key: `${table}|${key}`, fields: Object.keys(fields).length > 0 ? fields : { [NULL_FIELD]: NULL_FIELD } });
    }
  }
  for (const [port, fields] of Object.entries(desired.PORT ?? {})) {
    if (!sameFields(current.PORT?.[port], fields)) additions.push({ op: "hset", key: `PORT|${port}`, fields });
  }
  if (exact) for (const port of Object.keys(current.PORT ?? {}).filter((p) => !desired.PORT?.[p])) additions.push({ op: "hdel", key: `PORT|${port}`, fields: [...PORT_FIELDS] });
  return [...removals, ...additions];
}

/** Every key matching `pattern`, walked with SCAN (CONFIG_DB is the switch's live database: no KEYS). */
export async function scanKeys(db: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await db.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== "0");
  return found;
}

export class ConfigDbStore implements Store {
  /** The operations of the last write (for logs). */
  lastOperations: Operation[] = [];

  constructor(
    private readonly db: Redis,
    /** Where the ports of the last written document are kept, so that PORT reads back only those. */
    private readonly portsFile: string,
  ) {}

  async read(): Promise<string> {
    return configDbText(await this.snapshot(this.managedPorts()));
  }

  async write(content: string): Promise<() => Promise<void>> {
    const desired = JSON.parse(content) as ConfigDb;
    const ports = Object.keys(desired.PORT ?? {});
    const before = await this.snapshot([...new Set([...this.managedPorts(), ...ports])]);
    const previousPorts = this.managedPorts();
    const restore = async () => {
      await this.execute(plan(await this.snapshot([...new Set([...Object.keys(before.PORT ?? {}), ...ports])]), before, true));
      this.saveManagedPorts(previousPorts);
    };
    try {
      await this.execute(plan(before, desired));
    } catch (error) {
      await restore();
      throw error;
    }
    this.saveManagedPorts(ports);
    return restore;
  }

  /** The owned tables in full and `ports`' managed fields, as a document. */
  private async snapshot(ports: readonly string[]): Promise<ConfigDb> {
    const db: ConfigDb = Object.fromEntries(CONFIG_DB_TABLES.map((t) => [t, {}]));
    for (const table of OWNED) {
      const keys = await scanKeys(this.db, `${table}|*`);
      const read = this.db.pipeline();
      for (const key of keys) read.hgetall(key);
      const answers = (await read.exec()) ?? [];
      keys.forEach((key, i) => {
        const [error, fields] = answers[i] ?? [new Error("no answer")];
        if (error) throw error;
        const values = { ...(fields as Record<string, string>) };
        delete values[NULL_FIELD];
        db[table]![key.slice(table.length + 1)] = values;
      });
    }
    const read = this.db.pipeline();
    for (const port of ports) read.hmget(`PORT|${port}`, ...PORT_FIELDS);
    const answers = (await read.exec()) ?? [];
    ports.forEach((port, p) => {
      const [error, values] = answers[p] ?? [new Error("no answer")];
      if (error) throw error;
      const fields = Object.fromEntries(PORT_FIELDS.flatMap((f, i) => ((values as (string | null)[])[i] != null ? [[f, (values as string[])[i]!]] : [])));
      if (Object.keys(fields).length > 0) db.PORT![port] = fields;
    });
    return db;
  }

  /** One command at a time, in order: SONiC's daemons act on each change as it arrives. */
  private async execute(operations: Operation[]): Promise<void> {
    this.lastOperations = operations;
    for (const o of operations) {
      if (o.op === "del") await this.db.del(o.key);
      else if (o.op === "hdel") await this.db.hdel(o.key, ...o.fields);
      else await this.db.hset(o.key, o.fields);
    }
  }

  private managedPorts(): string[] {
    try {
      return JSON.parse(readFileSync(this.portsFile, "utf8")) as string[];
    } catch {
      return [];
    }
  }

  private saveManagedPorts(ports: readonly string[]): void {
    writeFileSync(this.portsFile, JSON.stringify([...ports].sort()));
  }
}

/** The agent's kind for `sonic/config_db.json`: checked, written into CONFIG_DB, then `save` (if any) runs. */
export const configDbKind = (store: Store, save: string): FileKind => ({ match: /^sonic\/config_db\.json$/, validate: "", reload: save, check: checkConfigDb, store });
