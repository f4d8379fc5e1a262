// bulkhead.audit.v1.AuditService: admins read the service's own append-only audit log.
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { AuditService } from "@bulkhead/api/gen/bulkhead/audit/v1/audit_pb.js";
import { readAuditLog, type Pool } from "@bulkhead/db";
import { InvalidArgumentError } from "./errors.js";
import { listPage } from "./paging.js";

function validTime(field: string, date: Date): Date {
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(field, "is not a representable time");
  return date;
}

export function auditService(pool: Pool): ServiceImpl<typeof AuditService> {
  return {
    async listAuditEvents(req) {
      const since = req.since && validTime("since", timestampDate(req.since));
      const until = req.until && validTime("until", timestampDate(req.until));
      if (since && until && since >= until) throw new InvalidArgumentError("until", "must be later than since");
      const { items, nextPageToken } = await listPage(
        req,
        (beforeId, limit) => {
          if (beforeId !== undefined && !/^\d{1,19}$/.test(beforeId)) throw new InvalidArgumentError("page_token", "is not a token returned by a previous call");
          return readAuditLog(pool, limit, { principal: req.principal, method: req.method, outcome: req.outcome, target: req.target, since, until, beforeId });
        },
        (r) => r.id,
      );
      return {
        nextPageToken,
        events: items.map((r) => ({ id: BigInt(r.id), at: timestampFromDate(r.at), principal: r.principal, method: r.method, target: r.target, requestId: r.requestId, outcome: r.outcome, message: r.message ?? "" })),
      };
    },
  };
}
