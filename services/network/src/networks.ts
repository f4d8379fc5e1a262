// Networks: the type rules, child allocation and freeing as sagas over IPAM, updates.
//
// Allocation saga: (1) the network row is written `allocating` with its VRF, in one transaction;
// (2) IPAM child prefixes are acquired with request ids derived from the network id; (3) the row
// becomes `ready` with its prefixes and the outbox event, in one transaction. A failure in (2) or
// (3) compensates: the acquired prefixes are released and the row (with its VRF) deleted. A crash
// leaves the row `allocating`: a retry with the same request_id resumes it, otherwise the sweeper
// compensates it after the saga timeout. Freeing runs the same way backwards from `freeing`.
import { randomUUID } from "node:crypto";
import { parsePrefix, type Family } from "@bulkhead/netaddr";
import { AbortedError, FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError, ResourceExhaustedError, compensate, failpoint, type Logger, type Scope } from "@bulkhead/service-kit";
import type { AllocateNetworkRequest, CreateNetworkRequest, UpdateNetworkRequest } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { defaultRoute, familiesOf, familyOf, requireFamilies } from "./addresses.js";
import type { FamilyUsage, IpamPort } from "./ipam.js";
import type { PeeringPort } from "./peering.js";
import { patchLabels } from "./store/common.js";
import type { DirectoryStore } from "./store/directory.js";
import { NetworkType, RequestIdTaken, type NetworkFilter, type NetworkRow, type NetworkStore, type NewNetwork, type UpdateSaga } from "./store/networks.js";

export const DEFAULT_EXTERNAL_LABEL = "network.bulkhead.dev/default-external";
const NETWORK = "bulkhead.network.v1.Network";
const ROOT = "root";
const isChild = (t: NetworkType) => t === NetworkType.Child || t === NetworkType.ChildShared;
const isSuper = (t: NetworkType) => t === NetworkType.Super || t === NetworkType.SuperNamespaced;
const familyOfProto = (f: AddressFamily): Family | undefined => (f === AddressFamily.IPV4 ? 4 : f === AddressFamily.IPV6 ? 6 : undefined);

/** IPAM request id of a child network's prefix of one family. */
const childRequestId = (network: string, family: Family) => `${network}-v${family}`;

export class Networks {
  constructor(
    private readonly store: NetworkStore,
    private readonly directory: DirectoryStore,
    private readonly ipam: IpamPort,
    private readonly log: Logger,
    private readonly peering?: PeeringPort,
  ) {}

  // --- create (base networks, admins) ---

  async create(req: CreateNetworkRequest): Promise<NetworkRow> {
    const type = req.type as number as NetworkType;
    const families = familiesOf(req.prefixes);
    if (req.partition && !(await this.directory.getPartition(req.partition))) throw new NotFoundError("bulkhead.network.v1.Partition", req.partition);
    if (req.project && !(await this.directory.getProject(req.project))) throw new NotFoundError("bulkhead.network.v1.Project", req.project);
    if (type !== NetworkType.External && req.project) throw new InvalidArgumentError("project", "only external networks can be restricted to a project");
    if (type !== NetworkType.External && req.natType === 2) throw new InvalidArgumentError("nat_type", "super and underlay networks never NAT");
    if (type === NetworkType.Underlay && families.includes(6)) throw new InvalidArgumentError("prefixes", "an underlay network is IPv4 only");
    if (!isSuper(type) && (req.additionalAnnounceableCidrs.length > 0 || req.minChildPrefixLength)) {
      throw new InvalidArgumentError(req.additionalAnnounceableCidrs.length > 0 ? "additional_announceable_cidrs" : "min_child_prefix_length", "only super networks have these");
    }
    requireFamilies("destination_prefixes", req.destinationPrefixes, families, "the network");
    const lengths = isSuper(type) ? this.superLengths(req, families) : { default: { 4: null, 6: null }, min: { 4: null, 6: null } };
    const network: NewNetwork = {
      id: req.id || randomUUID(),
      name: req.name,
      description: req.description,
      labels: req.labels,
      type,
      partition: req.partition || null,
      project: req.project || null,
      parent_network: null,
      prefixes: req.prefixes,
      destination_prefixes: req.destinationPrefixes,
      nat_type: req.natType === 2 ? 2 : 1,
      default_child_length_v4: lengths.default[4],
      default_child_length_v6: lengths.default[6],
      min_child_length_v4: lengths.min[4],
      min_child_length_v6: lengths.min[6],
      additional_announceable_cidrs: req.additionalAnnounceableCidrs,
      namespace: ROOT,
      requested_length_v4: null,
      requested_length_v6: null,
      request_id: null,
    };
    const row = await this.store.insertAllocating(network, type === NetworkType.External ? req.vrf : "none");
    const created: string[] = [];
    try {
      // A namespaced super's prefixes are created in each project's namespace when it first
      // allocates; every other base network's prefixes are top-level prefixes of the root
      // namespace, so IPAM refuses overlaps with any other network.
      if (type !== NetworkType.SuperNamespaced) {
        for (const cidr of req.prefixes) {
          await this.ipam.createPrefix(ROOT, cidr);
          created.push(cidr);
        }
      }
      failpoint("network.create.after-prefixes");
      const ready = await this.store.markReady(row.id, req.prefixes, "network.created");
      if (!ready) throw new FailedPreconditionError(`network ${row.id} was abandoned while it was created; try again`);
      return ready;
    } catch (error) {
      await compensate(this.log, `create ${row.id}`, async () => {
        if (!(await this.store.beginCompensation("networks", row.id))) return;
        for (const cidr of created) await this.ipam.deletePrefix(ROOT, cidr);
        await this.store.delete(row.id, "compensating", undefined);
      });
      throw error;
    }
  }

  private superLengths(req: CreateNetworkRequest, families: Family[]) {
    const length = { default: { 4: null as number | null, 6: null as number | null }, min: { 4: null as number | null, 6: null as number | null } };
    for (const family of families) {
      const key = family === 4 ? "ipv4" : "ipv6";
      const def = req.defaultChildPrefixLength?.[key];
      const min = req.minChildPrefixLength?.[key];
      const longest = Math.max(...req.prefixes.filter((c) => familyOf(c) === family).map((c) => parsePrefix(c)!.length));
      const bits = family === 4 ? 32 : 128;
      if (def === undefined) throw new InvalidArgumentError(`default_child_prefix_length.${key}`, `is required: the super network has IPv${family} prefixes`);
      if (def <= longest || def > bits) throw new InvalidArgumentError(`default_child_prefix_length.${key}`, `must be longer than /${longest} and at most /${bits}`);
      if (min !== undefined && (min <= longest || min > def)) throw new InvalidArgumentError(`min_child_prefix_length.${key}`, `must be longer than /${longest} and at most the default /${def}`);
      length.default[family] = def;
      length.min[family] = min ?? null;
    }
    return length;
  }

  // --- allocate (child networks, project members) ---

  async allocate(scope: Scope, req: AllocateNetworkRequest): Promise<NetworkRow> {
    if (req.requestId) {
      const existing = await this.store.byRequestId(req.project, req.requestId);
      if (existing) return this.resume(existing);
    }
    if (!(await this.directory.getProject(req.project))) throw new NotFoundError("bulkhead.network.v1.Project", req.project);
    if (!(await this.directory.getPartition(req.partition))) throw new NotFoundError("bulkhead.network.v1.Partition", req.partition);
    const parent = req.parentNetwork ? await this.visible(scope, req.parentNetwork, "parent_network") : await this.store.superOf(req.partition);
    if (!parent) throw new FailedPreconditionError(`partition ${req.partition} has no super network to allocate from`);
    if (!isSuper(parent.type)) throw new InvalidArgumentError("parent_network", `${parent.id} is not a super network`);
    if (parent.partition !== req.partition) throw new InvalidArgumentError("parent_network", `${parent.id} is in partition ${parent.partition}, not ${req.partition}`);

    let families = familiesOf(parent.prefixes);
    const only = familyOfProto(req.addressFamily);
    if (only) {
      if (!families.includes(only)) throw new InvalidArgumentError("address_family", `super network ${parent.id} has no IPv${only} prefix`);
      families = [only];
    }
    const lengths = { 4: null as number | null, 6: null as number | null };
    for (const family of families) lengths[family] = this.childLength(parent, family, req);

    const dmz = req.dmz;
    const destinations = new Set(req.destinationPrefixes);
    if (dmz) for (const family of families) destinations.add(defaultRoute(family));
    requireFamilies("destination_prefixes", [...destinations], families, "the network");
    const network: NewNetwork = {
      id: randomUUID(),
      name: req.name,
      description: req.description,
      labels: dmz ? { ...req.labels, [DEFAULT_EXTERNAL_LABEL]: "" } : req.labels,
      type: req.shared || dmz ? NetworkType.ChildShared : NetworkType.Child,
      partition: req.partition,
      project: req.project,
      parent_network: parent.id,
      prefixes: [],
      destination_prefixes: [...destinations],
      nat_type: dmz || req.natType === 2 ? 2 : 1,
      default_child_length_v4: null,
      default_child_length_v6: null,
      min_child_length_v4: null,
      min_child_length_v6: null,
      additional_announceable_cidrs: [],
      namespace: parent.type === NetworkType.SuperNamespaced ? req.project : ROOT,
      requested_length_v4: lengths[4],
      requested_length_v6: lengths[6],
      request_id: req.requestId || null,
    };
    let row: NetworkRow;
    try {
      row = await this.store.insertAllocating(network, "pool");
    } catch (error) {
      if (error instanceof RequestIdTaken) return this.resume((await this.store.byRequestId(req.project, req.requestId))!);
      throw error;
    }
    return this.completeAllocation(row, parent);
  }

  private childLength(parent: NetworkRow, family: Family, req: AllocateNetworkRequest): number {
    const key = family === 4 ? "ipv4" : "ipv6";
    const requested = req.length?.[key];
    const fallback = family === 4 ? parent.default_child_length_v4 : parent.default_child_length_v6;
    const min = family === 4 ? parent.min_child_length_v4 : parent.min_child_length_v6;
    const longestParent = Math.max(...parent.prefixes.filter((c) => familyOf(c) === family).map((c) => parsePrefix(c)!.length));
    const length = requested ?? fallback;
    if (length == null) throw new FailedPreconditionError(`super network ${parent.id} has no default IPv${family} child prefix length`);
    if (requested !== undefined) {
      if (requested <= longestParent) throw new InvalidArgumentError(`length.${key}`, `must be longer than the super network's /${longestParent}`);
      if (min != null && requested < min) throw new InvalidArgumentError(`length.${key}`, `must be /${min} or longer (the super network's minimum)`);
    }
    return length;
  }

  /** A retried request: return what it allocated, or finish the allocation it started. */
  private async resume(row: NetworkRow): Promise<NetworkRow> {
    if (row.state === "ready") return row;
    if (row.state === "compensating") throw new AbortedError(`the earlier attempt of this request failed and is being undone; retry`);
    if (row.state === "freeing") throw new FailedPreconditionError(`the network allocated by this request (${row.id}) is being freed`);
    const parent = await this.store.get(row.parent_network!);
    if (!parent) throw new FailedPreconditionError(`super network ${row.parent_network} is gone`);
    return this.completeAllocation(row, parent);
  }

  private async completeAllocation(row: NetworkRow, parent: NetworkRow): Promise<NetworkRow> {
    try {
      if (parent.type === NetworkType.SuperNamespaced) {
        await this.ipam.createNamespace(row.namespace);
        for (const cidr of parent.prefixes) await this.ipam.createPrefix(row.namespace, cidr, true);
      }
      // The families are independent: their prefixes are cut in parallel.
      const wanted = ([4, 6] as const).filter((family) => (family === 4 ? row.requested_length_v4 : row.requested_length_v6) != null);
      const prefixes = await Promise.all(
        wanted.map(async (family) => {
          const length = (family === 4 ? row.requested_length_v4 : row.requested_length_v6)!;
          // A super network with several prefixes of a family moves on when one is full.
          for (const cidr of parent.prefixes.filter((c) => familyOf(c) === family)) {
            const child = await this.ipam.acquireChildPrefix(row.namespace, cidr, length, childRequestId(row.id, family));
            if (child) return child;
          }
          throw new ResourceExhaustedError(`super network ${parent.id} has no free IPv${family} /${length} left`);
        }),
      );
      failpoint("network.allocate.after-prefixes");
      const ready = await this.store.markReady(row.id, prefixes, "network.allocated");
      if (!ready) throw new FailedPreconditionError(`network ${row.id} was abandoned while it was allocated; try again with a new request_id`);
      if (ready.project) this.peering?.syncProject(ready.project);
      return ready;
    } catch (error) {
      await compensate(this.log, `allocate ${row.id}`, () => this.compensateAllocation(row));
      throw error;
    }
  }

  /** Releases whatever an allocation acquired and deletes the row (and with it the VRF). */
  async compensateAllocation(row: NetworkRow): Promise<void> {
    if (!(await this.store.beginCompensation("networks", row.id))) return;
    if (isChild(row.type)) {
      for (const family of [4, 6] as const) {
        const child = await this.ipam.findChildPrefix(row.namespace, childRequestId(row.id, family));
        if (child) await this.ipam.releaseChildPrefix(row.namespace, child);
      }
    } else if (row.type !== NetworkType.SuperNamespaced) {
      // A creation that failed on an overlap must not delete the other network's prefix.
      for (const cidr of row.prefixes) if (!(await this.store.prefixClaimedByOther(row.id, cidr))) await this.ipam.deletePrefix(ROOT, cidr);
    }
    await this.store.delete(row.id, "compensating", undefined);
  }

  // --- read ---

  async get(scope: Scope, id: string): Promise<NetworkRow> {
    return this.visible(scope, id, "id");
  }

  async list(scope: Scope, filter: Omit<NetworkFilter, "visibleTo" | "project">, pageSize: number, after: string | undefined): Promise<NetworkRow[]> {
    return this.store.list({ ...filter, visibleTo: scope.project }, after, pageSize);
  }

  async usage(scope: Scope, id: string): Promise<FamilyUsage[]> {
    const row = await this.visible(scope, id, "id");
    if (row.prefixes.length === 0) return [];
    return (await this.ipam.usage(row.namespace, row.prefixes)).families;
  }

  vrfPool() {
    return this.store.vrfPool();
  }

  /** The network if the scope may see it; another project's unshared network is not found. */
  private async visible(scope: Scope, id: string, field: string): Promise<NetworkRow> {
    const row = await this.store.get(id);
    const project = scope.project;
    const visible =
      row &&
      row.state === "ready" &&
      (!project ||
        row.project === project ||
        row.type === NetworkType.ChildShared ||
        (row.type === NetworkType.External && (row.project === null || row.project === project)) ||
        isSuper(row.type));
    if (!visible || (scope.restricted && row.type === NetworkType.Underlay)) {
      throw new NotFoundError(NETWORK, id, `network ${id} not found${field === "id" ? "" : ` (${field})`}`);
    }
    return row;
  }

  /**
   * The network if the scope may change it: project members only their own child networks. What
   * they can see but not change (base networks, other projects' shared networks) is denied.
   */
  private async changeable(scope: Scope, id: string): Promise<NetworkRow> {
    const row = await this.visible(scope, id, "id");
    if (scope.restricted && !(row.project === scope.project && isChild(row.type))) {
      throw new PermissionDeniedError(isChild(row.type) ? `network ${id} belongs to another project` : `only administrators change ${row.type === NetworkType.External ? "external" : "super"} networks`);
    }
    return row;
  }

  // --- update ---

  async update(scope: Scope, req: UpdateNetworkRequest): Promise<NetworkRow> {
    const row = await this.changeable(scope, req.id);
    const families = familiesOf([...row.prefixes, ...req.addPrefixes]);
    if (req.shared && !isChild(row.type)) throw new InvalidArgumentError("shared", "only child networks can be shared");
    if ((req.addPrefixes.length > 0 || req.removePrefixes.length > 0) && isChild(row.type)) {
      throw new InvalidArgumentError(req.addPrefixes.length > 0 ? "add_prefixes" : "remove_prefixes", "a child network's prefixes are allocated; allocate another network instead");
    }
    if (!isSuper(row.type) && (req.addAdditionalAnnounceableCidrs.length > 0 || req.removeAdditionalAnnounceableCidrs.length > 0)) {
      throw new InvalidArgumentError("add_additional_announceable_cidrs", "only super networks have additional announceable CIDRs");
    }
    if (row.type === NetworkType.Underlay && familiesOf(req.addPrefixes).includes(6)) throw new InvalidArgumentError("add_prefixes", "an underlay network is IPv4 only");
    for (const cidr of req.removePrefixes) if (!row.prefixes.includes(cidr)) throw new InvalidArgumentError("remove_prefixes", `${cidr} is not a prefix of network ${row.id}`);
    if (req.removePrefixes.length >= row.prefixes.length + req.addPrefixes.length) throw new InvalidArgumentError("remove_prefixes", "a network keeps at least one prefix");
    requireFamilies("add_destination_prefixes", req.addDestinationPrefixes, families, "the network");

    // Prefixes to remove must be unused; those to add must not overlap anything (IPAM decides).
    const namespaceOfPrefixes = row.type === NetworkType.SuperNamespaced ? undefined : ROOT;
    if (namespaceOfPrefixes && req.removePrefixes.length > 0) {
      const { perPrefix } = await this.ipam.usage(namespaceOfPrefixes, req.removePrefixes);
      const used = perPrefix.find((p) => p.acquiredIps > 0n || p.acquiredPrefixes > 0n);
      if (used) throw new FailedPreconditionError(`prefix ${used.cidr} of network ${row.id} is in use (${used.acquiredIps} IPs, ${used.acquiredPrefixes} child prefixes)`, { type: NETWORK, name: row.id });
    }
    const change = (current: NetworkRow) => ({
      name: req.name ?? current.name,
      description: req.description ?? current.description,
      labels: patchLabels(current.labels, req.labels),
      type: req.shared ? NetworkType.ChildShared : current.type,
      prefixes: [...current.prefixes.filter((c) => !req.removePrefixes.includes(c)), ...req.addPrefixes],
      destination_prefixes: [...new Set([...current.destination_prefixes.filter((c) => !req.removeDestinationPrefixes.includes(c)), ...req.addDestinationPrefixes])],
      additional_announceable_cidrs: [...new Set([...current.additional_announceable_cidrs.filter((c) => !req.removeAdditionalAnnounceableCidrs.includes(c)), ...req.addAdditionalAnnounceableCidrs])],
    });
    if (!namespaceOfPrefixes || (req.addPrefixes.length === 0 && req.removePrefixes.length === 0)) return this.store.update(row.id, change);

    // A saga: recorded first, so that the sweeper finishes what a failure or crash leaves.
    const saga: UpdateSaga = { phase: "acquiring", add: req.addPrefixes, remove: req.removePrefixes };
    if (!(await this.store.beginUpdate(row.id, saga))) throw new AbortedError(`another update of network ${row.id} is under way; retry`);
    let updated: NetworkRow;
    try {
      for (const cidr of req.addPrefixes) await this.ipam.createPrefix(namespaceOfPrefixes, cidr);
      failpoint("network.update.after-prefixes");
      updated = await this.store.update(row.id, change, req.removePrefixes.length > 0 ? { ...saga, phase: "releasing" } : null);
    } catch (error) {
      await compensate(this.log, `update ${row.id}`, () => this.finishUpdate(row.id, saga));
      throw error;
    }
    if (req.removePrefixes.length > 0) {
      failpoint("network.update.before-release");
      // The change is made: what is left to do is done again until it succeeds, never undone.
      await compensate(this.log, `release removed prefixes of ${row.id}`, () => this.finishUpdate(row.id, { ...saga, phase: "releasing" }));
    }
    return updated;
  }

  /**
   * Finishes an update saga from what the row lists now: an added prefix it does not list is
   * deleted from IPAM (unless another network claims it), and so is a removed one it no longer
   * lists. Then the saga ends.
   */
  async finishUpdate(id: string, saga: UpdateSaga): Promise<void> {
    const listed = (await this.store.get(id))?.prefixes ?? [];
    const unlisted = [...(saga.phase === "acquiring" ? saga.add : []), ...saga.remove].filter((cidr) => !listed.includes(cidr));
    for (const cidr of unlisted) if (!(await this.store.prefixClaimedByOther(id, cidr))) await this.ipam.deletePrefix(ROOT, cidr);
    await this.store.endUpdate(id);
  }

  // --- free / delete ---

  async delete(scope: Scope, id: string): Promise<NetworkRow> {
    await this.changeable(scope, id);
    const row = await this.store.markFreeing(id);
    // Freeing, the network can take no new peering; if the peering service refuses (manual
    // peerings remain) or cannot be asked, the network is ready again.
    try {
      await this.peering?.releaseNetwork(id, row.project);
    } catch (error) {
      await this.store.unmarkFreeing(id);
      throw error;
    }
    await this.completeFree(row);
    return row;
  }

  /** Releases a freeing network's prefixes in IPAM, then deletes the row and its VRF. */
  async completeFree(row: NetworkRow): Promise<void> {
    if (isChild(row.type)) {
      for (const cidr of row.prefixes) await this.ipam.releaseChildPrefix(row.namespace, cidr);
    } else if (row.type !== NetworkType.SuperNamespaced) {
      for (const cidr of row.prefixes) await this.ipam.deletePrefix(ROOT, cidr);
    }
    failpoint("network.free.after-prefixes");
    await this.store.delete(row.id, "freeing", "network.deleted");
    // A project that no longer has children of a namespaced super does not need its namespace.
    if (row.namespace !== ROOT && row.parent_network && row.project && !(await this.store.projectUsesNamespace(row.parent_network, row.project))) {
      const parent = await this.store.get(row.parent_network);
      await compensate(this.log, `namespace ${row.namespace}`, async () => {
        for (const cidr of parent?.prefixes ?? []) await this.ipam.deletePrefix(row.namespace, cidr);
        await this.ipam.deleteNamespace(row.namespace);
      });
    }
  }
}
