// DesiredStateService: thin handlers over the store and the reconciler.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import { DesiredStateService, DeviceStatusSchema, FileDiffSchema, LabFlowSchema, LabPingSchema, LabStraySchema, RevisionSchema, VerificationSchema, type DeviceStatus, type Revision, type Verification } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { FailedPreconditionError, NotFoundError, kPrincipal, listPage, scopeOf } from "@bulkhead/service-kit";
import { formatReport, labUnavailable, proven, runLab, type Flow } from "@bulkhead/lab";
import type { Reconciler } from "./reconciler.js";
import type { DeviceRow, ReconcilerStore, RevisionRow, Verification as VerificationRow } from "./store.js";

const DEVICE = "bulkhead.fabric.v1.DeviceStatus";
const time = (d: Date | null) => (d ? timestampFromDate(d) : undefined);

const statusMessage = (d: DeviceRow): DeviceStatus =>
  create(DeviceStatusSchema, {
    device: d.device,
    kind: d.kind as number,
    partition: d.partition,
    state: d.state as number,
    desiredGeneration: BigInt(d.desired_generation),
    desiredHash: d.desired_hash,
    appliedGeneration: BigInt(d.applied_generation),
    appliedHash: d.applied_hash,
    runningHash: d.running_hash,
    lastError: d.last_error,
    lastHeartbeatAt: time(d.last_heartbeat_at),
    updatedAt: time(d.updated_at),
    pushes: BigInt(d.pushes),
    withheld: d.withheld,
    withheldRecords: d.withheld_records,
    deadLetters: d.dead_letters.map((l) => ({ generation: BigInt(l.generation), reason: l.reason, failedAt: timestampFromDate(new Date(l.failedAt)) })),
  });

/** What a project member sees of a device: no errors, withheld grants or dead letters (they may name other projects' records). */
const memberView = (status: DeviceStatus): DeviceStatus => ({ ...status, lastError: "", withheld: [], withheldRecords: [], deadLetters: [] });

const verificationMessage = (v: VerificationRow): Verification => create(VerificationSchema, { passed: v.passed, checks: v.checks, findings: v.findings });

const revisionMessage = (r: RevisionRow): Revision =>
  create(RevisionSchema, { device: r.device, generation: BigInt(r.generation), hash: r.hash, files: r.files, verification: verificationMessage(r.verification), rejected: r.rejected, createdAt: time(r.created_at) });

export function reconcilerRoutes(store: ReconcilerStore, reconciler: Reconciler) {
  const device = async (id: string) => {
    const row = await store.device(id);
    if (!row) throw new NotFoundError(DEVICE, id, `Bulkhead has no state for device ${id}`);
    return row;
  };
  return (router: ConnectRouter) => {
    router.service(DesiredStateService, {
      async getDeviceStatus(req) {
        return { status: statusMessage(await device(req.device)) };
      },
      async listDeviceStatuses(req, ctx) {
        const { restricted, project } = scopeOf(ctx.values.get(kPrincipal), req.project);
        const filter = { partition: req.partition || undefined, state: req.state || undefined, kind: req.kind || undefined, record: req.record || undefined, project };
        const { items, nextPageToken } = await listPage(req, (after, limit) => store.devices(filter, { after, limit }), (d) => d.device);
        return { statuses: items.map((d) => (restricted ? memberView(statusMessage(d)) : statusMessage(d))), nextPageToken };
      },
      async getRevision(req) {
        const revision = await store.revision(req.device, Number(req.generation) || undefined);
        if (!revision) throw new NotFoundError("bulkhead.fabric.v1.Revision", `${req.device}@${req.generation || "newest"}`);
        return { revision: revisionMessage(revision) };
      },
      async diff(req) {
        const row = await device(req.device);
        const desired = row.desired_generation ? await store.revision(req.device, row.desired_generation) : undefined;
        const applied = row.applied_generation ? await store.revision(req.device, row.applied_generation) : undefined;
        const paths = [...new Set([...(desired?.files ?? []), ...(applied?.files ?? [])].map((f) => f.path))].sort();
        const content = (r: RevisionRow | undefined, path: string) => r?.files.find((f) => f.path === path)?.content ?? "";
        const diffs = await Promise.all(paths.map((path) => reconciler.unifiedDiff(content(applied, path), content(desired, path), { from: `${path} (applied, generation ${row.applied_generation})`, to: `${path} (desired, generation ${row.desired_generation})` })));
        const files = paths.map((path, k) => create(FileDiffSchema, { path, unifiedDiff: diffs[k]! })).filter((f) => f.unifiedDiff !== "");
        return { appliedGeneration: BigInt(row.applied_generation), desiredGeneration: BigInt(row.desired_generation), files };
      },
      async resync(req) {
        return { devices: await reconciler.resync({ device: req.device || undefined, partition: req.partition || undefined }) };
      },
      async reportDeviceState(req) {
        const row = await reconciler.heartbeat(req.device, { appliedGeneration: Number(req.appliedGeneration), appliedHash: req.appliedHash, runningHash: req.runningHash, endpoint: req.endpoint });
        return { desiredGeneration: BigInt(row.desired_generation) };
      },
      async runFabricLab(req) {
        const unavailable = labUnavailable();
        if (unavailable) throw new FailedPreconditionError(unavailable);
        const report = await runLab(await reconciler.labInput(req.partition, req.planPolicy), { timeoutMs: (req.timeoutSeconds || 120) * 1000 });
        const flow = (f: Flow) => create(LabFlowSchema, { sourceNetwork: f.source, from: f.from, source: f.packet.src, destination: f.packet.dst, destinationLabel: f.destination, port: `${f.packet.protocol}/${f.packet.port}`, why: f.why, path: f.path.map((h) => `${h.router} [${h.vrf}] ${h.note}`), dropped: f.dropped ?? "" });
        return {
          proven: proven(report),
          converged: report.converged,
          sessionsNotUp: report.notUp.map((s) => `${s.router} ${s.vrf} ${s.family} ${s.peer} (${s.state})`),
          leaks: report.leaks.map(flow),
          blackHoles: report.blackHoles.map(flow),
          strays: report.strays.map((s) => create(LabStraySchema, s)),
          pings: report.pings.map((p) => create(LabPingSchema, { from: p.from, to: p.to, destination: p.destination, expected: p.expect, ok: p.ok, why: p.why })),
          errors: report.errors,
          probes: report.probes,
          routers: report.routers,
          durationMs: report.timings.totalMs,
          report: formatReport(report),
        };
      },
      async verifyPartition(req) {
        const { verification, devices } = await reconciler.verifyPartition(req.partition);
        return { verification: create(VerificationSchema, verification), devices };
      },
      async getChangeProgress(req, ctx) {
        const { restricted, project } = scopeOf(ctx.values.get(kPrincipal), req.project);
        const changes = await reconciler.changeProgress(req.changes, restricted ? project : undefined);
        return { changes: changes.map((c) => ({ change: c.change, processed: c.processed, devices: c.devices.map((d) => ({ ...d, desiredGeneration: BigInt(d.desiredGeneration) })) })) };
      },
    });
  };
}
