// IPs of networks, allocated as a saga over IPAM: the row is written `allocating`, IPAM acquires
// the address with the row's uuid as request id, then the row becomes `ready` with the outbox
// event. Failures release the address and delete the row; a crash is resumed by a retry with the
// same request_id or compensated by the sweeper.
import { randomUUID } from "node:crypto";
import { parseAddress, type Family } from "@bulkhead/netaddr";
import { AbortedError, FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError, compensate, failpoint, type Logger, type Scope } from "@bulkhead/service-kit";
import type { AllocateIPRequest, UpdateIPRequest } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { familiesOf, familyOf, prefixContaining } from "./addresses.js";
import type { IpamPort } from "./ipam.js";
import { patchLabels } from "./store/common.js";
import type { DirectoryStore } from "./store/directory.js";
import { NetworkType, RequestIdTaken, type IpFilter, type IpRow, type NetworkRow, type NetworkStore } from "./store/networks.js";

const IP = "bulkhead.network.v1.IP";
const NETWORK = "bulkhead.network.v1.Network";

export class Ips {
  constructor(
    private readonly store: NetworkStore,
    private readonly directory: DirectoryStore,
    private readonly ipam: IpamPort,
    private readonly log: Logger,
  ) {}

  async allocate(scope: Scope, req: AllocateIPRequest): Promise<IpRow> {
    if (req.requestId) {
      const existing = await this.store.ipByRequestId(req.project, req.requestId);
      if (existing) return this.resume(existing);
    }
    if (req.machine && !scope.privileged) throw new PermissionDeniedError("only Bulkhead's inventory binds addresses to machines");
    if (!(await this.directory.getProject(req.project))) throw new NotFoundError("bulkhead.network.v1.Project", req.project);
    const network = await this.store.get(req.network);
    if (network?.state === "ready" && (network.type === NetworkType.Super || network.type === NetworkType.SuperNamespaced)) {
      throw new FailedPreconditionError(`network ${network.id} is a super network; allocate a child network and take IPs from it`);
    }
    if (!network || network.state !== "ready" || !this.serves(network, req.project, scope)) throw new NotFoundError(NETWORK, req.network);
    const families = familiesOf(network.prefixes);
    const family = this.family(req, families);
    if (!families.includes(family)) throw new InvalidArgumentError("address_family", `network ${network.id} has no IPv${family} prefix`);
    if (req.ip && !prefixContaining(network.prefixes, req.ip)) throw new InvalidArgumentError("ip", `${req.ip} is not in a prefix of network ${network.id} (${network.prefixes.join(", ")})`);

    let row: IpRow;
    try {
      row = await this.store.insertIpAllocating({
        uuid: randomUUID(),
        network: network.id,
        namespace: network.namespace,
        project: req.project,
        type: req.type === 2 ? 2 : 1,
        machine: req.machine || null,
        name: req.name,
        description: req.description,
        labels: req.labels,
        requested_ip: req.ip || null,
        family,
        request_id: req.requestId || null,
      });
    } catch (error) {
      if (error instanceof RequestIdTaken) return this.resume((await this.store.ipByRequestId(req.project, req.requestId))!);
      throw error;
    }
    return this.completeAllocation(row, network);
  }

  /** A child network serves its project; shared ones everybody; external ones everybody it is open to; the underlay only Bulkhead. */
  private serves(network: NetworkRow, project: string, scope: Scope): boolean {
    switch (network.type) {
      case NetworkType.Child:
        return network.project === project;
      case NetworkType.External:
        return network.project === null || network.project === project;
      case NetworkType.Underlay:
        return scope.privileged;
      default:
        return true;
    }
  }

  private family(req: AllocateIPRequest, families: Family[]): Family {
    if (req.ip) {
      const f = parseAddress(req.ip)!.family;
      if (req.addressFamily !== AddressFamily.UNSPECIFIED && req.addressFamily !== (f === 4 ? AddressFamily.IPV4 : AddressFamily.IPV6)) throw new InvalidArgumentError("address_family", `${req.ip} is IPv${f}`);
      return f;
    }
    if (req.addressFamily === AddressFamily.IPV4) return 4;
    if (req.addressFamily === AddressFamily.IPV6) return 6;
    return families.includes(4) ? 4 : 6;
  }

  private async resume(row: IpRow): Promise<IpRow> {
    if (row.state === "ready") return row;
    if (row.state === "compensating") throw new AbortedError(`the earlier attempt of this request failed and is being undone; retry`);
    if (row.state === "freeing") throw new FailedPreconditionError(`the IP allocated by this request (${row.uuid}) is being released`);
    const network = await this.store.get(row.network);
    if (!network) throw new FailedPreconditionError(`network ${row.network} is gone`);
    return this.completeAllocation(row, network);
  }

  private candidates(row: IpRow, network: NetworkRow): string[] {
    if (row.requested_ip) return [prefixContaining(network.prefixes, row.requested_ip)].filter((p): p is string => Boolean(p));
    return network.prefixes.filter((c) => familyOf(c) === row.family);
  }

  private async completeAllocation(row: IpRow, network: NetworkRow): Promise<IpRow> {
    try {
      let address: string | undefined;
      let prefix: string | undefined;
      // A network with several prefixes moves on when one is full.
      for (const candidate of this.candidates(row, network)) {
        address = await this.ipam.acquireIp(row.namespace, candidate, row.requested_ip ?? undefined, row.uuid);
        prefix = candidate;
        if (address) break;
      }
      if (!address || !prefix) throw new ResourceExhaustedError(`network ${network.id} has no free IPv${row.family} address`);
      failpoint("network.ip.after-acquire");
      const ready = await this.store.markIpReady(row.uuid, address, prefix);
      if (!ready) throw new FailedPreconditionError(`IP allocation ${row.uuid} was abandoned; try again with a new request_id`);
      return ready;
    } catch (error) {
      await compensate(this.log, `allocate ${row.uuid}`, () => this.compensateAllocation(row, network));
      throw error;
    }
  }

  /** Releases the address an allocation may have acquired and deletes its row. */
  async compensateAllocation(row: IpRow, network?: NetworkRow): Promise<void> {
    if (!(await this.store.beginCompensation("ips", row.uuid))) return;
    const net = network ?? (await this.store.get(row.network));
    for (const candidate of net ? this.candidates(row, net) : []) {
      const address = await this.ipam.findIp(row.namespace, candidate, row.uuid);
      if (address) await this.ipam.releaseIp(row.namespace, address);
    }
    await this.store.deleteIp(row.uuid, "compensating", undefined);
  }

  async get(scope: Scope, uuid: string): Promise<IpRow> {
    const row = await this.store.getIp(uuid);
    if (!row || row.state !== "ready" || (scope.project && row.project !== scope.project)) throw new NotFoundError(IP, uuid);
    return row;
  }

  list(scope: Scope, filter: Omit<IpFilter, "project">, pageSize: number, after: string | undefined): Promise<IpRow[]> {
    return this.store.listIps({ ...filter, project: scope.project }, after, pageSize);
  }

  async update(scope: Scope, req: UpdateIPRequest): Promise<IpRow> {
    await this.get(scope, req.uuid);
    if (req.machine !== undefined && !scope.privileged) throw new PermissionDeniedError("only Bulkhead's inventory binds addresses to machines");
    return this.store.updateIp(req.uuid, (current) => {
      if (req.machine && current.machine && current.machine !== req.machine) {
        throw new FailedPreconditionError(`IP ${current.ip} is bound to machine ${current.machine}`, { type: IP, name: req.uuid });
      }
      return {
        name: req.name ?? current.name,
        description: req.description ?? current.description,
        labels: patchLabels(current.labels, req.labels),
        type: req.type === 2 ? 2 : current.type,
        machine: req.machine === undefined ? current.machine : req.machine || null,
      };
    });
  }

  async release(scope: Scope, uuid: string): Promise<IpRow> {
    const row = await this.get(scope, uuid);
    if (row.machine && !scope.privileged) throw new FailedPreconditionError(`IP ${row.ip} is bound to machine ${row.machine}; it is released with the machine`, { type: IP, name: uuid });
    const freeing = await this.store.markIpFreeing(uuid);
    await this.completeRelease(freeing);
    return freeing;
  }

  async completeRelease(row: IpRow): Promise<void> {
    if (row.ip) await this.ipam.releaseIp(row.namespace, row.ip);
    await this.store.deleteIp(row.uuid, "freeing", "ip.released");
  }
}
