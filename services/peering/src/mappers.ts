// Rows and plans → protobuf messages.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ExternalSessionSchema, PeeringSchema, VrfImportSchema, VrfPlanSchema, type ExternalSession, type Peering, type VrfPlan } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import type { ExternalSession as SessionRow, VrfPlan as PlanRow } from "./plan.js";
import type { PeeringRow } from "./store.js";

export const peeringMessage = (p: PeeringRow): Peering =>
  create(PeeringSchema, {
    id: p.id,
    project: p.project,
    name: p.name,
    type: p.type,
    network1: p.network1,
    network2: p.network2 ?? "",
    bgp: p.bgp ? { local: p.bgp.local, remote: p.bgp.remote, switch: p.exit_switch!, port: p.exit_port!, remotePrefixes: p.bgp.remotePrefixes ?? [], maximumPrefixes: p.bgp.maximumPrefixes ?? 0 } : undefined,
    automatic: p.automatic,
    createdAt: timestampFromDate(p.created_at),
  });

export const vrfPlanMessage = (v: PlanRow): VrfPlan => create(VrfPlanSchema, { ...v, imports: v.imports.map((i) => create(VrfImportSchema, i)) });

export const sessionMessage = (s: SessionRow): ExternalSession => create(ExternalSessionSchema, s);
