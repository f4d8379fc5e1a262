// Peerings: creating and deleting them under the rules, releasing a network before it is deleted,
// keeping automatic peerings in line with the `auto-peer` label, and the route-leak plan.
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, type Logger, type Scope } from "@bulkhead/service-kit";
import type { Queryable } from "@bulkhead/db";
import { PeeringType, type CreatePeeringRequest, type ExternalBgp } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { checkExternalBgp, checkRemotePrefixes } from "./bgp.js";
import { NetworkType, type Directory, type NetworkFacts } from "./directory.js";
import { leakPlan, type LeakPlan } from "./plan.js";
import { automaticPairs, checkImportCollision, checkLocalPeering, checkSide, isOwnPrivate } from "./rules.js";
import { Taken, type Describe, type NewPeering, type PeeringRow, type PeeringStore } from "./store.js";

const PEERING = "bulkhead.peering.v1.Peering";
/** Prefixes an external peer may announce when its peering sets no maximum. */
export const DEFAULT_MAXIMUM_PREFIXES = 1000;
export const AUTO_PEER_LABEL = "auto-peer";

/** The event payload: enough for the reconciler to find every device carrying either VRF. */
const describeWith =
  (networks: ReadonlyMap<string, NetworkFacts>): Describe =>
  (row) => ({
    peering: row.id,
    project: row.project,
    type: row.type === 1 ? "local" : "external",
    automatic: row.automatic,
    partition: row.partition,
    networks: [row.network1, row.network2].filter((id): id is string => id !== null).map((id) => ({ network: id, vrf: networks.get(id)?.vrf ?? 0 })),
    ...(row.type === 2 ? { switch: row.exit_switch, port: row.exit_port } : {}),
  });

export class Peerings {
  /** Peerings whose network was missing at the last sweep: deleted if it is still missing. */
  private missing = new Set<string>();

  constructor(
    private readonly store: PeeringStore,
    private readonly directory: Directory,
    private readonly log: Logger,
  ) {}

  // --- create / read / delete ---

  async create(scope: Scope, req: CreatePeeringRequest): Promise<PeeringRow> {
    const project = req.project;
    if (req.requestId) {
      const existing = await this.store.byRequestId(project, req.requestId);
      if (existing) return existing;
    }
    if (!(await this.directory.projectLabels(project))) throw new NotFoundError("bulkhead.network.v1.Project", project);
    const n1 = checkSide("network1", req.network1, await this.directory.network(req.network1), project);
    const facts = new Map([[n1.id, n1]]);
    let peering: NewPeering;
    let check: ((q: Queryable) => Promise<void>) | undefined;
    if (req.type === PeeringType.LOCAL) {
      const n2 = checkSide("network2", req.network2, await this.directory.network(req.network2), project);
      facts.set(n2.id, n2);
      const partition = checkLocalPeering(project, n1, n2);
      // Under the networks' locks: a concurrent peering of either cannot slip in between check and insert.
      check = async (q) => {
        await this.checkImports(n1, n2, q);
        await this.checkImports(n2, n1, q);
      };
      peering = { project, name: req.name, type: 1, partition, network1: n1.id, network2: n2.id, bgp: null, exit_switch: null, exit_port: null, automatic: false, request_id: req.requestId || null };
    } else {
      const partition = await this.checkExternal(scope, project, n1, req.bgp!);
      const { local, remote } = req.bgp!;
      peering = {
        project,
        name: req.name,
        type: 2,
        partition,
        network1: n1.id,
        network2: null,
        bgp: { local: { asn: local!.asn, address: local!.address }, remote: { asn: remote!.asn, address: remote!.address }, remotePrefixes: req.bgp!.remotePrefixes, maximumPrefixes: req.bgp!.maximumPrefixes || DEFAULT_MAXIMUM_PREFIXES },
        exit_switch: req.bgp!.switch,
        exit_port: req.bgp!.port,
        automatic: false,
        request_id: req.requestId || null,
      };
    }
    try {
      return await this.store.insert(peering, describeWith(facts), check);
    } catch (error) {
      if (!(error instanceof Taken)) throw error;
      if (error.what === "request") return (await this.store.byRequestId(project, req.requestId))!;
      if (error.what === "port") throw new FailedPreconditionError(`port ${peering.exit_port} of ${peering.exit_switch} already carries an external peering`);
      const existing = await this.store.ofPair(peering.network1, peering.network2!);
      throw new AlreadyExistsError(PEERING, existing?.id ?? "", `${peering.network1} and ${peering.network2} are already peered${existing ? ` (peering ${JSON.stringify(existing.name)}, ${existing.id})` : ""}; a pair is peered once, whichever side is named first`);
    }
  }

  /** Adding `added` as a peer of `side` must not collide with what `side` already imports. */
  private async checkImports(side: NetworkFacts, added: NetworkFacts, q: Queryable): Promise<void> {
    const peers: { peering: string; network: NetworkFacts }[] = [];
    for (const peer of await this.store.localPeersOf(side.id, q)) {
      const network = await this.directory.network(peer.network);
      if (network) peers.push({ peering: peer.peering, network });
    }
    checkImportCollision(side, added, peers);
  }

  /**
   * An external session attaches a private network of the project (platform admins may also
   * attach an external network) to a free, existing port of an exit switch of its partition.
   * Returns the switch's partition.
   */
  private async checkExternal(scope: Scope, project: string, n1: NetworkFacts, bgp: ExternalBgp): Promise<string> {
    const externalAllowed = scope.privileged && n1.type === NetworkType.EXTERNAL;
    if (!isOwnPrivate(n1, project) && !externalAllowed) {
      throw new InvalidArgumentError("network1", `an external BGP session attaches a private network of project ${project}${scope.privileged ? " or an external network" : ""}; ${n1.id} is not one`);
    }
    checkExternalBgp(bgp.local!, bgp.remote!);
    checkRemotePrefixes(bgp.remotePrefixes, n1.partition ? await this.directory.listNetworks({ partition: n1.partition }) : []);
    const exit = await this.directory.exitPort(bgp.switch, bgp.port);
    if (!exit) throw new InvalidArgumentError("bgp.switch", `there is no switch ${bgp.switch}`);
    if (!exit.isExit) throw new InvalidArgumentError("bgp.switch", `${bgp.switch} is not an exit switch; external sessions terminate on exit switches`);
    if (n1.partition && exit.partition !== n1.partition) throw new InvalidArgumentError("bgp.switch", `${bgp.switch} is in partition ${exit.partition}, ${n1.id} in ${n1.partition}`);
    if (!exit.port) throw new InvalidArgumentError("bgp.port", `${bgp.switch} has no port ${bgp.port}`);
    if (exit.port.uplink) throw new FailedPreconditionError(`port ${bgp.port} of ${bgp.switch} is a fabric uplink`);
    if (await this.store.onPort(bgp.switch, bgp.port)) throw new FailedPreconditionError(`port ${bgp.port} of ${bgp.switch} already carries an external peering`);
    return exit.partition;
  }

  async get(scope: Scope, id: string): Promise<PeeringRow> {
    const row = await this.store.get(id);
    if (!row || (scope.project && row.project !== scope.project)) throw new NotFoundError(PEERING, id);
    return row;
  }

  list(scope: Scope, filter: { project?: string; network?: string; partition?: string }, page: { after?: string[]; limit: number }) {
    return this.store.list({ ...filter, project: scope.project ?? filter.project }, page);
  }

  async delete(scope: Scope, id: string): Promise<PeeringRow> {
    const row = await this.get(scope, id);
    const describe = describeWith(await this.factsOf([row]));
    return this.store.delete(id, describe, (current) => {
      if (current.automatic) throw new FailedPreconditionError(`peering ${id} is automatic: it goes when the project's ${AUTO_PEER_LABEL} label is removed or one of its networks is freed`);
    });
  }

  // --- network lifecycle and automatic peerings ---

  /** Before the network service deletes a network: automatic peerings go, manual ones refuse. */
  async releaseNetwork(network: string, owner: string | undefined): Promise<PeeringRow[]> {
    const rows = await this.store.list({ network });
    return this.store.release(network, owner, describeWith(await this.factsOf(rows)));
  }

  /**
   * Makes the project's automatic peerings match its label and networks: with `auto-peer: "true"`
   * every two private networks of one partition are peered (pairs whose prefixes overlap are
   * left out); without it there are none.
   */
  async syncProject(project: string): Promise<{ created: PeeringRow[]; removed: PeeringRow[] }> {
    const labels = await this.directory.projectLabels(project);
    const networks = labels?.[AUTO_PEER_LABEL] === "true" ? await this.directory.listNetworks({ project }) : [];
    const facts = new Map(networks.map((n) => [n.id, n]));
    const pairs = automaticPairs(networks, project).map(([network1, network2]) => ({ network1, network2, partition: facts.get(network1)!.partition }));
    const result = await this.store.syncAutomatic(project, pairs, describeWith(facts));
    if (result.created.length + result.removed.length > 0) this.log.info({ project, created: result.created.length, removed: result.removed.length }, "automatic peerings synchronized");
    return result;
  }

  /**
   * The periodic safety net: synchronizes every project that is labelled or has automatic
   * peerings, and deletes peerings whose network has been gone for two sweeps in a row (a network
   * being freed is briefly invisible; one sweep is not proof).
   */
  async sweep(): Promise<void> {
    // Only the networks peerings name are looked for: not every network of every partition.
    const existing = await this.directory.existing(await this.store.networkIds());
    const dangling = await this.store.dangling(existing);
    const stillMissing = dangling.filter((row) => this.missing.has(row.id));
    this.missing = new Set(dangling.filter((row) => !this.missing.has(row.id)).map((row) => row.id));
    for (const row of stillMissing) {
      this.log.warn({ peering: row.id, network1: row.network1, network2: row.network2 }, "deleting a peering whose network is gone");
      await this.store.delete(row.id, describeWith(new Map()), () => {}).catch((error) => {
        if (!(error instanceof NotFoundError)) throw error;
      });
    }
    const projects = new Set([...(await this.directory.projectsLabelled({ [AUTO_PEER_LABEL]: "true" })), ...(await this.store.projectsWithAutomatic())]);
    for (const project of projects) await this.syncProject(project);
  }

  // --- the route-leak plan ---

  async plan(partition: string, vrf: number): Promise<LeakPlan> {
    const partitionNetworks = await this.directory.listNetworks({ partition });
    const peerings = await this.store.list({ partition });
    const facts = await this.factsOf(peerings, new Map(partitionNetworks.map((n) => [n.id, n])));
    const externals = (await this.directory.listNetworks()).filter((n) => n.type === NetworkType.EXTERNAL);
    // What each project publishes into an external network it is peered with: its addresses there.
    // And where the project's firewalls take over the way out.
    const published = new Map<string, string[]>();
    const firewallExits = new Set<string>();
    const exitsRead = new Set<string>();
    for (const p of peerings) {
      const [a, b] = [facts.get(p.network1), p.network2 ? facts.get(p.network2) : undefined];
      for (const [own, external] of [[a, b], [b, a]] as const) {
        if (!own || external?.type !== NetworkType.EXTERNAL || !own.project) continue;
        const key = `${own.project}|${external.id}`;
        if (!published.has(key)) published.set(key, await this.directory.addressesOf(own.project, external.id));
        if (exitsRead.has(own.project)) continue;
        exitsRead.add(own.project);
        for (const exit of await this.directory.firewallExits(own.project)) firewallExits.add(exit);
      }
    }
    return leakPlan(partitionNetworks, peerings, facts, { vrf, published, externals, firewallExits });
  }

  /** The networks the peerings name, read once each; gone networks are left out. */
  private async factsOf(rows: readonly PeeringRow[], known = new Map<string, NetworkFacts>()): Promise<Map<string, NetworkFacts>> {
    for (const id of new Set(rows.flatMap((r) => [r.network1, r.network2]).filter((id): id is string => id !== null))) {
      if (known.has(id)) continue;
      const n = await this.directory.network(id);
      if (n) known.set(id, n);
    }
    return known;
  }
}
