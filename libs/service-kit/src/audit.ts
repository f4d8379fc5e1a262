// Audit records: who called which method on what, with which outcome.
import type { DescMethod } from "@bufbuild/protobuf";
import { methodAccess } from "@bulkhead/api";
import { Auditing } from "@bulkhead/api/gen/bulkhead/common/v1/options_pb.js";

export interface AuditRecord {
  at: Date;
  principal: string;
  method: string;
  target: string;
  requestId: string;
  /** `ok` or the Connect code name, e.g. `permission_denied`. */
  outcome: string;
  message?: string;
}

export interface AuditSink {
  /** Takes the record; a sink that cannot keep up makes the caller wait (back-pressure). */
  record(record: AuditRecord): void | Promise<void>;
}

/** Whether successful and failed calls of the method are recorded (denials always are). */
export function isAudited(method: DescMethod): boolean {
  return methodAccess(method)?.auditing !== Auditing.EXCLUDED;
}

// Top-level request fields that identify what a call is about. Secrets never appear here.
const targetFields = ["project", "id", "device", "uuid", "namespace", "cidr", "parent_cidr", "prefix_cidr", "ip", "network", "network1", "network2", "firewall", "partition", "tenant", "name", "port"];

/** `project=p1 id=n1`: the identifying fields of a request, for the audit log. */
export function auditTarget(method: DescMethod, request: unknown): string {
  const parts: string[] = [];
  for (const name of targetFields) {
    const field = method.input.fields.find((f) => f.name === name && f.fieldKind === "scalar");
    const value = field && (request as Record<string, unknown>)[field.localName];
    if (value !== undefined && value !== "" && value !== 0) parts.push(`${name}=${String(value).slice(0, 128)}`);
  }
  return parts.join(" ");
}
