// Printing answers: a table of chosen columns (default), or the whole message as JSON or YAML.
import { toJson, type DescMessage, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { stringify } from "yaml";

export type Format = "table" | "wide" | "json" | "yaml";
/**
 * A column: header and the path into the message's JSON form (`a.b`), optionally an enum prefix to
 * strip, and whether it is shown only with `-o wide`.
 */
export type Column = [header: string, path: string, enumPrefix?: string, wideOnly?: "wide"];

/** A table (not `-o wide`) fits a terminal this wide: the widest columns are cut, marked with `…`. */
export const TABLE_WIDTH = 120;
const GAP = 2;
const MIN_COLUMN = 8;

const at = (value: JsonValue | undefined, path: string): JsonValue | undefined =>
  path.split(".").reduce<JsonValue | undefined>((v, key) => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, JsonValue>)[key] : undefined), value);

function cell(value: JsonValue | undefined, enumPrefix?: string): string {
  if (value === undefined || value === null) return "";
  if (Array.isArray(value)) return value.map((v) => cell(v, enumPrefix)).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  const text = String(value);
  return enumPrefix && text.startsWith(enumPrefix) ? text.slice(enumPrefix.length).toLowerCase().replace(/_/g, "-") : text;
}

/** Shrinks the widest columns until the row fits `limit` (none below its header or MIN_COLUMN). */
function fit(widths: number[], floors: number[], limit: number): number[] {
  const fitted = [...widths];
  const total = () => fitted.reduce((a, b) => a + b, 0) + GAP * (fitted.length - 1);
  while (total() > limit) {
    const widest = fitted.reduce((best, w, i) => (w - floors[i]! > fitted[best]! - floors[best]! ? i : best), 0);
    if (fitted[widest]! <= floors[widest]!) break;
    fitted[widest]!--;
  }
  return fitted;
}

const clip = (text: string, width: number) => (text.length > width ? `${text.slice(0, width - 1)}…` : text);

export function table(rows: JsonValue[], columns: Column[], wide = false): string {
  const shown = columns.filter(([, , , wideOnly]) => wide || !wideOnly);
  const cells = [shown.map(([h]) => h), ...rows.map((r) => shown.map(([, path, prefix]) => cell(at(r, path), prefix)))];
  const natural = shown.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  const widths = wide ? natural : fit(natural, shown.map(([h]) => Math.max(h.length, MIN_COLUMN)), TABLE_WIDTH);
  return cells.map((row) => row.map((c, i) => (i === row.length - 1 ? clip(c, widths[i]!) : clip(c, widths[i]!).padEnd(widths[i]!))).join(" ".repeat(GAP)).trimEnd()).join("\n");
}

export function render<D extends DescMessage>(format: Format, schema: D, message: MessageShape<D>, list?: { field: string; columns: Column[] }): string {
  const json = toJson(schema, message, { alwaysEmitImplicit: false });
  if (format === "json") return JSON.stringify(json, null, 2);
  if (format === "yaml") return stringify(json).trimEnd();
  if (!list) return stringify(json).trimEnd();
  const value = at(json, list.field);
  const rows = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return table(rows, list.columns, format === "wide");
}
