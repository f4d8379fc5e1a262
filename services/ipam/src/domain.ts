// IPAM's domain: defaults, paging, usage, and the detail attached to exhaustion errors. The
// allocation rules themselves are enforced by the store's SQL functions.
import { NotFoundError, ResourceExhaustedError, listPage, type Page, type PageRequest } from "@bulkhead/service-kit";
import { PrefixUsageSchema } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { usageMessage } from "./mappers.js";
import { computeUsage, sumByFamily, type FamilyTotals, type Usage } from "./usage.js";
import type { IpamStore, IpRow, NamespaceRow, PrefixRow } from "./store.js";

export const ROOT = "root";

export class Ipam {
  constructor(private readonly store: IpamStore) {}

  createNamespace(namespace: string): Promise<NamespaceRow> {
    return this.store.createNamespace(namespace);
  }

  listNamespaces(page: { after?: string; limit: number }): Promise<NamespaceRow[]> {
    return this.store.listNamespaces(page);
  }

  deleteNamespace(namespace: string): Promise<void> {
    return this.store.deleteNamespace(namespace);
  }

  createPrefix(namespace: string, cidr: string): Promise<PrefixRow> {
    return this.store.createPrefix(namespace || ROOT, cidr);
  }

  async getPrefix(namespace: string, cidr: string): Promise<PrefixRow> {
    const prefix = await this.store.getPrefix(namespace || ROOT, cidr);
    if (!prefix) throw await this.notFound(namespace || ROOT, cidr);
    return prefix;
  }

  async listPrefixes(namespace: string, filter: { parentCidr?: string; topLevelOnly: boolean; family?: 4 | 6; requestId?: string }, req: PageRequest): Promise<Page<PrefixRow>> {
    const ns = namespace || ROOT;
    if (!(await this.store.namespaceExists(ns))) throw new NotFoundError("bulkhead.ipam.v1.Namespace", ns);
    return listPage(req, (after, limit) => this.store.listPrefixes(ns, { ...filter, after, limit }), (r) => r.cidr);
  }

  deletePrefix(namespace: string, cidr: string): Promise<PrefixRow> {
    return this.store.deletePrefix(namespace || ROOT, cidr);
  }

  async acquireChildPrefix(namespace: string, parentCidr: string, target: { length?: number; cidr?: string }, requestId: string): Promise<PrefixRow> {
    const ns = namespace || ROOT;
    return this.withUsageOnExhaustion(ns, parentCidr, () => this.store.acquireChildPrefix(ns, parentCidr, target, requestId || undefined));
  }

  releaseChildPrefix(namespace: string, cidr: string): Promise<PrefixRow> {
    return this.store.releaseChildPrefix(namespace || ROOT, cidr);
  }

  async acquireIp(namespace: string, prefixCidr: string, ip: string, requestId: string): Promise<IpRow> {
    const ns = namespace || ROOT;
    return this.withUsageOnExhaustion(ns, prefixCidr, () => this.store.acquireIp(ns, prefixCidr, ip || undefined, requestId || undefined));
  }

  releaseIp(namespace: string, ip: string, prefixCidr: string): Promise<IpRow> {
    return this.store.releaseIp(namespace || ROOT, ip, prefixCidr || undefined);
  }

  async listIps(namespace: string, prefixCidr: string, requestId: string, req: PageRequest): Promise<Page<IpRow>> {
    const ns = namespace || ROOT;
    await this.getPrefix(ns, prefixCidr);
    return listPage(req, (after, limit) => this.store.listIps(ns, prefixCidr, { requestId: requestId || undefined, after, limit }), (r) => r.ip);
  }

  async usage(namespace: string, cidrs: readonly string[]): Promise<{ prefixes: Usage[]; families: FamilyTotals[] }> {
    const ns = namespace || ROOT;
    const facts = await this.store.usageFacts(ns, cidrs);
    const prefixes: Usage[] = [];
    for (const cidr of cidrs) {
      const fact = facts.get(cidr);
      if (!fact) throw await this.notFound(ns, cidr);
      prefixes.push(computeUsage(fact));
    }
    return { prefixes, families: sumByFamily(prefixes) };
  }

  private async notFound(namespace: string, cidr: string): Promise<NotFoundError> {
    if (!(await this.store.namespaceExists(namespace))) return new NotFoundError("bulkhead.ipam.v1.Namespace", namespace);
    return new NotFoundError("bulkhead.ipam.v1.Prefix", cidr, `prefix ${cidr} not found in namespace ${namespace}`);
  }

  /** Runs an acquisition; on exhaustion attaches the prefix's usage, saying what is still free. */
  private async withUsageOnExhaustion<T>(namespace: string, cidr: string, acquire: () => Promise<T>): Promise<T> {
    try {
      return await acquire();
    } catch (error) {
      if (error instanceof ResourceExhaustedError) error.withDetail(PrefixUsageSchema, usageMessage((await this.usage(namespace, [cidr])).prefixes[0]!));
      throw error;
    }
  }
}
