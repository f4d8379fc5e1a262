// Partitions, tenants and projects: plain records with validation the contract cannot express.
import { isIP } from "node:net";
import { InvalidArgumentError, NotFoundError } from "@bulkhead/service-kit";
import type { CreatePartitionRequest, ServerList, UpdatePartitionRequest } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import type { CreateTenantRequest, UpdateProjectRequest, UpdateTenantRequest } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import type { PeeringPort } from "./peering.js";
import { patchLabels } from "./store/common.js";
import type { DirectoryStore, PartitionRow, ProjectRow, TenantRow } from "./store/directory.js";

const hostAndPort = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/;
const hostname = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/** Validates a replacement server list of an update; `kind` says what each entry must be. */
function servers(field: string, list: ServerList | undefined, kind: "ip" | "address" | "host:port", max: number): string[] | undefined {
  if (!list) return undefined;
  if (list.addresses.length > max) throw new InvalidArgumentError(`${field}.addresses`, `holds at most ${max} entries`);
  for (const entry of list.addresses) {
    const ok = kind === "ip" ? isIP(entry) !== 0 : kind === "address" ? isIP(entry) !== 0 || hostname.test(entry) : hostAndPort.test(entry);
    if (!ok) throw new InvalidArgumentError(`${field}.addresses`, `${JSON.stringify(entry)} is not ${kind === "ip" ? "an IP address" : kind === "address" ? "an IP address or host name" : "host:port"}`);
  }
  return list.addresses;
}

export class Directory {
  constructor(
    private readonly store: DirectoryStore,
    private readonly peering?: PeeringPort,
  ) {}

  createPartition(req: CreatePartitionRequest): Promise<PartitionRow> {
    return this.store.createPartition({
      id: req.id,
      name: req.name,
      description: req.description,
      labels: req.labels,
      dns_servers: req.dnsServers,
      ntp_servers: req.ntpServers,
      mgmt_service_addresses: req.mgmtServiceAddresses,
    });
  }

  async getPartition(id: string): Promise<PartitionRow> {
    const row = await this.store.getPartition(id);
    if (!row) throw new NotFoundError("bulkhead.network.v1.Partition", id);
    return row;
  }

  listPartitions(page: { after?: string; limit: number }): Promise<PartitionRow[]> {
    return this.store.listPartitions(page);
  }

  updatePartition(req: UpdatePartitionRequest): Promise<PartitionRow> {
    const dns = servers("dns_servers", req.dnsServers, "ip", 3);
    const ntp = servers("ntp_servers", req.ntpServers, "address", 10);
    const mgmt = servers("mgmt_service_addresses", req.mgmtServiceAddresses, "host:port", 16);
    return this.store.updatePartition(req.id, (p) => ({
      ...p,
      name: req.name ?? p.name,
      description: req.description ?? p.description,
      labels: patchLabels(p.labels, req.labels),
      dns_servers: dns ?? p.dns_servers,
      ntp_servers: ntp ?? p.ntp_servers,
      mgmt_service_addresses: mgmt ?? p.mgmt_service_addresses,
    }));
  }

  deletePartition(id: string): Promise<PartitionRow> {
    return this.store.deletePartition(id);
  }

  createTenant(req: CreateTenantRequest): Promise<TenantRow> {
    return this.store.createTenant({ id: req.id, name: req.name, description: req.description, labels: req.labels });
  }

  async getTenant(id: string): Promise<TenantRow> {
    const row = await this.store.getTenant(id);
    if (!row) throw new NotFoundError("bulkhead.network.v1.Tenant", id);
    return row;
  }

  listTenants(page: { after?: string; limit: number }): Promise<TenantRow[]> {
    return this.store.listTenants(page);
  }

  updateTenant(req: UpdateTenantRequest): Promise<TenantRow> {
    return this.store.updateTenant(req.id, (t) => ({ ...t, name: req.name ?? t.name, description: req.description ?? t.description, labels: patchLabels(t.labels, req.labels) }));
  }

  deleteTenant(id: string): Promise<TenantRow> {
    return this.store.deleteTenant(id);
  }

  createProject(req: { tenant: string; name: string; description: string; labels: Record<string, string>; requestId: string }): Promise<ProjectRow> {
    return this.store.createProject({ ...req, requestId: req.requestId || undefined });
  }

  async getProject(id: string): Promise<ProjectRow> {
    const row = await this.store.getProject(id);
    if (!row) throw new NotFoundError("bulkhead.network.v1.Project", id);
    return row;
  }

  /** A page of the matching projects, only those of `memberOf` for a caller without a platform role. */
  listProjects(filter: { tenant?: string; labels: Record<string, string> }, memberOf: string[] | undefined, page: { after?: string[]; limit: number }): Promise<ProjectRow[]> {
    return this.store.listProjects({ ...filter, ids: memberOf }, page);
  }

  async updateProject(req: UpdateProjectRequest): Promise<ProjectRow> {
    const row = await this.store.updateProject(req.project, (p) => ({ ...p, name: req.name ?? p.name, description: req.description ?? p.description, labels: patchLabels(p.labels, req.labels) }));
    // The `auto-peer` label may have changed.
    if (req.labels) this.peering?.syncProject(row.id);
    return row;
  }

  deleteProject(id: string): Promise<ProjectRow> {
    return this.store.deleteProject(id);
  }
}
