// Rows → protobuf messages.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AddressFamily, PrefixLengthsSchema } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { IPSchema, type IP } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkSchema, NetworkUsageSchema, type Network, type NetworkUsage } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionSchema, type Partition } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectSchema, TenantSchema, type Project, type Tenant } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import type { FamilyUsage } from "./ipam.js";
import type { PartitionRow, ProjectRow, TenantRow } from "./store/directory.js";
import type { IpRow, NetworkRow } from "./store/networks.js";

const time = (d: Date) => timestampFromDate(d);
const lengths = (v4: number | null, v6: number | null) =>
  v4 === null && v6 === null ? undefined : create(PrefixLengthsSchema, { ...(v4 === null ? {} : { ipv4: v4 }), ...(v6 === null ? {} : { ipv6: v6 }) });

export const partitionMessage = (p: PartitionRow): Partition =>
  create(PartitionSchema, {
    id: p.id,
    name: p.name,
    description: p.description,
    labels: p.labels,
    dnsServers: p.dns_servers,
    ntpServers: p.ntp_servers,
    mgmtServiceAddresses: p.mgmt_service_addresses,
    createdAt: time(p.created_at),
    updatedAt: time(p.updated_at),
  });

export const tenantMessage = (t: TenantRow): Tenant =>
  create(TenantSchema, { id: t.id, name: t.name, description: t.description, labels: t.labels, createdAt: time(t.created_at), updatedAt: time(t.updated_at) });

export const projectMessage = (p: ProjectRow): Project =>
  create(ProjectSchema, { id: p.id, tenant: p.tenant, name: p.name, description: p.description, labels: p.labels, createdAt: time(p.created_at), updatedAt: time(p.updated_at) });

export const networkMessage = (n: NetworkRow): Network =>
  create(NetworkSchema, {
    id: n.id,
    name: n.name,
    description: n.description,
    labels: n.labels,
    type: n.type as number,
    partition: n.partition ?? "",
    project: n.project ?? "",
    parentNetwork: n.parent_network ?? "",
    prefixes: n.prefixes,
    destinationPrefixes: n.destination_prefixes,
    vrf: n.vrf ?? 0,
    natType: n.nat_type,
    defaultChildPrefixLength: lengths(n.default_child_length_v4, n.default_child_length_v6),
    minChildPrefixLength: lengths(n.min_child_length_v4, n.min_child_length_v6),
    additionalAnnounceableCidrs: n.additional_announceable_cidrs,
    namespace: n.namespace,
    createdAt: time(n.created_at),
    updatedAt: time(n.updated_at),
  });

export const usageMessage = (u: FamilyUsage): NetworkUsage =>
  create(NetworkUsageSchema, {
    family: u.family === 4 ? AddressFamily.IPV4 : AddressFamily.IPV6,
    availableIps: u.availableIps,
    usedIps: u.usedIps,
    availablePrefixes: u.availablePrefixes,
    usedPrefixes: u.usedPrefixes,
  });

export const ipMessage = (ip: IpRow): IP =>
  create(IPSchema, {
    uuid: ip.uuid,
    ip: ip.ip ?? "",
    network: ip.network,
    prefix: ip.prefix ?? "",
    namespace: ip.namespace,
    project: ip.project,
    type: ip.type,
    machine: ip.machine ?? "",
    name: ip.name,
    description: ip.description,
    labels: ip.labels,
    createdAt: time(ip.created_at),
    updatedAt: time(ip.updated_at),
  });
