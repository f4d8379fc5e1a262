// Where the CLI finds its endpoints and token: flags, then environment, then a config file
// (`--config`, BULKHEAD_CONFIG, ./.bulkhead/cli.json as `npm start` writes it, or
// ~/.config/bulkhead/config.json): {"endpoints": {"network": "http://…", …} | "http://…", "token": "…",
// "ca": "<PEM file of the CA to trust for https endpoints>", "userIssuerKey": "<npm start's user-token key>"}.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { SERVERS, localEndpoints, type Server } from "@bulkhead/sdk";

export interface CliConfig {
  endpoints: Record<Server, string> | string;
  token?: string;
  /** PEM certificates to trust for https endpoints. */
  ca?: Buffer;
  /** The user-token issuer's private key of a development installation (`npm start`), for `token issue --user`. */
  userIssuerKey?: string;
  source: string;
}

interface FileConfig {
  endpoints?: Partial<Record<Server, string>> | string;
  token?: string;
  ca?: string;
  userIssuerKey?: string;
}

export function loadConfig(flags: { endpoint?: string; token?: string; config?: string; ca?: string }, env: NodeJS.ProcessEnv = process.env): CliConfig {
  const candidates = [flags.config, env.BULKHEAD_CONFIG, resolve(".bulkhead", "cli.json"), join(homedir(), ".config", "bulkhead", "config.json")].filter((p): p is string => Boolean(p));
  const path = candidates.find((p) => existsSync(p));
  if ((flags.config || env.BULKHEAD_CONFIG) && path !== (flags.config ?? env.BULKHEAD_CONFIG)) throw new Error(`config file ${flags.config ?? env.BULKHEAD_CONFIG} does not exist`);
  const file: FileConfig = path ? (JSON.parse(readFileSync(path, "utf8")) as FileConfig) : {};
  const base = flags.endpoint ?? env.BULKHEAD_ENDPOINT;
  let endpoints: Record<Server, string> | string;
  if (base) endpoints = base;
  else if (typeof file.endpoints === "string") endpoints = file.endpoints;
  else endpoints = { ...localEndpoints(), ...(file.endpoints ?? {}) };
  // Per-server overrides, e.g. BULKHEAD_NETWORK_URL.
  if (typeof endpoints !== "string") for (const s of SERVERS) endpoints[s] = env[`BULKHEAD_${s.toUpperCase().replace(/-/g, "_")}_URL`] ?? endpoints[s];
  const caFile = flags.ca ?? env.BULKHEAD_CA_FILE ?? file.ca;
  if (caFile && !existsSync(caFile)) throw new Error(`CA file ${caFile} does not exist`);
  return { endpoints, token: flags.token ?? env.BULKHEAD_TOKEN ?? file.token, ca: caFile ? readFileSync(caFile) : undefined, userIssuerKey: file.userIssuerKey, source: path ?? "defaults" };
}
