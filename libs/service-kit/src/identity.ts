// Which bearer tokens a service accepts: the services' own (each signed with that service's key),
// Bulkhead's user and agent tokens (the user-token issuer's public key, or in development a shared
// secret), and people's from an OpenID Connect provider, whose keys are fetched through discovery.
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { allowInsecureRequests, discovery } from "openid-client";
import type { TokenSettings } from "./auth.js";
import { ConfigError, type Config } from "./config.js";
import type { kitConfigSpec } from "./service.js";

const DISCOVERY_TIMEOUT_S = 5;

/** The kit's variables that decide which tokens a service accepts. */
type IdentityConfig = Pick<
  Config<ReturnType<typeof kitConfigSpec>>,
  | `BULKHEAD_JWT_${"SECRET" | "PUBLIC_KEY_FILE" | "ISSUER" | "AUDIENCE" | "CLOCK_SKEW_S"}`
  | `BULKHEAD_OIDC_${"ISSUER" | "AUDIENCE" | "JWKS_URL" | "ROLES_CLAIM" | "PROJECTS_CLAIM"}`
  | `BULKHEAD_SERVICE_${"KEY_FILE" | "KEYS_DIR"}`
>;

const PUBLIC_KEY_SUFFIX = ".pub";

/** The services' public keys in `dir`, `<service>.pub` each. */
function serviceKeys(dir: string): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith(PUBLIC_KEY_SUFFIX))) {
    const key = createPublicKey(readFileSync(join(dir, file)));
    if (key.asymmetricKeyType !== "ed25519") throw new ConfigError([`BULKHEAD_SERVICE_KEYS_DIR: ${file} is not an Ed25519 public key`]);
    keys.set(file.slice(0, -PUBLIC_KEY_SUFFIX.length), key);
  }
  return keys;
}

/** Which tokens the service `name` accepts and how it signs its own, from its configuration. */
export function tokenSettings(config: IdentityConfig, name: string): TokenSettings {
  if (!config.BULKHEAD_JWT_SECRET && !config.BULKHEAD_JWT_PUBLIC_KEY_FILE && !config.BULKHEAD_SERVICE_KEYS_DIR) {
    throw new ConfigError(["BULKHEAD_JWT_SECRET: required (unless BULKHEAD_JWT_PUBLIC_KEY_FILE or BULKHEAD_SERVICE_KEYS_DIR is set)"]);
  }
  if (config.BULKHEAD_SERVICE_KEY_FILE && !config.BULKHEAD_SERVICE_KEYS_DIR) throw new ConfigError(["BULKHEAD_SERVICE_KEYS_DIR: required with BULKHEAD_SERVICE_KEY_FILE (the other services' public keys)"]);
  const privateKey = config.BULKHEAD_SERVICE_KEY_FILE ? createPrivateKey(readFileSync(config.BULKHEAD_SERVICE_KEY_FILE)) : undefined;
  if (privateKey && privateKey.asymmetricKeyType !== "ed25519") throw new ConfigError(["BULKHEAD_SERVICE_KEY_FILE: not an Ed25519 private key"]);
  const issuer = config.BULKHEAD_OIDC_ISSUER;
  return {
    serviceKeys: config.BULKHEAD_SERVICE_KEYS_DIR ? serviceKeys(config.BULKHEAD_SERVICE_KEYS_DIR) : undefined,
    serviceKey: privateKey ? { name, privateKey } : undefined,
    secret: config.BULKHEAD_JWT_SECRET,
    issuer: config.BULKHEAD_JWT_ISSUER,
    audience: config.BULKHEAD_JWT_AUDIENCE,
    clockToleranceSeconds: config.BULKHEAD_JWT_CLOCK_SKEW_S,
    publicKey: config.BULKHEAD_JWT_PUBLIC_KEY_FILE ? createPublicKey(readFileSync(config.BULKHEAD_JWT_PUBLIC_KEY_FILE)) : undefined,
    oidc: issuer
      ? {
          issuer,
          audience: config.BULKHEAD_OIDC_AUDIENCE,
          keys: config.BULKHEAD_OIDC_JWKS_URL ? createRemoteJWKSet(new URL(config.BULKHEAD_OIDC_JWKS_URL)) : discoveredKeys(issuer, config.BULKHEAD_OIDC_AUDIENCE),
          rolesClaim: config.BULKHEAD_OIDC_ROLES_CLAIM,
          projectsClaim: config.BULKHEAD_OIDC_PROJECTS_CLAIM,
        }
      : undefined,
  };
}

/**
 * The provider's keys, found through OpenID Connect discovery (openid-client: the discovered
 * issuer must be exactly the configured one) on first use and again after a failure; jose's remote
 * key set follows the provider's key rotation.
 */
function discoveredKeys(issuer: string, audience: string): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  return async (header, token) => {
    keys ??= (async () => {
      // A plain-http issuer is the operator's explicit choice (a lab, a test); https is checked as usual.
      const insecure = new URL(issuer).protocol === "http:" ? [allowInsecureRequests] : [];
      const provider = await discovery(new URL(issuer), audience, undefined, undefined, { execute: insecure, timeout: DISCOVERY_TIMEOUT_S });
      const uri = provider.serverMetadata().jwks_uri;
      if (!uri) throw new Error(`OIDC discovery at ${issuer} names no jwks_uri`);
      return createRemoteJWKSet(new URL(uri));
    })().catch((error) => {
      keys = undefined;
      throw error;
    });
    return (await keys)(header, token);
  };
}
