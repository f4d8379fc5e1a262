// Which bearer tokens a service accepts: Bulkhead's own (shared secret, or only a public key's),
// and people's from an OpenID Connect provider, whose keys are fetched through discovery.
import { createPublicKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRemoteJWKSet, type JWTVerifyGetKey } from "jose";
import { allowInsecureRequests, discovery } from "openid-client";
import type { TokenSettings } from "./auth.js";
import { ConfigError, type Config } from "./config.js";
import type { kitConfigSpec } from "./service.js";

const DISCOVERY_TIMEOUT_S = 5;

/** The kit's variables that decide which tokens a service accepts. */
type IdentityConfig = Pick<
  Config<ReturnType<typeof kitConfigSpec>>,
  `BULKHEAD_JWT_${"SECRET" | "PUBLIC_KEY_FILE" | "ISSUER" | "AUDIENCE" | "CLOCK_SKEW_S"}` | `BULKHEAD_OIDC_${"ISSUER" | "AUDIENCE" | "JWKS_URL" | "ROLES_CLAIM" | "PROJECTS_CLAIM"}`
>;

/** Which tokens the service accepts, from its configuration. */
export function tokenSettings(config: IdentityConfig): TokenSettings {
  if (!config.BULKHEAD_JWT_SECRET && !config.BULKHEAD_JWT_PUBLIC_KEY_FILE) throw new ConfigError(["BULKHEAD_JWT_SECRET: required (unless BULKHEAD_JWT_PUBLIC_KEY_FILE is set)"]);
  const issuer = config.BULKHEAD_OIDC_ISSUER;
  return {
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
