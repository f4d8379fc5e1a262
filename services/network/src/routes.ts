// Thin handlers: protobuf in, domain call with the caller's scope, protobuf out.
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";

import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService, TenantService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import type { Directory } from "./directory.js";
import type { Ips } from "./ips.js";
import { ipMessage, networkMessage, partitionMessage, projectMessage, tenantMessage, usageMessage } from "./mappers.js";
import type { Networks } from "./networks.js";
import { kPrincipal, listPage, listPageByKeys, scopeOf } from "@bulkhead/service-kit";

import type { NetworkType } from "./store/networks.js";

const scope = (ctx: HandlerContext, project: string) => scopeOf(ctx.values.get(kPrincipal), project);

export function networkRoutes(directory: Directory, networks: Networks, ips: Ips) {
  return (router: ConnectRouter) => {
    router.service(PartitionService, {
      async createPartition(req) {
        return { partition: partitionMessage(await directory.createPartition(req)) };
      },
      async getPartition(req) {
        return { partition: partitionMessage(await directory.getPartition(req.id)) };
      },
      async listPartitions(req) {
        const { items, nextPageToken } = await listPage(req, (after, limit) => directory.listPartitions({ after, limit }), (p) => p.id);
        return { partitions: items.map(partitionMessage), nextPageToken };
      },
      async updatePartition(req) {
        return { partition: partitionMessage(await directory.updatePartition(req)) };
      },
      async deletePartition(req) {
        return { partition: partitionMessage(await directory.deletePartition(req.id)) };
      },
    });
    router.service(TenantService, {
      async createTenant(req) {
        return { tenant: tenantMessage(await directory.createTenant(req)) };
      },
      async getTenant(req) {
        return { tenant: tenantMessage(await directory.getTenant(req.id)) };
      },
      async listTenants(req) {
        const { items, nextPageToken } = await listPage(req, (after, limit) => directory.listTenants({ after, limit }), (t) => t.id);
        return { tenants: items.map(tenantMessage), nextPageToken };
      },
      async updateTenant(req) {
        return { tenant: tenantMessage(await directory.updateTenant(req)) };
      },
      async deleteTenant(req) {
        return { tenant: tenantMessage(await directory.deleteTenant(req.id)) };
      },
    });
    router.service(ProjectService, {
      async createProject(req) {
        return { project: projectMessage(await directory.createProject(req)) };
      },
      async getProject(req) {
        return { project: projectMessage(await directory.getProject(req.project)) };
      },
      async listProjects(req, ctx) {
        const principal = ctx.values.get(kPrincipal);
        // Membership is the default for every principal kind (an agent is a member of none).
        const { restricted } = scopeOf(principal, "");
        const memberOf = restricted ? [...(principal?.projects.keys() ?? [])] : undefined;
        const { items, nextPageToken } = await listPageByKeys(req, 2, (after, limit) => directory.listProjects({ tenant: req.tenant || undefined, labels: req.labels }, memberOf, { after, limit }), (p) => [p.tenant, p.name]);
        return { projects: items.map(projectMessage), nextPageToken };
      },
      async updateProject(req) {
        return { project: projectMessage(await directory.updateProject(req)) };
      },
      async deleteProject(req) {
        return { project: projectMessage(await directory.deleteProject(req.project)) };
      },
    });
    router.service(NetworkService, {
      async createNetwork(req) {
        return { network: networkMessage(await networks.create(req)) };
      },
      async allocateNetwork(req, ctx) {
        return { network: networkMessage(await networks.allocate(scope(ctx, req.project), req)) };
      },
      async getNetwork(req, ctx) {
        return { network: networkMessage(await networks.get(scope(ctx, req.project), req.id)) };
      },
      async listNetworks(req, ctx) {
        const filter = {
          partition: req.partition || undefined,
          type: (req.type as number as NetworkType) || undefined,
          vrf: req.vrf || undefined,
          prefix: req.prefix || undefined,
          parentNetwork: req.parentNetwork || undefined,
          labels: req.labels,
          ids: req.ids.length > 0 ? req.ids : undefined,
        };
        const { items, nextPageToken } = await listPage(req, (after, limit) => networks.list(scope(ctx, req.project), filter, limit, after), (n) => n.id);
        return { networks: items.map(networkMessage), nextPageToken };
      },
      async updateNetwork(req, ctx) {
        return { network: networkMessage(await networks.update(scope(ctx, req.project), req)) };
      },
      async deleteNetwork(req, ctx) {
        return { network: networkMessage(await networks.delete(scope(ctx, req.project), req.id)) };
      },
      async getNetworkUsage(req, ctx) {
        return { usage: (await networks.usage(scope(ctx, req.project), req.id)).map(usageMessage) };
      },
      async getVrfPool() {
        return await networks.vrfPool();
      },
    });
    router.service(IPService, {
      async allocateIP(req, ctx) {
        return { ip: ipMessage(await ips.allocate(scope(ctx, req.project), req)) };
      },
      async getIP(req, ctx) {
        return { ip: ipMessage(await ips.get(scope(ctx, req.project), req.uuid)) };
      },
      async listIPs(req, ctx) {
        const filter = {
          network: req.network || undefined,
          machine: req.machine || undefined,
          type: req.type ? (req.type as 1 | 2) : undefined,
          ip: req.ip || undefined,
          projects: req.projects.length > 0 ? req.projects : undefined,
          machines: req.machines.length > 0 ? req.machines : undefined,
          networkTypes: req.networkTypes.length > 0 ? req.networkTypes.map((t) => t as number as NetworkType) : undefined,
        };
        const { items, nextPageToken } = await listPage(req, (after, limit) => ips.list(scope(ctx, req.project), filter, limit, after), (ip) => ip.uuid);
        return { ips: items.map(ipMessage), nextPageToken };
      },
      async updateIP(req, ctx) {
        return { ip: ipMessage(await ips.update(scope(ctx, req.project), req)) };
      },
      async releaseIP(req, ctx) {
        return { ip: ipMessage(await ips.release(scope(ctx, req.project), req.uuid)) };
      },
    });
  };
}
