// The calls the network service makes to IPAM. Compensating calls are idempotent: releasing or
// deleting what is already gone succeeds, so a saga can be compensated more than once.
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import type { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";

export interface FamilyUsage {
  family: 4 | 6;
  availableIps: string;
  usedIps: bigint;
  availablePrefixes: string;
  usedPrefixes: bigint;
}

const codeOf = (error: unknown) => (error instanceof ConnectError ? error.code : undefined);

/** Resolves to undefined when the call failed with `code`, rethrows anything else. */
async function unless<T>(code: Code, call: Promise<T>): Promise<T | undefined> {
  try {
    return await call;
  } catch (error) {
    if (codeOf(error) === code) return undefined;
    throw error;
  }
}

export class IpamPort {
  constructor(private readonly ipam: Client<typeof IpamService>) {}

  async createNamespace(namespace: string): Promise<void> {
    await this.ipam.createNamespace({ namespace });
  }

  async deleteNamespace(namespace: string): Promise<void> {
    await unless(Code.NotFound, this.ipam.deleteNamespace({ namespace }));
  }

  /** Creates a top-level prefix; with `existingIsFine`, one that already exists is accepted. */
  async createPrefix(namespace: string, cidr: string, existingIsFine = false): Promise<void> {
    try {
      await this.ipam.createPrefix({ namespace, cidr });
    } catch (error) {
      if (existingIsFine && codeOf(error) === Code.AlreadyExists && (await unless(Code.NotFound, this.ipam.getPrefix({ namespace, cidr })))) return;
      throw error;
    }
  }

  async deletePrefix(namespace: string, cidr: string): Promise<void> {
    await unless(Code.NotFound, this.ipam.deletePrefix({ namespace, cidr }));
  }

  /** The child's CIDR, or undefined when the parent has no free block of that length. */
  async acquireChildPrefix(namespace: string, parentCidr: string, length: number, requestId: string): Promise<string | undefined> {
    const response = await unless(Code.ResourceExhausted, this.ipam.acquireChildPrefix({ namespace, parentCidr, child: { case: "length", value: length }, requestId }));
    return response?.prefix?.cidr;
  }

  async releaseChildPrefix(namespace: string, cidr: string): Promise<void> {
    await unless(Code.NotFound, this.ipam.releaseChildPrefix({ namespace, cidr }));
  }

  /** The child prefix an acquisition with `requestId` left behind, if any. */
  async findChildPrefix(namespace: string, requestId: string): Promise<string | undefined> {
    const response = await unless(Code.NotFound, this.ipam.listPrefixes({ namespace, requestId, pageSize: 1 }));
    return response?.prefixes[0]?.cidr;
  }

  /** The address, or undefined when the prefix is full. */
  async acquireIp(namespace: string, prefixCidr: string, ip: string | undefined, requestId: string): Promise<string | undefined> {
    const response = await unless(Code.ResourceExhausted, this.ipam.acquireIP({ namespace, prefixCidr, ip: ip ?? "", requestId }));
    return response?.ip?.ip;
  }

  async releaseIp(namespace: string, ip: string): Promise<void> {
    await unless(Code.NotFound, this.ipam.releaseIP({ namespace, ip }));
  }

  /** The address an acquisition with `requestId` left behind in `prefixCidr`, if any. */
  async findIp(namespace: string, prefixCidr: string, requestId: string): Promise<string | undefined> {
    const response = await unless(Code.NotFound, this.ipam.listIPs({ namespace, prefixCidr, requestId, pageSize: 1 }));
    return response?.ips[0]?.ip;
  }

  async usage(namespace: string, cidrs: string[]): Promise<{ perPrefix: { cidr: string; acquiredIps: bigint; acquiredPrefixes: bigint }[]; families: FamilyUsage[] }> {
    const response = await this.ipam.getPrefixUsage({ namespace, cidrs });
    return {
      perPrefix: response.prefixes.map((p) => ({ cidr: p.cidr, acquiredIps: p.acquiredIps, acquiredPrefixes: p.acquiredPrefixes })),
      families: response.families.map((f) => ({
        family: f.family === AddressFamily.IPV6 ? 6 : 4,
        availableIps: f.availableIps,
        usedIps: f.acquiredIps,
        availablePrefixes: f.availablePrefixes,
        usedPrefixes: f.acquiredPrefixes,
      })),
    };
  }
}
