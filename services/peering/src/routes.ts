// Thin handlers: protobuf in, domain call with the caller's scope, protobuf out.
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { kPrincipal, listPageByKeys, scopeOf } from "@bulkhead/service-kit";
import { PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { peeringMessage, sessionMessage, vrfPlanMessage } from "./mappers.js";
import type { Peerings } from "./peerings.js";

const scope = (ctx: HandlerContext, project: string) => scopeOf(ctx.values.get(kPrincipal), project);

export function peeringRoutes(peerings: Peerings) {
  return (router: ConnectRouter) => {
    router.service(PeeringService, {
      async createPeering(req, ctx) {
        return { peering: peeringMessage(await peerings.create(scope(ctx, req.project), req)) };
      },
      async getPeering(req, ctx) {
        return { peering: peeringMessage(await peerings.get(scope(ctx, req.project), req.id)) };
      },
      async listPeerings(req, ctx) {
        const filter = { network: req.network || undefined, partition: req.partition || undefined };
        const { items, nextPageToken } = await listPageByKeys(req, 2, (after, limit) => peerings.list(scope(ctx, req.project), filter, { after, limit }), (p) => [p.created_key, p.id]);
        return { peerings: items.map(peeringMessage), nextPageToken };
      },
      async deletePeering(req, ctx) {
        return { peering: peeringMessage(await peerings.delete(scope(ctx, req.project), req.id)) };
      },
      async releaseNetwork(req) {
        return { removed: (await peerings.releaseNetwork(req.network, req.owner || undefined)).map(peeringMessage) };
      },
      async syncAutoPeerings(req) {
        const { created, removed } = await peerings.syncProject(req.project);
        return { created: created.map(peeringMessage), removed: removed.map(peeringMessage) };
      },
      async getRouteLeakPlan(req) {
        const plan = await peerings.plan(req.partition, req.vrf);
        return { vrfs: plan.vrfs.map(vrfPlanMessage), externalSessions: plan.externalSessions.map(sessionMessage) };
      },
    });
  };
}
