// Configuration from environment variables: declared once with a description and default,
// parsed and validated once at start, with one clear message listing every bad value.
import { readFileSync, readdirSync } from "node:fs";

export interface Var<T> {
  description: string;
  /** Used when the variable is unset or empty; omit to make the variable required. */
  default?: T;
  /** Secret values are never echoed in error messages. */
  secret?: boolean;
  parse(raw: string): T;
}

export type ConfigSpec = Record<string, Var<unknown>>;
export type Config<S extends ConfigSpec> = { [K in keyof S]: S[K] extends Var<infer T> ? T : never };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

class ParseError extends Error {}

function readableFile(path: string): string {
  try {
    readFileSync(path);
  } catch (error) {
    throw new ParseError(`must name a readable file (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
  }
  return path;
}

function readableDirectory(path: string): string {
  try {
    readdirSync(path);
  } catch (error) {
    throw new ParseError(`must name a readable directory (${(error as NodeJS.ErrnoException).code ?? "unreadable"})`);
  }
  return path;
}

/** Adds `default` only when the caller gave one: a Var without the key is required. */
function defaulted<T>(v: Var<T>, options: { default?: T }): Var<T> {
  return "default" in options ? { ...v, default: options.default } : v;
}

export const vars = {
  string(description: string, options: { default?: string; secret?: boolean; minLength?: number } = {}): Var<string> {
    return defaulted({
      description,
      secret: options.secret,
      parse(raw) {
        if (options.minLength && raw.length < options.minLength) throw new ParseError(`must be at least ${options.minLength} characters`);
        return raw;
      },
    }, options);
  },
  optionalString(description: string): Var<string | undefined> {
    return { description, default: undefined, parse: (raw) => raw };
  },
  int(description: string, options: { default?: number; min?: number; max?: number } = {}): Var<number> {
    const min = options.min ?? Number.MIN_SAFE_INTEGER;
    const max = options.max ?? Number.MAX_SAFE_INTEGER;
    return defaulted({
      description,
      parse(raw) {
        const value = Number(raw);
        if (!/^-?\d+$/.test(raw.trim()) || value < min || value > max) throw new ParseError(`must be an integer between ${min} and ${max}`);
        return value;
      },
    }, options);
  },
  bool(description: string, options: { default?: boolean } = {}): Var<boolean> {
    return defaulted({
      description,
      parse(raw) {
        if (/^(1|true|yes|on)$/i.test(raw)) return true;
        if (/^(0|false|no|off)$/i.test(raw)) return false;
        throw new ParseError("must be true or false");
      },
    }, options);
  },
  url(description: string, options: { default?: string; protocols: string[]; secret?: boolean }): Var<string> {
    return defaulted({
      description,
      secret: options.secret,
      parse(raw) {
        let url: URL;
        try {
          url = new URL(raw);
        } catch {
          throw new ParseError("must be a URL");
        }
        if (!options.protocols.includes(url.protocol.replace(/:$/, ""))) throw new ParseError(`must be a ${options.protocols.join(" or ")} URL`);
        return raw;
      },
    }, options);
  },
  oneOf<T extends string>(description: string, values: readonly T[], options: { default?: T } = {}): Var<T> {
    return defaulted({
      description,
      parse(raw) {
        if (!values.includes(raw as T)) throw new ParseError(`must be one of ${values.join(", ")}`);
        return raw as T;
      },
    }, options);
  },
  /** A path to a readable file, required; the value is the path. */
  file(description: string): Var<string> {
    return { description, parse: readableFile };
  },
  /** A path to a readable file; the value is the path. */
  optionalFile(description: string): Var<string | undefined> {
    return { description, default: undefined, parse: readableFile };
  },
  /** A path to a readable directory; the value is the path. */
  optionalDirectory(description: string): Var<string | undefined> {
    return { description, default: undefined, parse: readableDirectory };
  },
};

/** Parses every variable of `spec` from `source`; throws a ConfigError naming each problem. */
export function readConfig<S extends ConfigSpec>(spec: S, source: Record<string, string | undefined> = process.env): Config<S> {
  const problems: string[] = [];
  const config: Record<string, unknown> = {};
  for (const [name, v] of Object.entries(spec)) {
    const raw = source[name];
    if (raw === undefined || raw === "") {
      if (!("default" in v)) problems.push(`${name} is required: ${v.description}`);
      else config[name] = v.default;
      continue;
    }
    try {
      config[name] = v.parse(raw);
    } catch (error) {
      if (!(error instanceof ParseError)) throw error;
      problems.push(`${name} ${error.message}${v.secret ? "" : ` (got ${JSON.stringify(raw)})`}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return config as Config<S>;
}

/** One Markdown table row per variable, for the README. */
export function describeConfig(spec: ConfigSpec): string {
  return Object.entries(spec)
    .map(([name, v]) => `| \`${name}\` | ${"default" in v ? (v.default === undefined ? "unset" : `\`${String(v.default)}\``) : "required"} | ${v.description} |`)
    .join("\n");
}
