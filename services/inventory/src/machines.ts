// Machines and firewalls: registration (the connection map), allocation as a saga over the
// network service, installation, freeing.
//
// Allocation saga: (1) one transaction claims a free machine and writes the allocation
// `allocating` with its ASN; (2) IPs are allocated through the network service with request ids
// derived from the allocation; (3) the allocation becomes `ready` with its outbox event. Failures
// compensate (the machine's IPs are released, the allocation and ASN deleted, the machine free
// again); a crash is resumed by a retry with the same request_id or compensated by the sweeper.
import { AbortedError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, compensate, failpoint, type Logger, type Scope } from "@bulkhead/service-kit";
import type { AllocateFirewallRequest, AllocateMachineRequest, BmcCredentials, NetworkAttachment } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { IPType } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { formatAddress, parsePrefix } from "@bulkhead/netaddr";
import { matchConnections, type KnownSwitch, type NicReport } from "./lldp.js";
import { Lookup } from "./lookup.js";
import { NetworkType, type Network, type NetworkIp, type NetworkPort } from "./network.js";
import { isPrivate, primaryOf } from "./roles.js";
import type { SecretBox } from "./secrets.js";
import { MachineState, RequestIdTaken, type AllocationNetwork, type MachineRow, type MachineStore } from "./store/machines.js";
import type { SwitchStore } from "./store/switches.js";

const MACHINE = "bulkhead.inventory.v1.Machine";
export const enum Role {
  Machine = 1,
  Firewall = 2,
}

/** Request id of the address of `network` of one family an allocation binds to its machine. */
const ipRequestId = (allocation: string, network: string, family: 4 | 6) => `${allocation}:${network}:v${family}`;

export class Machines {
  constructor(
    private readonly store: MachineStore,
    private readonly switches: SwitchStore,
    private readonly network: NetworkPort,
    private readonly secrets: SecretBox,
    private readonly options: { requireDualHoming: boolean },
    private readonly log: Logger,
  ) {}

  // --- registration ---

  async register(device: string, nics: NicReport[], bmc: BmcCredentials | undefined): Promise<MachineRow> {
    const names = new Set<string>();
    nics.forEach((nic, i) => {
      if (names.has(nic.name)) throw new InvalidArgumentError(`nics.${i}.name`, `NIC ${nic.name} is listed twice`);
      names.add(nic.name);
    });
    const switchIds = [...new Set(nics.flatMap((n) => n.neighbors.map((x) => x.switch)))];
    const known = new Map<string, KnownSwitch>();
    for (const id of switchIds) {
      const sw = await this.switches.get(id);
      if (sw) known.set(id, { id: sw.id, partition: sw.partition, rack: sw.rack, role: sw.role, ports: sw.ports });
    }
    const owners = await this.store.portOwners(switchIds);
    const match = matchConnections(device, nics, known, (sw, port) => owners.get(`${sw}/${port}`), this.options.requireDualHoming);
    return this.store.register(device, nics, match, bmc && this.seal(device, bmc));
  }

  async setBmc(id: string, bmc: BmcCredentials): Promise<MachineRow> {
    return this.store.setBmc(id, this.seal(id, bmc));
  }

  private seal(machine: string, bmc: BmcCredentials) {
    return { address: bmc.address, username: bmc.username, secret: this.secrets.seal(bmc.password, `bmc:${machine}`) };
  }

  // --- reads ---

  async get(scope: Scope, id: string): Promise<MachineRow> {
    const row = await this.store.get(id);
    if (!row || (scope.project && row.allocation?.project !== scope.project)) throw new NotFoundError(MACHINE, id);
    return row;
  }

  list(scope: Scope, filter: { partition?: string; rack?: string; state?: number; role?: number; ids?: string[] }, after: string | undefined, limit: number): Promise<MachineRow[]> {
    return this.store.list({ ...filter, project: scope.project }, after, limit);
  }

  delete(id: string): Promise<MachineRow> {
    return this.store.delete(id);
  }

  // --- allocation ---

  /** `lookup` holds the request's network-service reads (its answer reuses them). */
  async allocate(scope: Scope, req: AllocateMachineRequest | AllocateFirewallRequest, role: Role, lookup: Lookup): Promise<MachineRow> {
    if (req.requestId) {
      const existing = await this.store.byRequestId(req.project, req.requestId);
      if (existing?.allocation) return this.resume(existing, lookup);
    }
    if (!(await this.store.getImage(req.image))) throw new InvalidArgumentError("image", `there is no image ${req.image}`);
    const explicitIpNetworks = await this.checkExplicitIps(req.project, req.ips, req.networks.map((n) => n.network));
    const networks = await this.checkNetworks(lookup, req, explicitIpNetworks, role);
    let row: MachineRow;
    try {
      row = await this.store.claim(req.partition, req.machine || undefined, {
        project: req.project,
        role,
        hostname: req.hostname,
        name: req.name,
        description: req.description,
        image: req.image,
        ssh_public_keys: req.sshPublicKeys,
        networks,
        explicit_ips: req.ips,
        request_id: req.requestId || null,
      });
    } catch (error) {
      if (error instanceof RequestIdTaken) return this.resume((await this.store.byRequestId(req.project, req.requestId))!, lookup);
      throw error;
    }
    return this.completeAllocation(row, lookup);
  }

  /**
   * Applies the attachment rules and returns the networks to attach (a firewall's partition
   * underlay added). Another project's unshared network reads as not existing.
   */
  private async checkNetworks(lookup: Lookup, req: { project: string; partition: string; networks: NetworkAttachment[] }, explicitIpNetworks: ReadonlySet<string>, role: Role): Promise<AllocationNetwork[]> {
    const { project, partition, networks: requested } = req;
    const resolved: Network[] = [];
    for (const [i, attachment] of requested.entries()) {
      const field = `networks.${i}.network`;
      const n = await lookup.network(attachment.network);
      const visible = n && (n.type === NetworkType.CHILD_SHARED || n.project === project || (n.type !== NetworkType.CHILD && !n.project));
      if (!n || !visible) throw new InvalidArgumentError(field, `there is no network ${attachment.network} for project ${project}`);
      if (n.type === NetworkType.SUPER || n.type === NetworkType.SUPER_NAMESPACED || n.type === NetworkType.UNDERLAY) {
        throw new InvalidArgumentError(field, `${n.id} is a ${n.type === NetworkType.UNDERLAY ? "underlay" : "super"} network; machines are attached to child, shared and external networks`);
      }
      if (isPrivate(n) && n.partition !== partition) throw new InvalidArgumentError(field, `${n.id} is in partition ${n.partition}, the allocation in ${partition}`);
      if (resolved.some((r) => r.id === n.id)) throw new InvalidArgumentError(field, `${n.id} is listed twice`);
      if (!attachment.autoAcquire && isPrivate(n) && !explicitIpNetworks.has(n.id)) throw new InvalidArgumentError(`networks.${i}.auto_acquire`, `a private network needs an address: set auto_acquire or list one of its IPs in ips`);
      resolved.push(n);
    }
    const privates = resolved.filter(isPrivate);
    if (role === Role.Machine) {
      if (privates.length !== 1 || privates[0]!.project !== project) throw new InvalidArgumentError("networks", "a machine is attached to exactly one private network, and it belongs to the machine's project");
    } else {
      const primaries = privates.filter((n) => n.type === NetworkType.CHILD);
      if (primaries.length !== 1 || primaries[0]!.project !== project) throw new InvalidArgumentError("networks", "a firewall is attached to exactly one unshared private network of its project, plus any shared and external networks");
    }
    const attachments = requested.map((a) => ({ network: a.network, autoAcquire: a.autoAcquire }));
    if (role === Role.Firewall) {
      const underlay = await this.network.underlayOf(partition);
      if (!underlay) throw new FailedPreconditionError(`partition ${partition} has no underlay network for the firewall's VTEP address`);
      attachments.push({ network: underlay.id, autoAcquire: true });
    }
    return attachments;
  }

  /**
   * The underlay address for a firewall's VTEP: the one this allocation already got (a resumed
   * saga), else the lowest host address of the underlay that neither a switch of the partition
   * (its router id) nor another device holds.
   */
  private async freeVtep(underlay: Network, row: MachineRow, allocation: string): Promise<string> {
    const taken = await this.network.listIps({ network: underlay.id });
    const mine = taken.find((ip) => ip.machine === row.id);
    if (mine) return mine.ip;
    const used = new Set([...taken.map((ip) => ip.ip), ...(await this.switches.list({ partition: row.partition ?? undefined })).map((s) => s.router_id)]);
    for (const text of underlay.prefixes) {
      const prefix = parsePrefix(text)!;
      if (prefix.family !== 4) continue;
      const size = 2n ** BigInt(32 - prefix.length);
      for (let i = 1n; i < size - 1n && i < 65536n; i++) {
        const candidate = formatAddress({ family: 4, value: prefix.network + i });
        if (!used.has(candidate)) return candidate;
      }
    }
    throw new ResourceExhaustedError(`the underlay ${underlay.id} has no address left for the VTEP of firewall ${row.id} (allocation ${allocation})`);
  }

  /** Checks the addresses the caller lists; returns the networks they belong to. */
  private async checkExplicitIps(project: string, uuids: string[], networks: string[]): Promise<Set<string>> {
    const found = new Set<string>();
    for (const [i, uuid] of uuids.entries()) {
      const ip = await this.network.ip(uuid);
      if (!ip || ip.project !== project) throw new InvalidArgumentError(`ips.${i}`, `there is no IP ${uuid} of project ${project}`);
      if (!networks.includes(ip.network)) throw new InvalidArgumentError(`ips.${i}`, `${ip.ip} is in network ${ip.network}, which the allocation does not attach`);
      if (ip.machine) throw new FailedPreconditionError(`${ip.ip} is bound to machine ${ip.machine}`, { type: "bulkhead.network.v1.IP", name: uuid });
      found.add(ip.network);
    }
    return found;
  }

  private async resume(row: MachineRow, lookup: Lookup): Promise<MachineRow> {
    const state = row.allocation!.state;
    if (state === "ready") return row;
    if (state === "compensating") throw new AbortedError("the earlier attempt of this request failed and is being undone; retry");
    if (state === "freeing") throw new FailedPreconditionError(`the machine allocated by this request (${row.id}) is being freed`);
    return this.completeAllocation(row, lookup);
  }

  private async completeAllocation(row: MachineRow, lookup: Lookup): Promise<MachineRow> {
    const allocation = row.allocation!;
    const acquiredIps: NetworkIp[] = [];
    try {
      for (const attachment of allocation.networks.filter((n) => n.autoAcquire)) {
        const network = await lookup.network(attachment.network);
        if (!network) throw new FailedPreconditionError(`network ${attachment.network} is gone`);
        // One address per family; a firewall's underlay address is IPv4 (its VTEP).
        const families = [...new Set(network.prefixes.map((p) => parsePrefix(p)!.family))].filter((f) => network.type !== NetworkType.UNDERLAY || f === 4);
        // The families together; every call settles before a failure is compensated, so no address
        // is acquired after the compensation listed the machine's.
        const acquired = await Promise.allSettled(
          families.map(async (family) => {
            // A firewall's VTEP: the lowest underlay address that is no switch's router id (nor taken).
            const address = network.type === NetworkType.UNDERLAY ? await this.freeVtep(network, row, allocation.id) : "";
            return this.network.allocateIp(allocation.project, network.id, family, row.id, ipRequestId(allocation.id, network.id, family), address);
          }),
        );
        const failed = acquired.find((r) => r.status === "rejected");
        if (failed) throw failed.reason;
        for (const r of acquired) if (r.status === "fulfilled") acquiredIps.push(r.value);
      }
      for (const uuid of allocation.explicit_ips) await this.network.bindIp(uuid, row.id);
      failpoint("inventory.allocate.after-ips");
      const ready = await this.store.markAllocated(row.id, await this.eventPayload(row, lookup));
      if (!ready) throw new FailedPreconditionError(`the allocation of machine ${row.id} was abandoned; try again with a new request_id`);
      // Its addresses are those it just acquired, unless the caller brought some (then they are read).
      if (allocation.explicit_ips.length === 0) lookup.knowMachineIps(row.id, acquiredIps);
      return ready;
    } catch (error) {
      await compensate(this.log, `allocation of ${row.id}`, () => this.compensateAllocation(row));
      throw error;
    }
  }

  /**
   * Undoes an allocation: the addresses it acquired are released, the ones the caller brought are
   * unbound (they stay the project's), then the machine and its ASN are free.
   */
  async compensateAllocation(row: MachineRow): Promise<void> {
    const allocation = row.allocation!;
    if (!(await this.store.beginCompensation(row.id, allocation.id))) return;
    for (const ip of await this.network.listIps({ machine: row.id })) {
      if (allocation.explicit_ips.includes(ip.uuid)) await this.network.unbindIp(ip.uuid);
      else await this.network.releaseIp(ip.uuid);
    }
    await this.store.endAllocation(row.id, allocation.id, "compensating", undefined);
  }

  async reportInstallation(device: string, succeeded: boolean, message: string, lookup: Lookup): Promise<MachineRow> {
    const row = await this.store.get(device);
    if (!row) throw new NotFoundError(MACHINE, device);
    if (!succeeded) {
      this.log.warn({ machine: device, message }, "installation failed; the machine stays in the PXE VLAN");
      return row;
    }
    return this.store.markInstalled(device, await this.eventPayload(row, lookup));
  }

  async free(scope: Scope, id: string): Promise<MachineRow> {
    await this.get(scope, id);
    const row = await this.store.markFreeing(id);
    await this.completeFree(row);
    return (await this.store.get(id))!;
  }

  /**
   * Releases the machine's ephemeral addresses and unbinds its static ones (they outlive the
   * machine, as in metal-stack), then ends the allocation: ports back to PXE, ASN free.
   */
  async completeFree(row: MachineRow): Promise<void> {
    const payload = await this.eventPayload(row, new Lookup(this.network));
    for (const ip of await this.network.listIps({ machine: row.id })) {
      if (ip.type === IPType.IP_TYPE_STATIC) await this.network.unbindIp(ip.uuid);
      else await this.network.releaseIp(ip.uuid);
    }
    failpoint("inventory.free.after-ips");
    await this.store.endAllocation(row.id, row.allocation!.id, "freeing", payload);
  }

  /** What the reconciler needs to find the devices a machine's change touches. */
  private async eventPayload(row: MachineRow, lookup: Lookup): Promise<Record<string, unknown>> {
    const allocation = row.allocation;
    const networks = allocation ? (await Promise.all(allocation.networks.map((n) => lookup.network(n.network)))).filter((n): n is Network => n !== undefined) : [];
    return {
      machine: row.id,
      partition: row.partition,
      project: allocation?.project ?? null,
      role: allocation?.role ?? null,
      switches: [...new Set(row.connections.map((c) => c.switch))].sort(),
      networks: networks.map((n) => ({ network: n.id, vrf: n.vrf, type: n.type })),
      primary: allocation ? (primaryOf(networks, allocation.project)?.id ?? null) : null,
      installed: row.state === MachineState.Installed,
    };
  }
}
