// Principals, bearer tokens and the authorization decision derived from a method's access option.
import type { DescMethod } from "@bufbuild/protobuf";
import { createContextKey } from "@connectrpc/connect";
import { jwtVerify, SignJWT, errors as joseErrors } from "jose";
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
}

/** How a principal appears in logs and audit records: `user:alice`, `service:network`, `agent:leaf01`. */
export function principalName(principal: Principal | undefined): string {
  return principal ? `${principal.kind}:${principal.subject}` : "anonymous";
}

export const kPrincipal = createContextKey<Principal | undefined>(undefined, { description: "authenticated principal" });

export interface TokenSettings {
  /** HMAC-SHA256 key; at least 32 bytes. */
  secret: string;
  issuer: string;
  audience: string;
  clockToleranceSeconds?: number;
}

export interface TokenClaims {
  kind: PrincipalKind;
  subject: string;
  roles?: PlatformRoleName[];
  projects?: Record<string, ProjectRoleName>;
  device?: string;
  /** Lifetime, e.g. `1h`, `30d`; default 1h. */
  expiresIn?: string;
}

const key = (secret: string) => new TextEncoder().encode(secret);

/** Signs a bearer token (for the dev launcher, services calling each other, and tests). */
export async function signToken(settings: TokenSettings, claims: TokenClaims): Promise<string> {
  return new SignJWT({ kind: claims.kind, roles: claims.roles ?? [], projects: claims.projects ?? {}, ...(claims.device ? { device: claims.device } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(claims.subject)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt()
    .setExpirationTime(claims.expiresIn ?? "1h")
    .sign(key(settings.secret));
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

async function verifyTokenClaims(settings: TokenSettings, token: string): Promise<{ principal: Principal; expiresAt: number }> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, key(settings.secret), {
      algorithms: ["HS256"],
      issuer: settings.issuer,
      audience: settings.audience,
      clockTolerance: settings.clockToleranceSeconds ?? 30,
      requiredClaims: ["sub", "exp"],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new TokenError("token expired");
    if (error instanceof joseErrors.JWTClaimValidationFailed) throw new TokenError(`token claim ${error.claim} is not valid`);
    throw new TokenError("token is not valid");
  }
  const kind = payload.kind;
  if (kind !== "user" && kind !== "service" && kind !== "agent") throw new TokenError("token has no valid kind");
  const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is PlatformRoleName => typeof r === "string" && platformRoleNames.has(r)) : [];
  const projects = new Map<string, ProjectRoleName>();
  if (payload.projects && typeof payload.projects === "object") {
    for (const [project, role] of Object.entries(payload.projects as Record<string, unknown>)) {
      if (typeof role === "string" && projectRoleNames.has(role)) projects.set(project, role as ProjectRoleName);
    }
  }
  const device = typeof payload.device === "string" ? payload.device : undefined;
  if (kind === "agent" && !device) throw new TokenError("agent token names no device");
  return { principal: { kind, subject: payload.sub!, platformRoles: new Set(roles), projects, device }, expiresAt: payload.exp! * 1000 };
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
