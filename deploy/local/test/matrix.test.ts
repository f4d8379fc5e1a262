// docs/communication-matrix.md against the configuration the services actually read: every URL
// variable of every service and agent has its row (source, destination, variable), every such row
// is a variable the source reads, and its port is the destination's default port.
import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { serviceConfigSpec, type ServiceDefinition } from "@bulkhead/service-kit";
import { agents, services, urlVariable } from "../services.js";

const doc = readFileSync(new URL("../../../docs/communication-matrix.md", import.meta.url), "utf8");
const definitions: ServiceDefinition[] = [...services, ...agents];
const ports: Record<string, string> = { postgres: "5432", valkey: "6379", "OIDC provider": "443", ...Object.fromEntries(definitions.map((d) => [d.name, String(d.defaultPort)])) };

interface Row {
  no: string;
  sources: string[];
  destinations: string[];
  ports: string[];
  variable?: string;
}

const rows: Row[] = doc
  .split("\n")
  .filter((line) => /^\| \d+\.\d+ \|/.test(line))
  .map((line) => {
    const cells = line.split("|").slice(1, -1).map((c) => c.trim());
    const list = (cell: string) => cell.split(",").map((s) => s.trim());
    return { no: cells[0]!, sources: list(cells[1]!), destinations: list(cells[2]!), ports: list(cells[4]!), variable: /^`([A-Z_]+_URL)`/.exec(cells[9]!)?.[1] };
  });

/** Where a URL variable points. */
function destinationOf(variable: string): string {
  if (variable === "DATABASE_URL") return "postgres";
  if (variable === "VALKEY_URL") return "valkey";
  if (variable === "BULKHEAD_OIDC_JWKS_URL") return "OIDC provider";
  const target = definitions.find((d) => urlVariable(d.name) === variable);
  assert.ok(target, `${variable} names no Bulkhead service`);
  return target!.name;
}

test("the matrix has rows", () => {
  assert.ok(rows.length >= 12, `${rows.length} rows`);
});

test("every URL variable a service or agent reads has its row", () => {
  const missing: string[] = [];
  for (const d of definitions) {
    for (const variable of Object.keys(serviceConfigSpec(d)).filter((k) => k.endsWith("_URL"))) {
      const destination = destinationOf(variable);
      if (!rows.some((r) => r.variable === variable && r.sources.includes(d.name) && r.destinations.includes(destination))) missing.push(`${d.name} → ${destination} (${variable})`);
    }
  }
  assert.equal(missing, []);
});

test("every row with a URL variable is one its sources read, on the destination's default port", () => {
  for (const row of rows.filter((r) => r.variable)) {
    for (const source of row.sources) {
      const definition = definitions.find((d) => d.name === source);
      assert.ok(definition, `${row.no}: ${source} is a service or agent`);
      assert.ok(row.variable! in serviceConfigSpec(definition!), `${row.no}: ${source} reads ${row.variable}`);
    }
    for (const destination of row.destinations) {
      assert.is(destinationOf(row.variable!), destination, `${row.no}: ${row.variable} points at ${destination}`);
      assert.ok(row.ports.includes(ports[destination]!), `${row.no}: ${destination} listens on ${ports[destination]} (row says ${row.ports.join(", ")})`);
    }
  }
});

test("rows without a URL variable name real components and their ports", () => {
  const agentRow = rows.find((r) => r.sources.includes("reconciler") && r.destinations.includes("metal-core"));
  assert.ok(agentRow, "the reconciler → agents row");
  assert.equal(agentRow!.ports, agents.map((a) => String(a.defaultPort)));
  const api = rows.find((r) => r.no === "1.1")!;
  assert.equal(api.destinations, services.map((s) => s.name));
  assert.equal(api.ports, [`${services[0]!.defaultPort}–${services.at(-1)!.defaultPort}`]);
});

test.run();
