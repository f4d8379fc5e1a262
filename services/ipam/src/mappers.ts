// Store rows and usage figures → protobuf messages.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { FamilyUsageSchema, IPSchema, NamespaceSchema, PrefixSchema, PrefixUsageSchema, PrefixUse, type FamilyUsage, type IP, type Namespace, type Prefix, type PrefixUsage } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import type { IpRow, NamespaceRow, PrefixRow } from "./store.js";
import type { FamilyTotals, Usage } from "./usage.js";

const uses = [PrefixUse.UNSPECIFIED, PrefixUse.PARENT, PrefixUse.POOL] as const;
const family = (f: 4 | 6) => (f === 4 ? AddressFamily.IPV4 : AddressFamily.IPV6);

export const namespaceMessage = (row: NamespaceRow): Namespace => create(NamespaceSchema, { name: row.name, createdAt: timestampFromDate(row.created_at) });

export const prefixMessage = (row: PrefixRow): Prefix =>
  create(PrefixSchema, {
    namespace: row.namespace,
    cidr: row.cidr,
    parentCidr: row.parent_cidr ?? "",
    use: uses[row.use],
    requestId: row.request_id ?? "",
    createdAt: timestampFromDate(row.created_at),
  });

export const ipMessage = (row: IpRow): IP =>
  create(IPSchema, { namespace: row.namespace, ip: row.ip, prefixCidr: row.prefix_cidr, requestId: row.request_id ?? "", createdAt: timestampFromDate(row.created_at) });

export const usageMessage = (u: Usage): PrefixUsage =>
  create(PrefixUsageSchema, {
    cidr: u.cidr,
    family: family(u.family),
    use: uses[u.use],
    availableIps: u.availableIps.toString(),
    acquiredIps: u.acquiredIps,
    availablePrefixes: u.availablePrefixes.toString(),
    acquiredPrefixes: u.acquiredPrefixes,
    largestFreeBlock: u.largestFreeBlock,
  });

export const familyUsageMessage = (t: FamilyTotals): FamilyUsage =>
  create(FamilyUsageSchema, {
    family: family(t.family),
    availableIps: t.availableIps.toString(),
    acquiredIps: t.acquiredIps,
    availablePrefixes: t.availablePrefixes.toString(),
    acquiredPrefixes: t.acquiredPrefixes,
  });
