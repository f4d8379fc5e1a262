// Thin handlers: protobuf in, domain call, protobuf out.
import type { ConnectRouter } from "@connectrpc/connect";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { listPage } from "@bulkhead/service-kit";
import type { Ipam } from "./domain.js";
import { familyUsageMessage, ipMessage, namespaceMessage, prefixMessage, usageMessage } from "./mappers.js";

export function ipamRoutes(ipam: Ipam) {
  return (router: ConnectRouter) =>
    router.service(IpamService, {
      async createNamespace(req) {
        return { namespace: namespaceMessage(await ipam.createNamespace(req.namespace)) };
      },
      async listNamespaces(req) {
        const { items, nextPageToken } = await listPage(req, (after, limit) => ipam.listNamespaces({ after, limit }), (n) => n.name);
        return { namespaces: items.map(namespaceMessage), nextPageToken };
      },
      async deleteNamespace(req) {
        await ipam.deleteNamespace(req.namespace);
        return {};
      },
      async createPrefix(req) {
        return { prefix: prefixMessage(await ipam.createPrefix(req.namespace, req.cidr)) };
      },
      async getPrefix(req) {
        return { prefix: prefixMessage(await ipam.getPrefix(req.namespace, req.cidr)) };
      },
      async listPrefixes(req) {
        const family = req.family === AddressFamily.IPV4 ? 4 : req.family === AddressFamily.IPV6 ? 6 : undefined;
        const page = await ipam.listPrefixes(req.namespace, { parentCidr: req.parentCidr || undefined, topLevelOnly: req.topLevelOnly, family, requestId: req.requestId || undefined }, req);
        return { prefixes: page.items.map(prefixMessage), nextPageToken: page.nextPageToken };
      },
      async deletePrefix(req) {
        return { prefix: prefixMessage(await ipam.deletePrefix(req.namespace, req.cidr)) };
      },
      async getPrefixUsage(req) {
        const usage = await ipam.usage(req.namespace, req.cidrs);
        return { prefixes: usage.prefixes.map(usageMessage), families: usage.families.map(familyUsageMessage) };
      },
      async acquireChildPrefix(req) {
        const target = req.child.case === "length" ? { length: req.child.value } : { cidr: req.child.value };
        return { prefix: prefixMessage(await ipam.acquireChildPrefix(req.namespace, req.parentCidr, target, req.requestId)) };
      },
      async releaseChildPrefix(req) {
        return { prefix: prefixMessage(await ipam.releaseChildPrefix(req.namespace, req.cidr)) };
      },
      async acquireIP(req) {
        return { ip: ipMessage(await ipam.acquireIp(req.namespace, req.prefixCidr, req.ip, req.requestId)) };
      },
      async releaseIP(req) {
        return { ip: ipMessage(await ipam.releaseIp(req.namespace, req.ip, req.prefixCidr)) };
      },
      async listIPs(req) {
        const page = await ipam.listIps(req.namespace, req.prefixCidr, req.requestId, req);
        return { ips: page.items.map(ipMessage), nextPageToken: page.nextPageToken };
      },
    });
}
