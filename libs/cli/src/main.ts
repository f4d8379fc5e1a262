// bulkhead <resource> <verb> [args] [flags]. Endpoints and token from flags, the environment or a
// config file (see config.ts); answers as a table, -o json or -o yaml; errors print the server's
// message and field violations and exit 1 (usage errors exit 2).
import { parseArgs, type ParseArgsConfig } from "node:util";
import { createRegistry } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { bulkheadFiles } from "@bulkhead/api";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { createBulkhead } from "@bulkhead/sdk";
import { commands, type Command, type Flags } from "./commands.js";
import { loadConfig } from "./config.js";
import { UsageError, wholeNumber } from "./numbers.js";
import { render, type Format } from "./output.js";
import { waitForChanges } from "./wait.js";
import cliPackage from "../package.json" with { type: "json" };

const GLOBAL = {
  endpoint: { type: "string", description: "one base URL for every server (a gateway); default: per server, from the config" },
  token: { type: "string", description: "bearer token (default: $BULKHEAD_TOKEN or the config file's)" },
  ca: { type: "string", description: "PEM file of the CA to trust for https endpoints (default: $BULKHEAD_CA_FILE or the config file's)" },
  config: { type: "string", description: "config file (default: $BULKHEAD_CONFIG, ./.bulkhead/cli.json, ~/.config/bulkhead/config.json)" },
  output: { type: "string", short: "o", description: "table (default; fits 120 columns), wide (every column, uncut), json or yaml" },
  wait: { type: "boolean", description: "after a change, wait until the fabric converged (showing progress)" },
  "wait-timeout": { type: "string", description: "seconds to wait at most (default 120)" },
  help: { type: "boolean", short: "h", description: "show help" },
} as const;

/** What `bulkhead --version` prints: the package's version (the CLI and the services ship together). */
export const VERSION = cliPackage.version;

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env?: NodeJS.ProcessEnv;
}

function usage(matching: Command[] = commands): string {
  const lines = ["usage: bulkhead <resource> <verb> [args] [flags]", "", "commands:"];
  for (const c of matching) lines.push(`  ${[...c.path, ...(c.args ?? []).map((a) => `<${a}>`)].join(" ").padEnd(44)} ${c.summary}`);
  if (matching.length === 1) {
    const c = matching[0]!;
    lines.push("", "flags:");
    for (const [name, f] of Object.entries(c.flags ?? {})) lines.push(`  --${name}${f.type === "string" ? " <value>" : ""}`.padEnd(30) + ` ${f.description}${f.required ? " (required)" : ""}`);
  }
  lines.push("", "global flags:");
  for (const [name, f] of Object.entries(GLOBAL)) lines.push(`  --${name}`.padEnd(30) + ` ${f.description}`);
  return lines.join("\n");
}

/** The command named by the leading words, longest match first. */
function find(words: string[]): { command?: Command; rest: string[]; prefix: Command[] } {
  const sorted = [...commands].sort((a, b) => b.path.length - a.path.length);
  const command = sorted.find((c) => c.path.every((w, i) => words[i] === w));
  const prefix = commands.filter((c) => words.length > 0 && c.path[0] === words[0]);
  return { command, rest: command ? words.slice(command.path.length) : words, prefix };
}

function explain(error: unknown): string {
  if (error instanceof ConnectError) {
    const code = Code[error.code]?.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase() ?? error.code;
    const violations = error.findDetails(ViolationsSchema).flatMap((d) => d.violations);
    // The message of a validation error repeats its violations: each is printed once, by field.
    if (violations.length === 0) return `error: ${code}: ${error.rawMessage}`;
    return [`error: ${code}:`, ...violations.map((v) => `  ${v.field?.elements.map((e) => `${e.fieldName}${e.subscript.case ? `[${String(e.subscript.value)}]` : ""}`).join(".") || "(request)"}: ${v.message}`)].join("\n");
  }
  return `error: ${(error as Error).message}`;
}

/** Runs one command line; answers the exit code. */
export async function run(argv: string[], io: Io): Promise<number> {
  const words: string[] = [];
  for (const a of argv) {
    if (a.startsWith("-")) break;
    words.push(a);
  }
  const { command, prefix } = find(words);
  if (!command) {
    if (words.length === 0 && argv.includes("--version")) {
      io.out(`bulkhead ${VERSION}`);
      return 0;
    }
    // `bulkhead`, `bulkhead --help`, `bulkhead network --help`: the usage of what was named.
    const asked = argv.length === 0 || argv.includes("-h") || argv.includes("--help");
    if (asked && (words.length === 0 || prefix.length > 0)) {
      io.out(usage(prefix.length > 0 ? prefix : commands));
      return 0;
    }
    io.err(words.length ? `bulkhead: unknown command "${words.join(" ")}"\n\n${usage(prefix.length ? prefix : commands)}` : usage());
    return 2;
  }
  const options: ParseArgsConfig["options"] = { ...GLOBAL };
  for (const [name, f] of Object.entries(command.flags ?? {})) options[name] = { type: f.type, ...(f.multiple ? { multiple: true } : {}), ...(name === "file" ? { short: "f" } : {}) };
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(command.path.length), options, allowPositionals: true, strict: true });
  } catch (error) {
    io.err(`bulkhead ${command.path.join(" ")}: ${(error as Error).message}\n\n${usage([command])}`);
    return 2;
  }
  const flags = parsed.values as Flags;
  if (flags.help) {
    io.out(usage([command]));
    return 0;
  }
  const required = (command.args ?? []).filter((a) => !a.endsWith("?"));
  const missing = [...required.slice(parsed.positionals.length).map((a) => `<${a}>`), ...Object.entries(command.flags ?? {}).filter(([n, f]) => f.required && flags[n] === undefined).map(([n]) => `--${n}`)];
  if (missing.length > 0 || parsed.positionals.length > (command.args ?? []).length) {
    io.err(`bulkhead ${command.path.join(" ")}: ${missing.length ? `missing ${missing.join(", ")}` : "too many arguments"}\n\n${usage([command])}`);
    return 2;
  }
  const format = (flags.output ?? "table") as Format;
  if (!["table", "wide", "json", "yaml"].includes(format)) {
    io.err(`bulkhead: --output must be table, wide, json or yaml, not ${format}`);
    return 2;
  }
  try {
    const waitTimeoutSeconds = wholeNumber("wait-timeout", flags["wait-timeout"] as string | undefined, { fallback: 120, min: 1, max: 86_400, unit: "seconds" });
    const config = loadConfig({ endpoint: flags.endpoint as string | undefined, token: flags.token as string | undefined, config: flags.config as string | undefined, ca: flags.ca as string | undefined }, io.env ?? process.env);
    const changes: string[] = [];
    const bh = createBulkhead({ endpoints: config.endpoints, token: config.token, ca: config.ca, onChanges: (named) => changes.push(...named) });
    const wait = flags.wait === true && command.mutates;
    const answer = await command.run(bh, parsed.positionals, flags, config);
    const registry = createRegistry(...bulkheadFiles);
    const schema = registry.getMessage(answer.message.$typeName);
    if ((format === "table" || format === "wide") && answer.text !== undefined) io.out(answer.text);
    else if (schema) io.out(render(format, schema, answer.message as never, answer.list));
    let last = "";
    const progress = (line: string) => line !== last && io.err((last = line));
    if (wait) {
      const deadline = Date.now() + waitTimeoutSeconds * 1000;
      const project = typeof flags.project === "string" ? flags.project : "";
      io.err(await waitForChanges(bh, changes, deadline, progress, project));
      if (command.laterChange) io.err(await waitForChanges(bh, [await command.laterChange(bh, answer, progress, deadline)], deadline, progress, project));
    }
    return answer.failed ? 1 : 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`bulkhead ${command.path.join(" ")}: ${error.message}`);
      return 2;
    }
    if (error instanceof ConnectError && command.unavailableWhen === error.code) {
      io.err(`bulkhead ${command.path.join(" ")}: ${error.rawMessage}`);
      return 2;
    }
    io.err(explain(error));
    return 1;
  }
}

/** Runs the command line of this process and exits with its code. */
export async function runProcess(): Promise<never> {
  process.exit(await run(process.argv.slice(2), { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) }));
}

if (import.meta.url === `file://${process.argv[1]}`) await runProcess();
