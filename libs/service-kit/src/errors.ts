// Typed domain errors thrown by domain logic, and their translation to Connect errors.
import { create, fromBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { createApiRegistry } from "@bulkhead/api";
import { Code, ConnectError } from "@connectrpc/connect";
import { FieldPathElementSchema, FieldPathSchema, ViolationSchema, ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { ResourceInfoSchema } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";

/** Whether a call to another service failed with `not_found` (the one way callers test for it). */
export const isNotFound = (error: unknown): boolean => error instanceof ConnectError && error.code === Code.NotFound;

/** A detail message attached to the Connect error sent to the client. */
export interface ErrorDetail {
  desc: DescMessage;
  value: MessageShape<DescMessage>;
}

export abstract class DomainError extends Error {
  abstract readonly code: Code;
  readonly details: ErrorDetail[] = [];

  withDetail<Desc extends DescMessage>(desc: Desc, value: MessageShape<Desc>): this {
    this.details.push({ desc, value });
    return this;
  }
}

/** The caller sent something wrong in `field` (a dotted path, e.g. `networks.0.network`). */
export class InvalidArgumentError extends DomainError {
  readonly code = Code.InvalidArgument;
  constructor(
    readonly field: string,
    reason: string,
    readonly ruleId = "domain",
  ) {
    super(`${field}: ${reason}`);
    this.name = "InvalidArgumentError";
  }
}

export class NotFoundError extends DomainError {
  readonly code = Code.NotFound;
  constructor(
    readonly resourceType: string,
    readonly resourceName: string,
    message = `${resourceType} ${JSON.stringify(resourceName)} not found`,
  ) {
    super(message);
    this.name = "NotFoundError";
  }
}

export class AlreadyExistsError extends DomainError {
  readonly code = Code.AlreadyExists;
  constructor(
    readonly resourceType: string,
    readonly resourceName: string,
    message = `${resourceType} ${JSON.stringify(resourceName)} already exists`,
  ) {
    super(message);
    this.name = "AlreadyExistsError";
  }
}

/** The request is well-formed but the system is not in a state that allows it. */
export class FailedPreconditionError extends DomainError {
  readonly code = Code.FailedPrecondition;
  constructor(message: string, readonly resource?: { type: string; name: string }) {
    super(message);
    this.name = "FailedPreconditionError";
  }
}

export class ResourceExhaustedError extends DomainError {
  readonly code = Code.ResourceExhausted;
  constructor(message: string) {
    super(message);
    this.name = "ResourceExhaustedError";
  }
}

export class PermissionDeniedError extends DomainError {
  readonly code = Code.PermissionDenied;
  constructor(message: string) {
    super(message);
    this.name = "PermissionDeniedError";
  }
}

/** A concurrent change won; the caller may retry. */
export class AbortedError extends DomainError {
  readonly code = Code.Aborted;
  constructor(message: string) {
    super(message);
    this.name = "AbortedError";
  }
}

/** A dependency (another service, Valkey) is not reachable; the caller may retry. */
export class UnavailableError extends DomainError {
  readonly code = Code.Unavailable;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UnavailableError";
  }
}

/** A buf.validate.Violations detail for one field, the same shape protovalidate sends. */
export function fieldViolation(field: string, message: string, ruleId: string) {
  return create(ViolationsSchema, {
    violations: [
      create(ViolationSchema, {
        field: create(FieldPathSchema, { elements: field.split(".").map((fieldName) => create(FieldPathElementSchema, { fieldName })) }),
        ruleId,
        message,
      }),
    ],
  });
}

const registry = createApiRegistry();

/**
 * An error received from another service carries that service's response headers as metadata
 * (sending them on would corrupt our own response) and its details as raw bytes (a server can only
 * send details it has a schema for). Such an error is rebuilt: same code and message, known detail
 * types decoded again, unknown ones and the foreign headers dropped.
 */
function forwardable(error: ConnectError): ConnectError {
  const received = error.metadata.has("content-type") || error.details.some((d) => !("desc" in d));
  if (!received) return error;
  const details: ErrorDetail[] = [];
  for (const d of error.details) {
    if ("desc" in d) {
      details.push(d as ErrorDetail);
      continue;
    }
    const desc = registry.getMessage(d.type);
    if (desc) details.push({ desc, value: fromBinary(desc, d.value) });
  }
  return new ConnectError(error.rawMessage, error.code, undefined, details, error.cause);
}

function pgErrorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("severity" in error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Translates anything thrown by a handler into the Connect error the client sees. Returns
 * `internal: true` for errors that are not the caller's doing and must be logged with their cause.
 */
/**
 * Messages echo what the caller sent (an id, a CIDR); a huge value must not become a huge
 * grpc-message trailer, which HTTP/2 peers refuse (FRAME_SIZE_ERROR) and which kills the session.
 */
const MAX_ECHO = 512;
export const clip = (text: string, max = MAX_ECHO): string => (text.length > max ? `${text.slice(0, max)}… (${text.length - max} more characters)` : text);

/** At most this many field violations travel back (a list of 2,000 bad CIDRs is 2,000 violations). */
const MAX_VIOLATIONS = 20;
type Violations = { violations: { message: string }[] };

/**
 * One detail, made small: violations capped in number and each message clipped. Compared by type
 * name, since the validation interceptor's ViolationsSchema is another copy of the same type.
 */
function boundedDetail(detail: ErrorDetail): ErrorDetail {
  if (detail.desc.typeName !== ViolationsSchema.typeName) return detail;
  const value = detail.value as unknown as Violations;
  const violations = value.violations.slice(0, MAX_VIOLATIONS).map((v) => ({ ...v, message: clip(v.message, 256) }));
  return { desc: detail.desc, value: { ...value, violations } as unknown as ErrorDetail["value"] };
}

/** The error with its message clipped and its details bounded, so that its trailers stay small. */
function bounded(error: ConnectError): ConnectError {
  // forwardable() left only details with a schema.
  return new ConnectError(clip(error.rawMessage), error.code, error.metadata, (error.details as ErrorDetail[]).map(boundedDetail), error.cause);
}

export function toConnectError(error: unknown): { error: ConnectError; internal: boolean } {
  if (error instanceof ConnectError) return { error: bounded(forwardable(error)), internal: error.code === Code.Internal || error.code === Code.Unknown };
  if (error instanceof DomainError) {
    const details: ErrorDetail[] = [...error.details];
    if (error instanceof InvalidArgumentError) {
      details.unshift({ desc: ViolationsSchema, value: fieldViolation(error.field, clip(error.message.slice(error.field.length + 2)), error.ruleId) });
    } else if (error instanceof NotFoundError || error instanceof AlreadyExistsError) {
      details.unshift({ desc: ResourceInfoSchema, value: create(ResourceInfoSchema, { resourceType: error.resourceType, resourceName: clip(error.resourceName), description: clip(error.message) }) });
    } else if (error instanceof FailedPreconditionError && error.resource) {
      details.unshift({ desc: ResourceInfoSchema, value: create(ResourceInfoSchema, { resourceType: error.resource.type, resourceName: clip(error.resource.name), description: clip(error.message) }) });
    }
    return { error: new ConnectError(clip(error.message), error.code, undefined, details, error), internal: false };
  }
  const state = pgErrorCode(error);
  if (state === "40001" || state === "40P01") return { error: new ConnectError("concurrent update, retry the request", Code.Aborted, undefined, undefined, error), internal: false };
  if (state === "57014") return { error: new ConnectError("the database took too long", Code.DeadlineExceeded, undefined, undefined, error), internal: true };
  if (state?.startsWith("08") || state === "57P01" || state === "53300") {
    return { error: new ConnectError("the database is not available", Code.Unavailable, undefined, undefined, error), internal: true };
  }
  if (error instanceof Error && /ECONNREFUSED|ECONNRESET|Connection terminated/.test(error.message)) {
    return { error: new ConnectError("a dependency is not available", Code.Unavailable, undefined, undefined, error), internal: true };
  }
  return { error: new ConnectError("internal error", Code.Internal, undefined, undefined, error), internal: true };
}
