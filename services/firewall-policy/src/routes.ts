// Thin handlers: protobuf in, domain call with the caller's scope, protobuf out.
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { kPrincipal, listPageByKeys, scopeOf } from "@bulkhead/service-kit";
import { NetworkPolicyService, RulesetOutcome } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { optionsMessage, optionsOf, policyMessage } from "./mappers.js";
import type { Policies } from "./policies.js";
import { draftOf } from "./spec.js";

const scope = (ctx: HandlerContext, project: string) => scopeOf(ctx.values.get(kPrincipal), project);

export function policyRoutes(policies: Policies) {
  return (router: ConnectRouter) => {
    router.service(NetworkPolicyService, {
      async createPolicy(req) {
        return { policy: policyMessage(await policies.create(req.project, draftOf(req.spec!))) };
      },
      async getPolicy(req, ctx) {
        return { policy: policyMessage(await policies.get(scope(ctx, req.project), req.id)) };
      },
      async listPolicies(req, ctx) {
        const filter = { firewall: req.firewall || undefined, state: req.state || undefined };
        const { items, nextPageToken } = await listPageByKeys(req, 2, (after, limit) => policies.list(scope(ctx, req.project), filter, { after, limit }), (p) => [p.project, p.name]);
        return { policies: items.map(policyMessage), nextPageToken };
      },
      async updatePolicy(req, ctx) {
        return { policy: policyMessage(await policies.update(scope(ctx, req.project), req.id, draftOf(req.spec!))) };
      },
      async deletePolicy(req, ctx) {
        return { policy: policyMessage(await policies.delete(scope(ctx, req.project), req.id)) };
      },
      async planPolicy(req) {
        return policies.plan(req.project, draftOf(req.spec!));
      },
      async getFirewallOptions(req, ctx) {
        return { options: optionsMessage(await policies.options(scope(ctx, req.project), req.firewall)) };
      },
      async setFirewallOptions(req, ctx) {
        return { options: optionsMessage(await policies.setOptions(scope(ctx, req.project), req.firewall, optionsOf(req.options!))) };
      },
      async getFirewallRuleset(req) {
        const compiled = await policies.ruleset(req.device);
        return { ruleset: compiled.ruleset, hash: compiled.hash, policies: compiled.policies };
      },
      async reportRulesetOutcome(req) {
        const outcome = req.outcome === RulesetOutcome.APPLIED ? "applied" : "refused";
        return { policies: await policies.reportOutcome(req.device, req.ruleset, outcome, req.reason) };
      },
    });
  };
}
