// The interceptor chain, outermost first: logging → errors → authentication → rate limit →
// authorization → validation → audit → idempotency keys.
import { createHash, randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel, durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createContextKey, type Interceptor, type StreamRequest, type StreamResponse, type UnaryRequest, type UnaryResponse } from "@connectrpc/connect";
import type { Validator } from "@bufbuild/protovalidate";
import { validationInterceptor } from "./validation.js";
import type { IdempotencyKeys } from "@bulkhead/db";
import { RetryInfoSchema } from "@bulkhead/api/gen/google/rpc/error_details_pb.js";
import { CHANGES_HEADER, IDEMPOTENCY_HEADER } from "@bulkhead/api/headers";
import { collectChanges } from "@bulkhead/db";
import { auditTarget, isAudited, type AuditRecord, type AuditSink } from "./audit.js";
import { authorize, kPrincipal, principalName, TokenError, TokenVerifier, type TokenSettings } from "./auth.js";
import { toConnectError } from "./errors.js";
import { occasionalWarning, type Logger, type RpcMetrics } from "./observability.js";
import type { RateLimiter } from "./ratelimit.js";
import type { Revocations } from "./revocation.js";

export const kRequestId = createContextKey<string>("", { description: "request id" });
export const kLogger = createContextKey<Logger | undefined>(undefined, { description: "request logger" });

/** `invalid_argument` for Code.InvalidArgument, `ok` for success. */
export function codeName(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

const isOpen = (typeName: string) => typeName.startsWith("grpc.");
const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's network address, as the listener saw it. */
export const kRemoteAddress = createContextKey<string>("", { description: "remote address" });

export interface InterceptorDeps {
  service: string;
  logger: Logger;
  metrics: RpcMetrics;
  tokens: TokenSettings;
  audit: AuditSink;
  validator: Validator;
  /** Revoked tokens and principals (services with storage). */
  revocations?: Revocations;
  /** Per-principal limits; services (kind `service`) are not limited. */
  rateLimiter?: RateLimiter;
  /** Limits of calls without a valid token, per source address: they are audited, so they must not flood the log. */
  anonymousLimiter?: RateLimiter;
  /** Idempotency keys of mutating calls (services with storage). */
  idempotency?: IdempotencyKeys;
}

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

function loggingInterceptor({ logger, metrics }: InterceptorDeps): Interceptor {
  return (next) => async (req) => {
    const supplied = req.header.get("x-request-id");
    const requestId = supplied && requestIdPattern.test(supplied) ? supplied : randomUUID();
    const log = logger.child({ request_id: requestId, rpc: `${req.service.typeName}/${req.method.name}` });
    req.contextValues.set(kRequestId, requestId);
    req.contextValues.set(kLogger, log);
    const started = performance.now();
    let code: Code | undefined;
    try {
      const res = await next(req);
      res.header.set("x-request-id", requestId);
      return res;
    } catch (error) {
      const connectError = ConnectError.from(error);
      connectError.metadata.set("x-request-id", requestId);
      code = connectError.code;
      throw connectError;
    } finally {
      const seconds = (performance.now() - started) / 1000;
      metrics.requests.inc({ service: req.service.typeName, method: req.method.name, code: codeName(code) });
      metrics.duration.observe({ service: req.service.typeName, method: req.method.name }, seconds);
      const entry = { code: codeName(code), duration_ms: Math.round(seconds * 1e4) / 10, principal: principalName(req.contextValues.get(kPrincipal)), protocol: req.requestMethod };
      if (code === undefined) (isOpen(req.service.typeName) || !isAudited(req.method) ? log.debug(entry, "rpc") : log.info(entry, "rpc"));
      else if (code === Code.Internal || code === Code.Unknown || code === Code.Unavailable || code === Code.DataLoss) log.error(entry, "rpc failed");
      else log.info(entry, "rpc refused");
    }
  };
}

/** The audit record of a call: its principal (anonymous before authentication), method, target and outcome. */
function auditRecord(req: UnaryRequest | StreamRequest, outcome: string, message?: string, target = req.stream ? "" : auditTarget(req.method, req.message)): AuditRecord {
  return { at: new Date(), principal: principalName(req.contextValues.get(kPrincipal)), method: `${req.service.typeName}/${req.method.name}`, target, requestId: req.contextValues.get(kRequestId), outcome, message };
}

async function* mapStreamErrors<T>(stream: AsyncIterable<T>, onError: (error: unknown) => ConnectError): AsyncIterable<T> {
  try {
    yield* stream;
  } catch (error) {
    throw onError(error);
  }
}

function errorInterceptor(): Interceptor {
  return (next) => async (req) => {
    const translate = (error: unknown) => {
      const { error: connectError, internal } = toConnectError(error);
      if (internal) req.contextValues.get(kLogger)?.error({ err: error }, "handler failed");
      return connectError;
    };
    try {
      const res = await next(req);
      if (!res.stream) return res;
      return { ...res, message: mapStreamErrors(res.message, translate) } as StreamResponse;
    } catch (error) {
      throw translate(error);
    }
  };
}

function authenticationInterceptor({ tokens, audit, revocations, anonymousLimiter, logger }: InterceptorDeps): Interceptor {
  const verifier = new TokenVerifier(tokens);
  const warn = occasionalWarning(logger, 10_000);
  return (next) => async (req) => {
    if (isOpen(req.service.typeName)) return next(req);
    const header = req.header.get("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    const deny = async (message: string): Promise<never> => {
      const address = req.contextValues.get(kRemoteAddress);
      const decision = await anonymousLimiter?.take(`address:${address}`).catch((error) => {
        warn(error, "limits of unauthenticated calls not enforced: valkey does not answer");
        return undefined;
      });
      if (decision && !decision.allowed) throw new ConnectError(`too many unauthenticated calls from ${address}; retry in ${decision.retryAfterMs} ms`, Code.ResourceExhausted);
      await audit.record(auditRecord(req, "unauthenticated", message, ""));
      throw new ConnectError(message, Code.Unauthenticated);
    };
    if (!match) return deny("missing bearer token in the authorization header");
    let principal;
    try {
      principal = await verifier.verify(match[1]!);
    } catch (error) {
      if (error instanceof TokenError) return deny(error.message);
      throw new ConnectError("the token cannot be checked now: the identity provider's keys are not reachable", Code.Unavailable, undefined, undefined, error);
    }
    const verdict = revocations?.verdict(principal) ?? "valid";
    if (verdict === "revoked") return deny("token revoked");
    // Services' tokens are never revoked one by one: the platform keeps working while Valkey is away.
    if (verdict === "unknown" && principal.kind !== "service") {
      throw new ConnectError("the revocation list has not been read yet (valkey does not answer); retry shortly", Code.Unavailable);
    }
    req.contextValues.set(kPrincipal, principal);
    return next(req);
  };
}

function rateLimitInterceptor({ rateLimiter, audit, logger }: InterceptorDeps): Interceptor {
  const warn = occasionalWarning(logger, 10_000);
  return (next) => async (req) => {
    const principal = req.contextValues.get(kPrincipal);
    if (!rateLimiter || !principal || principal.kind === "service") return next(req);
    const name = principalName(principal);
    let decision;
    try {
      decision = await rateLimiter.take(name);
    } catch (error) {
      // Limits protect the service; an unreachable Valkey must not take the API down with it.
      warn(error, "rate limits not enforced: valkey does not answer");
      return next(req);
    }
    if (decision.allowed) return next(req);
    const message = `rate limit exceeded for ${name}; retry in ${decision.retryAfterMs} ms`;
    await audit.record(auditRecord(req, "resource_exhausted", message));
    throw new ConnectError(message, Code.ResourceExhausted, { "retry-after": String(Math.ceil(decision.retryAfterMs / 1000)) }, [
      { desc: RetryInfoSchema, value: create(RetryInfoSchema, { retryDelay: durationFromMs(decision.retryAfterMs) }) },
    ]);
  };
}

function authorizationInterceptor({ audit }: InterceptorDeps): Interceptor {
  return (next) => async (req) => {
    if (isOpen(req.service.typeName)) return next(req);
    const principal = req.contextValues.get(kPrincipal)!;
    const decision = authorize(req.method, principal, req.stream ? undefined : req.message);
    if (!decision.allowed) {
      await audit.record(auditRecord(req, "permission_denied", decision.reason));
      throw new ConnectError(`permission denied: ${decision.reason}`, Code.PermissionDenied);
    }
    return next(req);
  };
}

function auditInterceptor({ audit }: InterceptorDeps): Interceptor {
  return (next) => async (req) => {
    if (isOpen(req.service.typeName) || req.stream || !isAudited(req.method)) return next(req);
    const record = (outcome: string, message?: string) => audit.record(auditRecord(req, outcome, message));
    try {
      const res = (await next(req)) as UnaryResponse;
      await record("ok");
      return res;
    } catch (error) {
      const { error: connectError } = toConnectError(error);
      await record(codeName(connectError.code), connectError.rawMessage);
      throw error;
    }
  };
}

/**
 * A mutating call with an `idempotency-key` header runs once per principal and key: a retry with
 * the same request gets the first call's response; another request under the key is
 * `already_exists`; while the first still runs, `aborted` (retry shortly).
 */
function idempotencyInterceptor({ idempotency }: InterceptorDeps): Interceptor {
  return (next) => async (req) => {
    const key = req.header.get(IDEMPOTENCY_HEADER);
    if (!idempotency || key === null || req.stream || req.method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) return next(req);
    if (!IDEMPOTENCY_KEY.test(key)) throw new ConnectError(`${IDEMPOTENCY_HEADER} header: 1 to 128 printable ASCII characters without spaces`, Code.InvalidArgument);
    const principal = principalName(req.contextValues.get(kPrincipal));
    const method = `${req.service.typeName}/${req.method.name}`;
    const requestHash = createHash("sha256").update(toBinary(req.method.input, req.message)).digest("hex");
    const claim = await idempotency.claim(principal, key, method, requestHash);
    if (claim.state === "other-request") throw new ConnectError(`${IDEMPOTENCY_HEADER} ${key} was used for another request (${claim.method}); use a new key for a new request`, Code.AlreadyExists);
    if (claim.state === "running") throw new ConnectError(`a call with ${IDEMPOTENCY_HEADER} ${key} is still running; retry shortly`, Code.Aborted);
    if (claim.state === "replay") {
      // Answered in the protocol and encoding of the request, as the handler's response would be
      // (gRPC and gRPC-Web carry the status in a trailer).
      const contentType = req.header.get("content-type") ?? "";
      const header = new Headers({ "content-type": contentType, "idempotent-replay": "true", ...(claim.changes ? { [CHANGES_HEADER]: claim.changes } : {}) });
      const trailer = new Headers(contentType.startsWith("application/grpc") ? { "grpc-status": "0" } : {});
      return { stream: false, service: req.service, method: req.method, header, trailer, message: fromBinary(req.method.output, claim.response) } as UnaryResponse;
    }
    try {
      const res = (await next(req)) as UnaryResponse;
      await idempotency.complete(principal, key, toBinary(req.method.output, res.message), res.header.get(CHANGES_HEADER) ?? "");
      return res;
    } catch (error) {
      await idempotency.release(principal, key);
      throw error;
    }
  };
}

/** Names, in a response header, the fabric changes the call committed (see CHANGES_HEADER). */
function changesInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (req.stream) return next(req);
    const changes: string[] = [];
    const res = await collectChanges(changes, () => next(req));
    if (changes.length > 0) res.header.set(CHANGES_HEADER, changes.join(","));
    return res;
  };
}

export function createInterceptors(deps: InterceptorDeps): Interceptor[] {
  return [
    loggingInterceptor(deps),
    errorInterceptor(),
    authenticationInterceptor(deps),
    rateLimitInterceptor(deps),
    authorizationInterceptor(deps),
    validationInterceptor(deps.validator),
    auditInterceptor(deps),
    idempotencyInterceptor(deps),
    changesInterceptor(),
  ];
}
