// Network policies and firewall options: their scope, their status, and the ruleset each
// firewall compiles to.
import { createHash } from "node:crypto";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, type Scope } from "@bulkhead/service-kit";
import { contains, parseAddress, parsePrefix } from "@bulkhead/netaddr";
import { compileFirewall, policyProblems, unifiedDiff, type FirewallOptions, type Policy } from "@bulkhead/render";
import { NetworkType, type Directory, type Firewall } from "./directory.js";
import type { PolicyDraft } from "./spec.js";
import { PolicyState, type PolicyRow, type PolicyStore, type Status } from "./store.js";

const POLICY = "bulkhead.firewall.v1.NetworkPolicy";
const FIREWALL = "bulkhead.inventory.v1.Machine";

export interface Compiled {
  ruleset: string;
  hash: string;
  /** The policies compiled in, by id. */
  policies: string[];
  /** Why policies in scope were left out, by policy name. */
  problems: Map<string, string[]>;
}

/** A firewall's ruleset from its policies now (memoized within one report). */
type CompileFirewall = (fw: Firewall) => Promise<Compiled>;

export interface FirewallPlan {
  firewall: string;
  ruleset: string;
  diff: string;
}

const noFirewall = (id: string) => new NotFoundError(FIREWALL, id, `there is no allocated firewall ${id}`);
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const asPolicy = (id: string, d: Pick<PolicyDraft, "name" | "ingress" | "egress">): Policy => ({ id, name: d.name, ingress: d.ingress, egress: d.egress });

export class Policies {
  constructor(
    private readonly store: PolicyStore,
    private readonly directory: Directory,
  ) {}

  // --- policies ---

  async create(project: string, draft: PolicyDraft): Promise<PolicyRow> {
    await this.checkScope(project, draft);
    return this.store.insert(project, draft, await this.evaluate(project, draft));
  }

  async get(scope: Scope, id: string): Promise<PolicyRow> {
    const row = await this.store.get(id);
    if (!row || (scope.project && row.project !== scope.project)) throw new NotFoundError(POLICY, id);
    return row;
  }

  list(scope: Scope, filter: { project?: string; firewall?: string; state?: number }, page: { after?: string[]; limit: number }): Promise<PolicyRow[]> {
    return this.store.list({ ...filter, project: scope.project ?? filter.project }, page);
  }

  async update(scope: Scope, id: string, draft: PolicyDraft): Promise<PolicyRow> {
    const current = await this.get(scope, id);
    if (draft.name !== current.name) throw new InvalidArgumentError("spec.name", `a policy keeps its name (${current.name})`);
    if (draft.firewall !== current.firewall || draft.network !== current.network) {
      throw new InvalidArgumentError(draft.firewall ? "spec.firewall" : "spec.network", "a policy keeps its scope; create a new policy for another one");
    }
    const status = await this.evaluate(current.project, draft);
    return this.store.update(id, draft, status, [...current.firewalls, ...status.firewalls]);
  }

  async delete(scope: Scope, id: string): Promise<PolicyRow> {
    await this.get(scope, id);
    return this.store.delete(id);
  }

  /**
   * A policy applies to one firewall of the project, or to every firewall of the project attached
   * to one of the project's private networks.
   */
  private async checkScope(project: string, draft: PolicyDraft): Promise<void> {
    if (draft.firewall) {
      const fw = await this.directory.firewall(draft.firewall);
      if (!fw || fw.project !== project) throw new InvalidArgumentError("spec.firewall", `there is no firewall ${draft.firewall} of project ${project}`);
    } else {
      const network = await this.directory.network(draft.network!);
      const isPrivate = network?.type === NetworkType.CHILD || network?.type === NetworkType.CHILD_SHARED;
      if (!network || !isPrivate || network.project !== project) throw new InvalidArgumentError("spec.network", `there is no private network ${draft.network} of project ${project}`);
    }
  }

  /** The firewalls a policy applies to now. */
  private async scopeOf(project: string, draft: Pick<PolicyDraft, "firewall" | "network">, firewalls?: Firewall[]): Promise<Firewall[]> {
    if (draft.firewall) {
      const fw = firewalls?.find((f) => f.id === draft.firewall) ?? (await this.directory.firewall(draft.firewall));
      return fw && fw.project === project ? [fw] : [];
    }
    return (firewalls ?? (await this.directory.firewallsOf(project))).filter((f) => f.networks.some((n) => n.id === draft.network));
  }

  /**
   * Rejected with the reasons when it does not compile for a firewall in scope, pending while no
   * firewall is in scope; otherwise what the firewalls did with it (`deployment`), or pending
   * when that is not asked (a policy just written is on no firewall yet).
   */
  private async evaluate(project: string, draft: PolicyDraft, firewalls?: Firewall[], deployment?: { policy: string; compiled: CompileFirewall }): Promise<Status> {
    const scope = await this.scopeOf(project, draft, firewalls);
    const ids = scope.map((f) => f.id).sort();
    if (scope.length === 0) return { state: PolicyState.Pending, reason: draft.firewall ? `firewall ${draft.firewall} is not allocated` : `no firewall of the project is attached to ${draft.network} yet`, firewalls: [], compiles: true };
    const reasons = scope.flatMap((fw) => policyProblems(asPolicy("", draft), fw.networks).map((p) => `${fw.id}: ${p}`));
    if (reasons.length > 0) return { state: PolicyState.Rejected, reason: reasons.join("; "), firewalls: ids, compiles: false };
    const waiting = { state: PolicyState.Pending, reason: `waiting for ${ids.join(", ")} to apply it`, firewalls: ids, compiles: true };
    return deployment ? this.deployment(deployment.policy, scope, ids, deployment.compiled) : waiting;
  }

  /**
   * Deployed once every firewall in scope applied the ruleset compiled from the current policies
   * (with this one in it); rejected when that ruleset was refused for one of them; else pending.
   */
  private async deployment(policy: string, scope: Firewall[], ids: string[], compiled: CompileFirewall): Promise<Status> {
    const waiting: string[] = [];
    for (const fw of scope) {
      const current = await compiled(fw);
      const outcome = await this.store.outcome(fw.id);
      if (outcome.appliedHash === current.hash && current.policies.includes(policy)) continue;
      if (outcome.refused?.hash === current.hash) return { state: PolicyState.Rejected, reason: `${fw.id} refused its ruleset: ${outcome.refused.reason}`, firewalls: ids, compiles: true };
      waiting.push(fw.id);
    }
    return waiting.length > 0 ? { state: PolicyState.Pending, reason: `waiting for ${waiting.join(", ")} to apply it`, firewalls: ids, compiles: true } : { state: PolicyState.Deployed, reason: "", firewalls: ids, compiles: true };
  }

  // --- compiling ---

  /** The firewall's ruleset from its policies (one of them replaced by `draft`, for plans). */
  private async compile(fw: Firewall, draft?: { project: string; policy: Policy }): Promise<Compiled> {
    const rows = await this.store.applyingTo(fw.id, fw.project, fw.networks.map((n) => n.id));
    const policies = rows.filter((r) => !(draft && r.name === draft.policy.name)).map((r) => asPolicy(r.id, r));
    if (draft) policies.push(draft.policy);
    const problems = new Map<string, string[]>();
    const accepted = policies.filter((p) => {
      const found = policyProblems(p, fw.networks);
      if (found.length > 0) problems.set(p.name, found);
      return found.length === 0;
    });
    const ruleset = compileFirewall({ id: fw.id, networks: fw.networks, policies: accepted, options: await this.store.options(fw.id, fw.project) });
    return { ruleset, hash: sha256(ruleset), policies: accepted.map((p) => p.id).sort(), problems };
  }

  /** The ruleset a firewall's policies compile to now (a pure read). */
  async ruleset(device: string): Promise<Compiled> {
    return this.compile(await this.allocatedFirewall(device));
  }

  /**
   * What became of a ruleset on a firewall (the reconciler reports it): recorded, and the
   * statuses of the policies applying to the firewall follow. Returns those policies.
   */
  async reportOutcome(device: string, ruleset: string, outcome: "applied" | "refused", reason: string): Promise<string[]> {
    const fw = await this.allocatedFirewall(device);
    const hash = sha256(ruleset);
    // Every policy's status below needs the rulesets of its firewalls: each is compiled once per report.
    const memo = new Map<string, Promise<Compiled>>();
    const compiled: CompileFirewall = (f) => memo.get(f.id) ?? memo.set(f.id, this.compile(f)).get(f.id)!;
    if (outcome === "applied") {
      const current = await compiled(fw);
      await this.store.putApplied({ firewall: fw.id, ruleset, hash, policies: current.hash === hash ? current.policies : [] });
    } else {
      await this.store.putRefused(fw.id, hash, reason || "no reason given");
    }
    const firewalls = await this.directory.firewallsOf(fw.project);
    const rows = await this.store.applyingTo(fw.id, fw.project, fw.networks.map((n) => n.id));
    for (const row of rows) await this.store.setStatus(row.id, await this.evaluate(row.project, row, firewalls, { policy: row.id, compiled }));
    return rows.map((r) => r.id).sort();
  }

  private async allocatedFirewall(device: string): Promise<Firewall> {
    const fw = await this.directory.firewall(device);
    if (!fw) throw noFirewall(device);
    return fw;
  }

  /** What a draft would compile to on each firewall in its scope, and the diff to what is deployed. */
  async plan(project: string, draft: PolicyDraft): Promise<{ firewalls: FirewallPlan[]; problems: string[] }> {
    await this.checkScope(project, draft);
    const policy = asPolicy("draft", draft);
    const plans: FirewallPlan[] = [];
    const problems: string[] = [];
    for (const fw of (await this.scopeOf(project, draft)).sort((a, b) => (a.id < b.id ? -1 : 1))) {
      const planned = await this.compile(fw, { project, policy });
      const deployed = (await this.store.ruleset(fw.id))?.ruleset ?? (await this.compile(fw)).ruleset;
      plans.push({ firewall: fw.id, ruleset: planned.ruleset, diff: unifiedDiff(deployed, planned.ruleset, { from: `${fw.id} (deployed)`, to: `${fw.id} (planned)` }) });
      problems.push(...(planned.problems.get(draft.name) ?? []).map((p) => `${fw.id}: ${p}`));
    }
    return { firewalls: plans, problems };
  }

  // --- options ---

  private async ownFirewall(scope: Scope, id: string): Promise<Firewall> {
    const fw = await this.directory.firewall(id);
    if (!fw || (scope.project && fw.project !== scope.project)) throw noFirewall(id);
    return fw;
  }

  async options(scope: Scope, firewall: string): Promise<FirewallOptions> {
    const fw = await this.ownFirewall(scope, firewall);
    return this.store.options(firewall, fw.project);
  }

  /**
   * Rate limits name networks of the firewall; SNAT names a NAT network of the firewall and
   * addresses the project holds in it (never someone else's).
   */
  async setOptions(scope: Scope, firewall: string, options: FirewallOptions): Promise<FirewallOptions> {
    const fw = await this.ownFirewall(scope, firewall);
    const networkOf = (field: string, id: string) => {
      const n = fw.networks.find((x) => x.id === id && x.role !== "underlay");
      if (!n) throw new InvalidArgumentError(field, `firewall ${firewall} is not attached to network ${id}`);
      return n;
    };
    const limited = new Set<string>();
    options.rateLimits.forEach((limit, i) => {
      networkOf(`options.rate_limits.${i}.network`, limit.network);
      if (limited.has(limit.network)) throw new InvalidArgumentError(`options.rate_limits.${i}.network`, `${limit.network} is limited twice`);
      limited.add(limit.network);
    });
    for (const [i, rule] of options.snat.entries()) {
      const n = networkOf(`options.snat.${i}.network`, rule.network);
      if (!n.nat) throw new FailedPreconditionError(`network ${rule.network} does not NAT; SNAT applies to NAT networks`);
      const held = await this.directory.projectIps(fw.project, rule.network);
      rule.ips.forEach((ip, j) => {
        const inNetwork = n.prefixes.some((p) => contains(parsePrefix(p)!, parseAddress(ip)!));
        if (!inNetwork || !held.includes(ip)) throw new InvalidArgumentError(`options.snat.${i}.ips.${j}`, `${ip} is not an address of project ${fw.project} in network ${rule.network}`);
      });
    }
    return this.store.setOptions(firewall, fw.project, options);
  }
}
