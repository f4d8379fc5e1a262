// Printing answers: a table of chosen columns (default), or the whole message as JSON or YAML.
import { toJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { stringify } from "yaml";

export type Format = "table" | "json" | "yaml";
/** A column: header and the path into the message's JSON form (`a.b`), optionally an enum prefix to strip. */
export type Column = [header: string, path: string, enumPrefix?: string];

const at = (value: JsonValue | undefined, path: string): JsonValue | undefined =>
  path.split(".").reduce<JsonValue | undefined>((v, key) => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, JsonValue>)[key] : undefined), value);

function cell(value: JsonValue | undefined, enumPrefix?: string): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map((v) => cell(v, enumPrefix)).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value);
  return enumPrefix && text.startsWith(enumPrefix) ? text.slice(enumPrefix.length).toLowerCase().replace(/_/g, "-") : text;
}

export function table(rows: JsonValue[], columns: Column[]): string {
  const cells = [columns.map(([h]) => h), ...rows.map((r) => columns.map(([, path, prefix]) => cell(at(r, path), prefix)))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n");
}

export function render<D extends DescMessage>(format: Format, schema: D, message: MessageShape<D>, list?: { field: string; columns: Column[] }): string {
  const json = toJson(schema, message, { alwaysEmitImplicit: false });
  if (format === "json") return JSON.stringify(json, null, 2);
  if (format === "yaml") return stringify(json).trimEnd();
  if (!list) return stringify(json).trimEnd();
  const value = at(json, list.field);
  const rows = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return table(rows, list.columns);
}
