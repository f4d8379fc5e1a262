// The flow of a change (ARCHITECTURE §3): an event names the devices it touches; each device is
// rendered from the services' views, verified, stored as a revision when its content changed, and
// pushed to its agent. Heartbeats close the loop: drift and agents that come back get a re-push.
import { Code, ConnectError, type Client } from "@connectrpc/connect";
import { UnrecoverableError } from "bullmq";
import { AgentService, ApplyOutcome } from "@bulkhead/api/gen/bulkhead/agent/v1/agent_pb.js";
import { RulesetOutcome, type NetworkPolicyService, type PlanPolicyRequest } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { MachineRole, type GetMachineViewResponse, type MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchRole, type GetSwitchViewResponse, type SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import type { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import type { NetworkService } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import type { GetRouteLeakPlanResponse, PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError, createServiceClient, failpoint, isNotFound, type Logger } from "@bulkhead/service-kit";
import type { Prefix } from "@bulkhead/netaddr";
import { agentEndpointVerdict } from "./endpoints.js";
import type { PublishedEvent } from "@bulkhead/db";
import { compileFirewall, firewallFrrModelOf, noOptions, projectsOf, renderFirewallFrr, renderFirewallInterfaces, renderSwitch, revisionHash, switchModelOf, SWITCH_FILES, UnsupportedSwitch, type FirewallFrrModel, type RenderedSwitch, type RevisionFile, type SwitchModel } from "@bulkhead/render";
import { closedFirewall, closedSwitch, cutFirewall, cutFlaggedPorts, cutSwitch, type Withheld } from "./cutback.js";
import { DeviceKind, type CutBack, type DeviceRow, type ReconcilerStore, type Rendered } from "./store.js";
import { indexFacts, verifyPartition as verifyIsolation, type DeviceConfig, type Finding, type IndexedFacts } from "@bulkhead/verify";
import { factsOf } from "./facts.js";
import { CpuThread } from "./cpu.js";
import { Snapshots } from "./snapshots.js";
import { RecordsPart, recordsChangeOf, staleOf, type RecordsChange } from "./records-changes.js";
import { labInputOf, withPlannedPolicy } from "./lab.js";
import { allMachines, allSwitches, readRecords, refreshRecords, type PartitionRecords } from "./records.js";
import type { LabInput } from "@bulkhead/lab";
import { targetsOf } from "./targets.js";
import { Batches } from "./batches.js";
import { verifySyntax, type VerifyTools } from "./verify.js";

/** Where the reconciler puts work; BullMQ in the service, plain functions in unit tests. */
export interface WorkQueues {
  render(device: string, force?: boolean): Promise<void>;
  /** `unlessUnderWay`: nothing new to deliver, so a push already under way will do. */
  push(device: string, unlessUnderWay?: boolean): Promise<void>;
}

export interface Services {
  ips: Client<typeof IPService>;
  switches: Client<typeof SwitchService>;
  machines: Client<typeof MachineService>;
  peering: Client<typeof PeeringService>;
  policies: Client<typeof NetworkPolicyService>;
  networks: Client<typeof NetworkService>;
}

/** A render with the view it was made from. */
interface Render {
  rendered: Rendered;
  view: { switch: GetSwitchViewResponse } | { firewall: GetMachineViewResponse };
}

/** What a device's files are rendered from: kept with each revision, to cut a later refused render back to. */
type DeviceModel = { switch: SwitchModel } | { firewall: FirewallFrrModel; ruleset: string };

/**
 * A switch's files, FRR first: the agent activates files in this order, and on SONiC FRR must let
 * go of a port's sessions before CONFIG_DB moves the port (metal-core#202: bgpd crashed otherwise).
 */
const switchFiles = (out: RenderedSwitch): RevisionFile[] => Object.entries(out.files).map(([path, content]) => ({ path, content })).sort((a, b) => Number(b.path === FILES.frr) - Number(a.path === FILES.frr));

function filesOf(model: DeviceModel): RevisionFile[] {
  if ("switch" in model) return switchFiles(renderSwitch(model.switch));
  // Interfaces first: the agent activates files in this order, and FRR needs the VRFs to exist.
  return [
    { path: FILES.interfaces, content: renderFirewallInterfaces(model.firewall) },
    { path: FILES.frr, content: renderFirewallFrr(model.firewall) },
    { path: FILES.nftables, content: model.ruleset },
  ];
}

/** A ruleset for a cut-back firewall: its infrastructure only, nothing forwarded — policies wait for a render that verifies. */
const closedRuleset = (device: string, model: FirewallFrrModel) => compileFirewall({ id: device, networks: model.networks, policies: [], options: noOptions });

/** Paths of a device's files, relative to its agent's configuration root. */
export const FILES = { ...SWITCH_FILES, nftables: "nftables/bulkhead.nft" };

const labKinds: Partial<Record<DeviceKind, "leaf" | "exit" | "firewall">> = { [DeviceKind.Leaf]: "leaf", [DeviceKind.Exit]: "exit", [DeviceKind.Firewall]: "firewall" };

export interface ChangeProgressView {
  change: string;
  processed: boolean;
  devices: { device: string; rendered: boolean; state: number; desiredGeneration: number; lastError: string }[];
}

/**
 * How long a shared read waits for more renders to ask before it begins: a change's renders (the
 * two leaves of a rack) start a few milliseconds apart, and one read serves them all.
 */
const GATHER_MS = 4;

/** Records read whole after asking, not any snapshot brought forward. */
const RECORDS_ANEW = Number.POSITIVE_INFINITY;

/** Whether `changes` may have changed the partition's route-leak plan. */
const stalePlan = (partition: string, changes: readonly RecordsChange[]) => {
  const { parts } = staleOf(partition, changes);
  return parts.has(RecordsPart.All) || parts.has(RecordsPart.Plan);
};

/** A snapshot as of `version`, or read whole for RECORDS_ANEW. */
const asOf = <V>(snapshots: Snapshots<V>, partition: string, version: number) => (version === RECORDS_ANEW ? snapshots.readWhole(partition) : snapshots.read(partition, version));

/** Switch-view reads in flight at once, and the most switches one read asks for. */
const VIEW_READS_AT_ONCE = 2;
const VIEWS_PER_READ = 100;

/** The longest reason ReportRulesetOutcome takes. */
const REASON_MAX = 4096;

const findingsSummary = (findings: readonly Finding[]) => {
  const shown = findings.slice(0, 3).map((f) => `${f.device} ${f.object}: ${f.message}`);
  return `${shown.join("; ")}${findings.length > shown.length ? `; and ${findings.length - shown.length} more` : ""}`;
};

export class Reconciler {
  private readonly agents = new Map<string, Client<typeof AgentService>>();
  /** A partition's records (the verifier's facts come from them) and route-leak plan, as of a records version (snapshots.ts). */
  private readonly records = new Snapshots((partition: string, previous: PartitionRecords | undefined, changes) => refreshRecords(this.services, partition, previous, changes), (since) => this.store.recordsChangesSince(since), GATHER_MS);
  private readonly leakPlans = new Snapshots(
    async (partition: string, previous: GetRouteLeakPlanResponse | undefined, changes) => (previous && changes && !stalePlan(partition, changes) ? previous : this.services.peering.getRouteLeakPlan({ partition })),
    (since) => this.store.recordsChangesSince(since),
    GATHER_MS,
  );
  /** The verifier's facts of each records snapshot, derived and indexed once for all the renders it serves. */
  private readonly factsOfRecords = new WeakMap<PartitionRecords, IndexedFacts>();
  /** A partition's verification and large diffs, off the event loop. */
  private readonly cpu = new CpuThread();
  /** Switch views, read together for the renders waiting at once (each read begins after its render asked). */
  private readonly switchViews = new Batches(
    async (devices: string[]) => {
      const { views } = await this.services.switches.getSwitchViews({ devices });
      const byDevice = new Map(views.map((v) => [v.switch!.id, v]));
      return devices.map((d) => byDevice.get(d));
    },
    { parallel: VIEW_READS_AT_ONCE, maxSize: VIEWS_PER_READ, gatherMs: GATHER_MS },
  );

  constructor(
    private readonly store: ReconcilerStore,
    private readonly services: Services,
    private readonly queues: WorkQueues,
    private readonly options: { verify: VerifyTools; isolation: boolean; agentToken: (device: string) => Promise<string>; agentTimeoutMs: number; agentNetworks: readonly Prefix[] },
    private readonly log: Logger,
  ) {}

  // --- events ---

  /** Queues a render of every device the event touches. */
  async onEvent(event: PublishedEvent): Promise<string[]> {
    const targets = targetsOf(event);
    if (targets.firewall) await this.store.announceFirewall(targets.firewall.device, targets.firewall.partition, targets.firewall.project);
    // Every render enqueued below begins after `from`, and the change was committed before it.
    // A project's firewalls are those recorded here: a firewall is recorded when its allocation's
    // event is fanned out (above), before its first render is queued. So a change fanned out
    // before that is one its render will read, and one fanned out after finds it.
    const [from, touching, firewalls] = await Promise.all([this.store.changeTakenIn(recordsChangeOf(event)), this.store.devicesTouching(targets.vrfs, targets.projects, targets.addresses), Promise.all(targets.firewallsOf.map((project) => this.store.firewallsServing(project)))]);
    const devices = new Set([...targets.devices, ...touching, ...firewalls.flat()]);
    await Promise.all([...devices].map((device) => this.queues.render(device)));
    if (devices.size > 0) this.log.debug({ topic: event.topic, key: event.key, devices: [...devices] }, "event fans out");
    const fannedOut = [...devices].sort();
    await this.store.changeFannedOut(event.source, event.id, from, fannedOut);
    return fannedOut;
  }

  // --- render ---

  /**
   * Renders a device from the services' current views. A device that is no longer a switch or an
   * allocated firewall is forgotten. `force` re-pushes even when nothing changed (resync).
   * Answers whether a new revision was recorded.
   */
  async render(device: string, force = false): Promise<boolean> {
    const started = performance.now();
    const [{ from, recordsVersion }, row] = await Promise.all([this.store.renderBegins(), this.store.device(device)]);
    let render = await this.renderDevice(device, row, recordsVersion);
    const viewed = performance.now();
    if (!render) {
      if (row) await this.store.forget(device);
      await this.store.renderedFrom(device, from);
      return false;
    }
    let after = row;
    let changed = false;
    let verifiedMs = 0;
    // A render refused before is refused again; what was verified before need not be again.
    if (!row || row.refused_hash !== render.rendered.hash) {
      if (row?.desired_hash !== render.rendered.hash) {
        render.rendered.verification = await this.verify(device, render.rendered, recordsVersion);
        if (!render.rendered.verification.passed) render = await this.renderAgain(device, row, render);
      }
      verifiedMs = performance.now() - viewed;
      const { rendered } = render;
      const cut = rendered.verification.passed ? undefined : await this.cutBack(device, render, row, recordsVersion);
      failpoint("reconciler.render.before-record");
      ({ row: after, changed } = await this.store.record(device, rendered, cut));
      if (cut && changed) await this.reportRuleset(device, rendered.model, RulesetOutcome.REFUSED, `the reconciler's isolation verification refused it: ${findingsSummary(rendered.verification.findings)}`);
    }
    if (force) await this.store.unblock(device);
    const push = changed || force ? this.queues.push(device) : this.needsPush(after!) ? this.queues.push(device, true) : undefined;
    await Promise.all([this.store.renderedFrom(device, from), push]);
    this.log.debug({ device, changed, generation: after!.desired_generation, ms: Math.round(performance.now() - started), viewMs: Math.round(viewed - started), verifyMs: Math.round(verifiedMs) }, "rendered");
    return changed;
  }

  /**
   * A refused render made again from a view read now, and verified against records read after
   * that view. The first render's view and records may hold different changes: a machine
   * installed in between is installed to one and still in the PXE VLAN to the other (its event
   * not yet taken in, or taken in after the render began). Refusing that would cut the device
   * back (in a burst, every tenant of a leaf until the next render) for a change already on its
   * way; a render refused for anything else is refused again, with the same findings. The
   * records are read anew even when the view has not changed: the first verification may have
   * used a read shared at the render's version, older than its view.
   */
  private async renderAgain(device: string, row: DeviceRow | undefined, first: Render): Promise<Render> {
    const again = await this.renderDevice(device, row, RECORDS_ANEW);
    if (!again) return first;
    if (again.rendered.hash !== row?.desired_hash) again.rendered.verification = await this.verify(device, again.rendered, RECORDS_ANEW);
    return again;
  }

  /**
   * The verified part of a refused render: the last verified model minus what the new one no
   * longer grants (`cutback.ts`); if even that has a finding, every tenant grant removed.
   */
  private async cutBack(device: string, render: Render, row: DeviceRow | undefined, recordsVersion: number): Promise<CutBack> {
    const last = (row?.desired_generation ? (await this.store.revision(device, row.desired_generation))?.model : undefined) as Partial<{ switch: SwitchModel; firewall: FirewallFrrModel }> | undefined;
    const model = render.rendered.model as DeviceModel;
    let cut: { model: DeviceModel; withheld: Withheld[] };
    if ("switch" in model) {
      const c = cutSwitch(model.switch, last?.switch);
      cut = { model: { switch: c.model }, withheld: c.withheld };
    } else {
      const c = cutFirewall(device, model.firewall, last?.firewall);
      cut = { model: { firewall: c.model, ruleset: closedRuleset(device, c.model) }, withheld: c.withheld };
    }
    const candidate = this.rendered(render.rendered, cut.model);
    candidate.verification = await this.verify(device, candidate, recordsVersion);
    if (candidate.verification.passed) return { rendered: candidate, withheld: cut.withheld };
    const portsOff = "switch" in cut.model ? cutFlaggedPorts({ model: cut.model.switch, withheld: cut.withheld }, candidate.verification.findings) : undefined;
    if (portsOff) {
      const narrower = this.rendered(render.rendered, { switch: portsOff.model });
      narrower.verification = await this.verify(device, narrower, recordsVersion);
      if (narrower.verification.passed) return { rendered: narrower, withheld: portsOff.withheld };
    }
    const closed = this.rendered(render.rendered, "switch" in model ? { switch: closedSwitch(model.switch) } : { firewall: closedFirewall(model.firewall), ruleset: closedRuleset(device, closedFirewall(model.firewall)) });
    closed.verification = await this.verify(device, closed, recordsVersion);
    this.log.warn({ device, findings: closed.verification.findings.length, first: findingsSummary(closed.verification.findings) }, "even the closed configuration has findings; pushing it: it grants no tenant anything");
    return { rendered: closed, withheld: [{ grant: "every tenant grant of this device: its cut-back did not verify either", records: [...new Set(cut.withheld.flatMap((w) => w.records))] }] };
  }

  /** Files and hash of a device model, with the rest of a render's record. */
  private rendered(base: Rendered, model: DeviceModel): Rendered {
    const files = filesOf(model);
    return { ...base, files, hash: revisionHash(files), model, verification: { passed: false, checks: [], findings: [] } };
  }

  /** Syntax with the real tools, then isolation (libs/verify) against the partition's records. */
  private async verify(device: string, rendered: Rendered, recordsVersion: number): Promise<Rendered["verification"]> {
    const started = performance.now();
    const since = (t: number) => Math.round(performance.now() - t);
    // The parsers and the facts' read together: they do not depend on each other.
    const timings = { syntaxMs: 0, factsMs: 0 };
    const [syntax, facts] = await Promise.all([
      verifySyntax(device, rendered.files, this.options.verify).finally(() => (timings.syntaxMs = since(started))),
      this.options.isolation ? this.factsAsOf(rendered.partition, recordsVersion).finally(() => (timings.factsMs = since(started))) : undefined,
    ]);
    if (!facts) return syntax;
    const read = performance.now();
    const { findings } = verifyIsolation([{ device, kind: rendered.kind === DeviceKind.Firewall ? "firewall" : "switch", files: rendered.files }], facts);
    this.log.debug({ device, ...timings, isolationMs: since(read) }, "verified");
    return { passed: syntax.passed && findings.length === 0, checks: [...syntax.checks, "isolation"], findings: [...syntax.findings, ...findings] };
  }

  /** The verifier's facts from the partition's records as of `version`. */
  private async factsAsOf(partition: string, version: number): Promise<IndexedFacts> {
    const records = await asOf(this.records, partition, version);
    let facts = this.factsOfRecords.get(records);
    if (!facts) this.factsOfRecords.set(records, (facts = indexFacts(factsOf(records))));
    return facts;
  }

  /**
   * Every property over a partition's desired revisions together (VNIs across devices, leaks and
   * black holes between networks), with facts read now.
   */
  async verifyPartition(partition: string): Promise<{ verification: Rendered["verification"]; devices: string[] }> {
    const facts = factsOf(await readRecords(this.services, partition));
    const configs: DeviceConfig[] = [];
    const checks = new Set<string>(["isolation"]);
    const syntaxFindings: Finding[] = [];
    for (const d of await this.store.devices({ partition })) {
      const revision = d.desired_generation > 0 ? await this.store.revision(d.device, d.desired_generation) : undefined;
      if (!revision) continue;
      configs.push({ device: d.device, kind: d.kind === DeviceKind.Firewall ? "firewall" : "switch", files: revision.files });
      for (const c of revision.verification.checks) checks.add(c);
      syntaxFindings.push(...revision.verification.findings.filter((f) => f.property === "syntax"));
    }
    const { findings } = await this.cpu.run("verifyPartition", configs, facts);
    const all = [...syntaxFindings, ...findings];
    return { verification: { passed: all.length === 0, checks: [...checks].sort(), findings: all }, devices: configs.map((c) => c.device) };
  }

  /**
   * The fabric lab's input: the partition's desired revisions, its machines and its records — or,
   * with a policy draft, the fabric as it would be with it (its problems are the caller's).
   */
  async labInput(partition: string, draft?: PlanPolicyRequest): Promise<LabInput> {
    const records = await readRecords(this.services, partition);
    const devices = [];
    for (const d of await this.store.devices({ partition })) {
      const revision = d.desired_generation > 0 ? await this.store.revision(d.device, d.desired_generation) : undefined;
      if (revision) devices.push({ device: d.device, kind: labKinds[d.kind]!, files: revision.files });
    }
    const input = labInputOf(records, devices);
    if (!draft?.spec) return input;
    const plan = await this.services.policies.planPolicy(draft);
    if (plan.problems.length > 0) throw new InvalidArgumentError("plan_policy", `the draft would be rejected: ${plan.problems.join("; ")}`);
    return withPlannedPolicy(input, draft.spec, plan.firewalls);
  }

  /** A device's render from its view and, for a switch, the partition's leak plan as of `recordsVersion` or later. */
  private async renderDevice(device: string, row: DeviceRow | undefined, recordsVersion: number): Promise<Render | undefined> {
    const view = await this.switchViews.submit(device);
    if (!view) return this.renderFirewall(device);
    const sw = view.switch!;
    if (sw.role !== SwitchRole.LEAF && sw.role !== SwitchRole.EXIT) return undefined;
    const plan = await asOf(this.leakPlans, sw.partition, recordsVersion);
    let model: DeviceModel;
    try {
      model = { switch: switchModelOf(view, plan, row?.vlans ?? {}) };
    } catch (error) {
      if (!(error instanceof UnsupportedSwitch)) throw error;
      this.log.warn({ device, problem: error.message }, "switch not rendered");
      return undefined;
    }
    const out = renderSwitch(model.switch);
    const files = switchFiles(out);
    const rendered: Rendered = {
      model,
      kind: sw.role === SwitchRole.EXIT ? DeviceKind.Exit : DeviceKind.Leaf,
      partition: sw.partition,
      files,
      hash: revisionHash(files),
      verification: { passed: true, checks: [], findings: [] },
      vrfs: Object.keys(out.vlans).map(Number),
      projects: projectsOf(view),
      projectNetworks: [...new Set(view.ports.filter((p) => p.project && p.network).map((p) => `${p.project}/${p.network}`))].sort(),
      vlans: out.vlans,
    };
    return { rendered, view: { switch: view } };
  }

  private async renderFirewall(device: string): Promise<Render | undefined> {
    let view;
    try {
      view = await this.services.machines.getMachineView({ device });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const frr = firewallFrrModelOf(view);
    if (!frr) return undefined;
    const { ruleset } = await this.services.policies.getFirewallRuleset({ device });
    const model: DeviceModel = { firewall: frr, ruleset };
    const files = filesOf(model);
    const rendered: Rendered = {
      model,
      kind: DeviceKind.Firewall,
      partition: view.machine!.partition,
      files,
      hash: revisionHash(files),
      verification: { passed: true, checks: [], findings: [] },
      vrfs: frr.networks.filter((n) => n.vrf > 0).map((n) => n.vrf),
      projects: [view.machine!.allocation!.project],
      projectNetworks: [`${view.machine!.allocation!.project}/*`],
      vlans: {},
    };
    return { rendered, view: { firewall: view } };
  }

  // --- push ---

  /** Whether the agent should be given the desired revision (it does not run it, and has not refused it). */
  private needsPush(row: DeviceRow): boolean {
    return row.desired_generation > 0 && row.desired_generation !== row.blocked_generation && (row.applied_hash !== row.desired_hash || row.running_hash !== row.desired_hash);
  }

  /**
   * Gives the agent the desired revision. Throws to be retried (the agent is unreachable or
   * failed), or UnrecoverableError when the agent refused the revision.
   */
  async push(device: string): Promise<"applied" | "unchanged" | "waiting" | "nothing"> {
    const started = performance.now();
    const row = await this.store.device(device);
    if (!row || row.desired_generation === 0) return "nothing";
    if (!row.endpoint) {
      await this.store.waiting(device, "waiting for the agent to report in");
      this.log.debug({ device }, "push waits for the agent");
      return "waiting";
    }
    const revision = (await this.store.revision(device, row.desired_generation))!;
    failpoint("reconciler.push.before-apply");
    try {
      const asked = performance.now();
      const res = await this.agent(row.endpoint, device).apply({ device, generation: BigInt(revision.generation), files: revision.files, hash: revision.hash });
      const applied = performance.now();
      await this.store.applied(device, Number(res.appliedGeneration), res.appliedHash, res.outcome === ApplyOutcome.APPLIED);
      if (res.appliedHash === revision.hash) await this.reportRuleset(device, revision.model, RulesetOutcome.APPLIED);
      this.log.debug({ device, generation: revision.generation, outcome: ApplyOutcome[res.outcome], ms: Math.round(performance.now() - started), applyMs: Math.round(applied - asked) }, "pushed");
      return res.outcome === ApplyOutcome.APPLIED ? "applied" : "unchanged";
    } catch (error) {
      const e = ConnectError.from(error);
      this.log.debug({ device, ms: Math.round(performance.now() - started), code: Code[e.code] }, "push failed");
      if (e.code === Code.InvalidArgument || e.code === Code.PermissionDenied) throw new UnrecoverableError(`the agent refused generation ${revision.generation}: ${e.rawMessage}`);
      throw new Error(`pushing generation ${revision.generation} to ${row.endpoint} failed: ${e.rawMessage}`);
    }
  }

  /** After the last attempt: the device is FAILED with the reason. */
  async pushFailed(device: string, reason: string, refused: boolean): Promise<void> {
    const row = await this.store.device(device);
    if (!row) return;
    await this.store.failed(device, row.desired_generation, reason, refused);
    if (refused) await this.reportRuleset(device, (await this.store.revision(device, row.desired_generation))?.model, RulesetOutcome.REFUSED, reason);
  }

  /**
   * Tells the firewall-policy service what became of a firewall's ruleset (a switch's model has
   * none). A report that fails leaves the policies pending: a status never says more than happened.
   */
  private async reportRuleset(device: string, model: unknown, outcome: RulesetOutcome, reason = ""): Promise<void> {
    const ruleset = (model as Partial<{ ruleset: string }> | undefined)?.ruleset;
    if (!ruleset) return;
    try {
      await this.services.policies.reportRulesetOutcome({ device, ruleset, outcome, reason: reason.slice(0, REASON_MAX) });
    } catch (error) {
      this.log.warn({ device, outcome: RulesetOutcome[outcome], err: error }, "ruleset outcome not reported; the firewall's policies stay pending");
    }
  }

  /** The agent's client: its token is good for this device only, and over TLS its certificate must name the device. */
  private agent(endpoint: string, device: string): Client<typeof AgentService> {
    const key = `${device} ${endpoint}`;
    let client = this.agents.get(key);
    if (!client) this.agents.set(key, (client = createServiceClient(AgentService, { baseUrl: endpoint, token: () => this.options.agentToken(device), protocol: "grpc", timeoutMs: this.options.agentTimeoutMs, peerName: device })));
    return client;
  }

  /** `from` → `to` as a unified diff, computed off the event loop. */
  unifiedDiff(from: string, to: string, labels: { from: string; to: string }): Promise<string> {
    return this.cpu.run("unifiedDiff", from, to, labels);
  }

  async close(): Promise<void> {
    await this.cpu.close();
  }

  // --- heartbeats and resyncs ---

  /** An agent reported: record it; re-push on drift or when it does not run the desired revision. */
  async heartbeat(device: string, report: { appliedGeneration: number; appliedHash: string; runningHash: string; endpoint: string }): Promise<DeviceRow> {
    if (report.endpoint) {
      const verdict = agentEndpointVerdict(report.endpoint, this.options.agentNetworks);
      if (!verdict.allowed) throw verdict.problem === "outside" ? new PermissionDeniedError(verdict.message) : new InvalidArgumentError("endpoint", verdict.message);
    }
    let row = await this.store.heartbeat(device, report, false);
    if (!row) {
      await this.requireManaged(device);
      row = (await this.store.heartbeat(device, report, true))!;
    }
    if (row.desired_generation === 0) await this.queues.render(device);
    else if (this.needsPush(row)) await this.queues.push(device, true);
    return row;
  }

  /** Throws unless `device` is one Bulkhead configures: a leaf or exit switch, or an allocated firewall. */
  private async requireManaged(device: string): Promise<void> {
    try {
      const { switch: sw } = await this.services.switches.getSwitch({ id: device });
      if (sw!.role === SwitchRole.LEAF || sw!.role === SwitchRole.EXIT) return;
      throw new FailedPreconditionError(`switch ${device} is a ${SwitchRole[sw!.role].toLowerCase()}: Bulkhead configures leaf and exit switches only`);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    let view;
    try {
      view = await this.services.machines.getMachineView({ device });
    } catch (error) {
      if (isNotFound(error)) throw new NotFoundError("device", device, `no switch or machine ${JSON.stringify(device)} is registered`);
      throw error;
    }
    if (!firewallFrrModelOf(view)) throw new FailedPreconditionError(`machine ${device} is not an allocated firewall: its agent has nothing to apply`);
  }

  /**
   * How far each change has come (`<source>:<event id>`, as the services' `bulkhead-changes`
   * header names them); for a project member, only on the devices carrying `project`'s networks.
   */
  async changeProgress(changes: string[], project?: string): Promise<ChangeProgressView[]> {
    const named = changes.map((change) => ({ change, source: change.slice(0, change.indexOf(":")), eventId: change.slice(change.indexOf(":") + 1) }));
    const fanOuts = await this.store.fanOuts(named);
    const progress = await this.store.renderProgress([...new Set([...fanOuts.values()].flatMap((f) => f.devices))]);
    return named.map(({ change }) => {
      const fanOut = fanOuts.get(change);
      const devices = (fanOut?.devices ?? []).flatMap((device) => {
        const { row, renderedFrom } = progress.get(device)!;
        const rendered = renderedFrom !== undefined && renderedFrom >= fanOut!.from;
        // Rendered since and gone: Bulkhead no longer configures it, nothing left to reach.
        if (!row && rendered) return [];
        // A project member sees the devices carrying the project's networks (not one never rendered).
        if (project !== undefined && !row?.projects.includes(project)) return [];
        return [{ device, rendered, state: row?.state ?? 0, desiredGeneration: row?.desired_generation ?? 0, lastError: project === undefined ? (row?.last_error ?? "") : "" }];
      });
      return { change, processed: fanOut !== undefined, devices };
    });
  }

  /** Re-renders and re-pushes devices (one, a partition's, or every known one and every switch). */
  async resync(filter: { device?: string; partition?: string }): Promise<string[]> {
    const devices = filter.device ? [filter.device] : (await this.store.devices({ partition: filter.partition })).map((d) => d.device);
    // A resync is asked for when records may be off: its renders read them anew.
    await this.store.recordsMayHaveChanged();
    for (const device of devices) await this.queues.render(device, true);
    return devices;
  }

  /** The periodic safety net: every device the inventory knows, and every one the store knows. */
  async fullResync(): Promise<void> {
    await this.store.recordsMayHaveChanged();
    const known = new Set((await this.store.devices()).map((d) => d.device));
    for (const sw of await allSwitches(this.services.switches, {})) if (sw.role === SwitchRole.LEAF || sw.role === SwitchRole.EXIT) known.add(sw.id);
    for (const fw of await allMachines(this.services.machines, { role: MachineRole.FIREWALL })) known.add(fw.id);
    for (const device of known) await this.queues.render(device);
  }
}
