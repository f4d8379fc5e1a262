// The agent's own checks of what it is asked to apply, before anything is touched: a Cumulus
// interfaces file must keep the switch manageable; a CONFIG_DB document may only hold the tables
// Bulkhead owns, in CONFIG_DB's shape.
import { CONFIG_DB_TABLES } from "@bulkhead/render";

/** Refuses an interfaces file without eth0 in the management VRF: applying it would cut the switch off. */
export function checkManagementKept(content: string): string | undefined {
  const stanza = /^iface eth0\b[^\n]*\n((?:[ \t]+[^\n]*\n?)*)/m.exec(content);
  if (!stanza) return "it has no eth0 stanza: the switch would lose its management interface";
  if (!/^[ \t]+vrf mgmt[ \t]*$/m.test(stanza[1]!)) return "eth0 is not in the mgmt VRF: management would share the fabric's routing";
  if (!/^auto [^\n]*\beth0\b/m.test(content)) return "eth0 is not marked auto: it would not come up";
  return undefined;
}

/** Refuses a document that is not table → key → string fields, or touches a table Bulkhead does not own. */
export function checkConfigDb(content: string): string | undefined {
  let db: unknown;
  try {
    db = JSON.parse(content);
  } catch (error) {
    return `not JSON: ${(error as Error).message}`;
  }
  if (typeof db !== "object" || db === null || Array.isArray(db)) return "not an object of tables";
  for (const [table, entries] of Object.entries(db)) {
    if (!(CONFIG_DB_TABLES as readonly string[]).includes(table)) return `table ${table} is not one Bulkhead manages`;
    if (typeof entries !== "object" || entries === null || Array.isArray(entries)) return `table ${table} is not an object of entries`;
    for (const [key, fields] of Object.entries(entries as object)) {
      if (typeof fields !== "object" || fields === null || Array.isArray(fields) || Object.values(fields).some((v) => typeof v !== "string")) return `${table}|${key} is not an object of string fields`;
    }
  }
  return undefined;
}
