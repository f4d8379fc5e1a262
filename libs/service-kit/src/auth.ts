// Principals, bearer tokens and the authorization decision derived from a method's access option.
import type { DescMethod } from "@bufbuild/protobuf";
import { createContextKey } from "@connectrpc/connect";
import { randomUUID, type KeyObject } from "node:crypto";
import { decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT, errors as joseErrors, type JWTPayload, type JWTVerifyGetKey, type JWTVerifyOptions } from "jose";
import { methodAccess } from "@bulkhead/api";
import { PlatformRole, ProjectRole } from "@bulkhead/api/gen/bulkhead/common/v1/options_pb.js";

export type PrincipalKind = "user" | "service" | "agent";
export type PlatformRoleName = "admin" | "viewer";
export type ProjectRoleName = "owner" | "editor" | "viewer";

/** Who is calling, as established by the authentication interceptor. */
export interface Principal {
  kind: PrincipalKind;
  /** The token subject: a user name, a service name or a device id. */
  subject: string;
  platformRoles: ReadonlySet<PlatformRoleName>;
  /** Project id → the role held in it. */
  projects: ReadonlyMap<string, ProjectRoleName>;
  /** The device an agent acts for. */
  device?: string;
  /** The token's `jti` and `iat` (seconds), for revocation. */
  tokenId?: string;
  issuedAt?: number;
}

/** How a principal appears in logs and audit records: `user:alice`, `service:network`, `agent:leaf01`. */
export function principalName(principal: Principal | undefined): string {
  return principal ? `${principal.kind}:${principal.subject}` : "anonymous";
}

export const kPrincipal = createContextKey<Principal | undefined>(undefined, { description: "authenticated principal" });

export interface OidcSettings {
  /** `iss` of the identity provider's tokens; tokens with this issuer are verified against its keys. */
  issuer: string;
  audience: string;
  /** The provider's signing keys (JWKS), fetched and cached by jose. */
  keys: JWTVerifyGetKey;
  /** Claim holding the platform roles (an array of `admin`, `viewer`). */
  rolesClaim: string;
  /** Claim holding the projects (an object project id → `owner`, `editor` or `viewer`). */
  projectsClaim: string;
}

export interface TokenSettings {
  /** HMAC-SHA256 key of Bulkhead's own tokens; at least 32 bytes. */
  secret: string;
  issuer: string;
  audience: string;
  clockToleranceSeconds?: number;
  /** When set, Bulkhead's own tokens are accepted only when signed with this key's private half (agents: the reconciler's key); the secret is not used. */
  publicKey?: KeyObject;
  /** People's tokens from an OpenID Connect provider. */
  oidc?: OidcSettings;
  /**
   * Every service's public key by its name: a token whose header names one (`kid`) is verified with
   * it and only ever carries the service kind (as that service) or the agent kind, never a user's.
   */
  serviceKeys?: ReadonlyMap<string, KeyObject>;
  /** This service's own key: the tokens it mints (its calls, agent tokens) are signed with it, `kid` its name. */
  serviceKey?: { name: string; privateKey: KeyObject };
}

export interface TokenClaims {
  kind: PrincipalKind;
  subject: string;
  roles?: PlatformRoleName[];
  projects?: Record<string, ProjectRoleName>;
  device?: string;
  /** Lifetime, e.g. `1h`, `30d`; default 1h. */
  expiresIn?: string;
  /** Audience; the settings' audience when unset. */
  audience?: string;
}

const key = (secret: string) => new TextEncoder().encode(secret);

function claimsJwt(settings: TokenSettings, claims: TokenClaims): SignJWT {
  return new SignJWT({ kind: claims.kind, roles: claims.roles ?? [], projects: claims.projects ?? {}, ...(claims.device ? { device: claims.device } : {}) })
    .setSubject(claims.subject)
    .setIssuer(settings.issuer)
    .setAudience(claims.audience ?? settings.audience)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? "1h");
}

/** Signs a bearer token with the shared secret (services calling each other, issued agent tokens, tests). */
export async function signToken(settings: TokenSettings, claims: TokenClaims): Promise<string> {
  return claimsJwt(settings, claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key(settings.secret));
}

/** Signs a bearer token with a private key (Ed25519): what only its holder can mint, e.g. the reconciler's calls to agents. */
export async function signTokenWithKey(settings: TokenSettings, privateKey: KeyObject, claims: TokenClaims): Promise<string> {
  return claimsJwt(settings, claims).setProtectedHeader({ alg: "EdDSA", typ: "JWT" }).sign(privateKey);
}

/**
 * Signs a token a service mints itself — its own service token or an agent's — with its own key
 * when it has one (no service key can sign a user's token), else with the shared secret (development).
 */
export async function signServiceToken(settings: TokenSettings, claims: TokenClaims & { kind: "service" | "agent" }): Promise<string> {
  const own = settings.serviceKey;
  if (!own) return signToken(settings, claims);
  if (claims.kind === "service" && claims.subject !== own.name) throw new Error(`service ${own.name} cannot sign a token of service ${claims.subject}`);
  return claimsJwt(settings, { ...claims, roles: [], projects: {} }).setProtectedHeader({ alg: "EdDSA", typ: "JWT", kid: own.name }).sign(own.privateKey);
}

export class TokenError extends Error {}

const platformRoleNames = new Set<string>(["admin", "viewer"]);
const projectRoleNames = new Set<string>(["owner", "editor", "viewer"]);

/**
 * Remembers verified tokens for up to a minute (never past their expiry), so a client sending the
 * same token on every call pays for one signature check, not one per call.
 */
export class TokenVerifier {
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(
    private readonly settings: TokenSettings,
    private readonly maxEntries = 10_000,
  ) {}

  async verify(token: string): Promise<Principal> {
    const now = Date.now();
    const hit = this.verified.get(token);
    if (hit && hit.until > now) return hit.principal;
    const { principal, expiresAt } = await verifyTokenClaims(this.settings, token);
    if (this.verified.size >= this.maxEntries) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { principal, until: Math.min(expiresAt, now + 60_000) });
    return principal;
  }
}

/** Verifies a bearer token and returns its principal; throws TokenError with a safe message. */
export async function verifyToken(settings: TokenSettings, token: string): Promise<Principal> {
  return (await verifyTokenClaims(settings, token)).principal;
}

function tokenIssuer(token: string): string | undefined {
  try {
    return decodeJwt(token).iss;
  } catch {
    throw new TokenError("token is not valid");
  }
}

async function verified(token: string, verifyKey: Uint8Array | KeyObject | JWTVerifyGetKey, options: JWTVerifyOptions): Promise<JWTPayload> {
  try {
    const { payload } = await jwtVerify(token, verifyKey as never, { ...options, requiredClaims: ["sub", "exp"] });
    return payload;
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new TokenError("token expired");
    if (error instanceof joseErrors.JWTClaimValidationFailed) throw new TokenError(`token claim ${error.claim} is not valid`);
    if (error instanceof joseErrors.JWKSNoMatchingKey) throw new TokenError("token is signed with a key the identity provider does not publish");
    if (error instanceof joseErrors.JOSEError) throw new TokenError("token is not valid");
    // The identity provider's keys could not be fetched: not the caller's fault.
    throw error;
  }
}

const roleList = (value: unknown) => (Array.isArray(value) ? value.filter((r): r is PlatformRoleName => typeof r === "string" && platformRoleNames.has(r)) : []);

function projectMap(value: unknown): Map<string, ProjectRoleName> {
  const projects = new Map<string, ProjectRoleName>();
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [project, role] of Object.entries(value as Record<string, unknown>)) {
      if (typeof role === "string" && projectRoleNames.has(role)) projects.set(project, role as ProjectRoleName);
    }
  }
  return projects;
}

async function verifyTokenClaims(settings: TokenSettings, token: string): Promise<{ principal: Principal; expiresAt: number }> {
  const clockTolerance = settings.clockToleranceSeconds ?? 30;
  const oidc = settings.oidc;
  if (oidc && tokenIssuer(token) === oidc.issuer) {
    // People: whatever the provider asserts, they are users.
    const payload = await verified(token, oidc.keys, { algorithms: ["RS256", "PS256", "ES256", "EdDSA"], issuer: oidc.issuer, audience: oidc.audience, clockTolerance });
    const principal: Principal = { kind: "user", subject: payload.sub!, platformRoles: new Set(roleList(payload[oidc.rolesClaim])), projects: projectMap(payload[oidc.projectsClaim]), tokenId: payload.jti, issuedAt: payload.iat };
    return { principal, expiresAt: payload.exp! * 1000 };
  }
  const own = { issuer: settings.issuer, audience: settings.audience, clockTolerance };
  const signer = signingService(token);
  if (signer !== undefined) return verifyServiceSigned(settings, token, signer, own);
  // A service configured without a secret accepts no secret-signed token at all.
  if (!settings.publicKey && !settings.secret) throw new TokenError("token is not valid");
  const payload = settings.publicKey ? await verified(token, settings.publicKey, { ...own, algorithms: ["EdDSA"] }) : await verified(token, key(settings.secret), { ...own, algorithms: ["HS256"] });
  const kind = payload.kind;
  if (kind !== "user" && kind !== "service" && kind !== "agent") throw new TokenError("token has no valid kind");
  const device = typeof payload.device === "string" ? payload.device : undefined;
  if (kind === "agent" && !device) throw new TokenError("agent token names no device");
  const principal: Principal = { kind, subject: payload.sub!, platformRoles: new Set(roleList(payload.roles)), projects: projectMap(payload.projects), device, tokenId: payload.jti, issuedAt: payload.iat };
  return { principal, expiresAt: payload.exp! * 1000 };
}

function signingService(token: string): string | undefined {
  try {
    return decodeProtectedHeader(token).kid;
  } catch {
    throw new TokenError("token is not valid");
  }
}

/** A token a service signed with its own key: that service itself, or an agent it issued a token to. */
async function verifyServiceSigned(settings: TokenSettings, token: string, service: string, options: JWTVerifyOptions): Promise<{ principal: Principal; expiresAt: number }> {
  const key = settings.serviceKeys?.get(service);
  if (!key) throw new TokenError("token is signed with a key this service does not know");
  const payload = await verified(token, key, { ...options, algorithms: ["EdDSA"] });
  const none = { platformRoles: new Set<PlatformRoleName>(), projects: new Map<string, ProjectRoleName>(), tokenId: payload.jti, issuedAt: payload.iat };
  const expiresAt = payload.exp! * 1000;
  if (payload.kind === "service") {
    if (payload.sub !== service) throw new TokenError("a service key signs only its own service's tokens");
    return { principal: { kind: "service", subject: service, ...none }, expiresAt };
  }
  if (payload.kind === "agent" && typeof payload.device === "string" && payload.sub === payload.device) return { principal: { kind: "agent", subject: payload.device, device: payload.device, ...none }, expiresAt };
  throw new TokenError("a service key signs only service and agent tokens");
}

const platformRoleOf: Record<PlatformRoleName, PlatformRole> = { admin: PlatformRole.ADMIN, viewer: PlatformRole.VIEWER };
const projectRoleOf: Record<ProjectRoleName, ProjectRole> = { owner: ProjectRole.OWNER, editor: ProjectRole.EDITOR, viewer: ProjectRole.VIEWER };

export type Decision = { allowed: true } | { allowed: false; reason: string };

function stringField(method: DescMethod, message: unknown, name: string): string | undefined {
  const field = method.input.fields.find((f) => f.name === name && f.fieldKind === "scalar");
  if (!field) return undefined;
  const value = (message as Record<string, unknown>)[field.localName];
  return typeof value === "string" ? value : undefined;
}

/**
 * Decides whether `principal` may call `method` with `request`, from the method's access option.
 * Methods without the option are closed to everybody.
 */
export function authorize(method: DescMethod, principal: Principal, request: unknown): Decision {
  const access = methodAccess(method);
  if (!access) return { allowed: false, reason: `${method.parent.typeName}/${method.name} declares no access rule` };
  if (access.authenticated) return { allowed: true };
  for (const role of principal.platformRoles) {
    if (access.platformRoles.includes(platformRoleOf[role])) return { allowed: true };
  }
  if (access.service && principal.kind === "service") return { allowed: true };
  if (access.agent && principal.kind === "agent") {
    const device = stringField(method, request, "device");
    if (device && device === principal.device) return { allowed: true };
    return { allowed: false, reason: `agent ${principal.device} may only act for its own device` };
  }
  if (access.projectRoles.length > 0 && principal.kind === "user" && principal.projects.size > 0) {
    const project = stringField(method, request, "project");
    if (!project) return { allowed: false, reason: "project members must name the project they act for in the field `project`" };
    const role = principal.projects.get(project);
    if (role && access.projectRoles.includes(projectRoleOf[role])) return { allowed: true };
    const wanted = access.projectRoles.map((r) => ProjectRole[r].toLowerCase()).join(" or ");
    return { allowed: false, reason: role ? `this needs the ${wanted} role in project ${project}; you are ${role}` : `you are not a member of project ${project}` };
  }
  return { allowed: false, reason: `${method.name} is not permitted for ${principalName(principal)}` };
}
