// Request validation with the protovalidate rules of the proto. Where a rule's message alone leaves
// the caller guessing, the violation says more: a prefix with host bits set names the prefix it
// probably meant ("host bits set; did you mean 10.1.0.0/16?").
import type { Message } from "@bufbuild/protobuf";
import type { Path } from "@bufbuild/protobuf/reflect";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createValidateInterceptor } from "@connectrpc/validate";
import { ValidationError, violationsToProto, type Validator, type Violation } from "@bufbuild/protovalidate";
import { formatPrefix, parsePrefix } from "@bulkhead/netaddr";

const PREFIX_RULES = new Set(["string.ip_prefix", "string.ipv4_prefix", "string.ipv6_prefix"]);

/** The value at `path` in `message`, if the path leads to one. */
function valueAt(message: Message, path: Path): unknown {
  let value: unknown = message;
  for (const element of path) {
    if (value === null || typeof value !== "object") return undefined;
    if (element.kind === "list_sub") value = (value as unknown[])[element.index];
    else if (element.kind === "map_sub") value = (value as Record<string, unknown>)[String(element.key)];
    else if (element.kind === "field") value = (value as Record<string, unknown>)[element.localName];
    else return undefined;
  }
  return value;
}

/** The violation with a better message where there is one to give. */
function hinted(violation: Violation, message: Message): Violation {
  if (!PREFIX_RULES.has(violation.ruleId)) return violation;
  const value = valueAt(message, violation.field);
  const loose = typeof value === "string" ? parsePrefix(value) : undefined;
  if (loose) violation.message = `host bits set; did you mean ${formatPrefix(loose)}?`;
  return violation;
}

/** Rejects invalid requests with `invalid_argument` and the violations as details, before the handler runs. */
export function validationInterceptor(validator: Validator): Interceptor {
  const streams = createValidateInterceptor({ validator });
  return (next) => async (req) => {
    if (req.stream) return streams(next)(req);
    const result = validator.validate(req.method.input, req.message);
    if (result.kind === "valid") return next(req);
    if (result.kind === "error") throw new ConnectError(result.error.message, Code.InvalidArgument, undefined, [], result.error);
    const violations = result.violations.map((v) => hinted(v, req.message));
    const [details, desc] = violationsToProto(violations);
    throw new ConnectError(new ValidationError(violations).message, Code.InvalidArgument, undefined, [{ desc, value: details }], result.error);
  };
}
