// Valid-by-construction adversarial sequences: requests that protovalidate accepts, so that the
// handlers run, with hostile values — the other project's ids, freed ids, duplicates sent at once.
// Two projects' owners allocate and free networks and addresses and peer networks, seeded
// (BULKHEAD_STATEFUL_SEED, BULKHEAD_STATEFUL_STEPS; the seed is printed on failure). After every
// step: no internal error, and nothing that names the other project's private objects succeeds;
// every 50 steps and at the end, read back as an administrator: no address and no VRF held twice,
// no prefix overlap between networks of one namespace, no peering across projects, and neither
// project lists the other's private networks; and the configuration every device of the partition
// would run now passes the isolation verifier (VerifyPartition renders from the records).
import { Code, ConnectError } from "@connectrpc/connect";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { DesiredStateService } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PeeringService, PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { overlaps, parsePrefix } from "@bulkhead/netaddr";
import { createServiceClient } from "@bulkhead/service-kit";
import { Rng } from "@bulkhead/testkit";
import { startStack, type Stack } from "./stack.js";

const SEED = Number(process.env.BULKHEAD_STATEFUL_SEED ?? 20261128);
const STEPS = Number(process.env.BULKHEAD_STATEFUL_STEPS ?? 2000);
const CHECK_EVERY = 50;

interface Actor {
  name: "A" | "B";
  project: string;
  networks: ReturnType<typeof createServiceClient<typeof NetworkService>>;
  ips: ReturnType<typeof createServiceClient<typeof IPService>>;
  peerings: ReturnType<typeof createServiceClient<typeof PeeringService>>;
}

interface Known {
  /** Private networks by id → owning actor; freed ones stay known (hostile values). */
  networks: Map<string, "A" | "B">;
  ips: Map<string, "A" | "B">;
  peerings: Map<string, "A" | "B">;
}

const test = suite<{ s: Stack; actors: Actor[] }>("stateful adversarial sequences", {} as never);
test.before(async (ctx) => {
  ctx.s = await startStack();
  const { f } = ctx.s;
  const actor = async (name: "A" | "B", project: string): Promise<Actor> => {
    const token = await f.network.projectToken(project, "owner", `owner-${name}`);
    const make = <T extends Parameters<typeof createServiceClient>[0]>(desc: T, url: string) => createServiceClient(desc, { baseUrl: url, token, protocol: "grpc" });
    return { name, project, networks: make(NetworkService, f.network.url), ips: make(IPService, f.network.url), peerings: make(PeeringService, ctx.s.peering.url) };
  };
  ctx.actors = [await actor("A", f.projectA), await actor("B", f.projectB)];
  // The leaves have no agents here: have the reconciler render them (and re-render on every change).
  const fabric = ctx.s.reconciler.client(DesiredStateService, f.admin, "grpc");
  for (const device of LEAVES) await fabric.resync({ device });
});
test.after(async (ctx) => ctx.s?.stop());

type Outcome = { ok: true; value: unknown } | { ok: false; code: Code; message: string };
const attempt = (call: Promise<unknown>): Promise<Outcome> =>
  call.then(
    (value) => ({ ok: true as const, value }),
    (error) => {
      const e = ConnectError.from(error);
      return { ok: false as const, code: e.code, message: e.rawMessage };
    },
  );

const LEAVES = ["leaf01", "leaf02", "leaf03"];
/** How long the reconciler may take to render what the last steps changed. */
const RENDER_CATCH_UP_MS = 30_000;

/**
 * What the reconciler rendered for every leaf, verified against the records as they are now: the
 * findings that remain once it has caught up with the last steps' changes (renders are coalesced).
 */
async function unverified(s: Stack): Promise<string[]> {
  const fabric = s.reconciler.client(DesiredStateService, s.f.admin, "grpc");
  const deadline = Date.now() + RENDER_CATCH_UP_MS;
  for (;;) {
    const { verification, devices } = await fabric.verifyPartition({ partition: "fra1" });
    const findings = (verification?.findings ?? []).map((f) => `verifier: ${f.device} ${f.property} ${f.object}: ${f.message}`);
    const missing = LEAVES.filter((leaf) => !devices.includes(leaf)).map((leaf) => `verifier: ${leaf} has no rendered revision`);
    if ((findings.length === 0 && missing.length === 0) || Date.now() > deadline) return [...missing, ...findings];
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What the platform holds, read as an administrator: the violated invariants. */
async function violations(s: Stack, actors: Actor[]): Promise<string[]> {
  const { f } = s;
  const found: string[] = [];
  const networks = (await f.networks.listNetworks({ pageSize: 1000 })).networks;
  const vrfs = networks.filter((n) => n.vrf).map((n) => n.vrf);
  if (new Set(vrfs).size !== vrfs.length) found.push(`a VRF is held twice: ${vrfs.sort().join(",")}`);
  const children = networks.filter((n) => n.type === NetworkType.CHILD || n.type === NetworkType.CHILD_SHARED);
  for (const [i, a] of children.entries()) {
    for (const b of children.slice(i + 1)) {
      if (a.parentNetwork !== b.parentNetwork || (a.project !== b.project && networks.find((n) => n.id === a.parentNetwork)?.type === NetworkType.SUPER_NAMESPACED)) continue;
      for (const pa of a.prefixes) for (const pb of b.prefixes) if (overlaps(parsePrefix(pa)!, parsePrefix(pb)!)) found.push(`${a.id} ${pa} overlaps ${b.id} ${pb}`);
    }
  }
  const ips = (await f.ips.listIPs({ pageSize: 1000 })).ips;
  const byAddress = new Map<string, number>();
  for (const ip of ips) byAddress.set(`${ip.network} ${ip.ip}`, (byAddress.get(`${ip.network} ${ip.ip}`) ?? 0) + 1);
  for (const [address, n] of byAddress) if (n > 1) found.push(`address ${address} held ${n} times`);
  const byId = new Map(networks.map((n) => [n.id, n]));
  for (const p of (await s.peering.client(PeeringService, f.admin).listPeerings({})).peerings) {
    for (const id of [p.network1, p.network2].filter(Boolean)) {
      const n = byId.get(id);
      if (n && n.type === NetworkType.CHILD && n.project !== p.project) found.push(`peering ${p.id} of ${p.project} names ${id} of ${n.project}`);
    }
  }
  for (const actor of actors) {
    for (const n of (await actor.networks.listNetworks({ project: actor.project, pageSize: 1000 })).networks) {
      if (n.type === NetworkType.CHILD && n.project !== actor.project) found.push(`${actor.name} lists ${n.id} of ${n.project}`);
    }
  }
  found.push(...(await unverified(s)));
  return found;
}

test(`${STEPS} steps of two projects' owners with hostile values keep every invariant (seed ${SEED})`, async ({ s, actors }) => {
  const rng = new Rng(SEED);
  const known: Known = { networks: new Map(), ips: new Map(), peerings: new Map() };
  const problems: string[] = [];
  const counts = new Map<string, number>();
  const pickId = (pool: Map<string, "A" | "B">, fallback: string) => (pool.size > 0 && rng.next() < 0.9 ? rng.pick([...pool.keys()]) : fallback);
  const anyNetwork = () => (rng.next() < 0.15 ? rng.pick(["internet", s.f.storageB.id, s.f.netA.id]) : pickId(known.networks, s.f.netA.id));

  for (let step = 0; step < STEPS && problems.length === 0; step++) {
    const actor = rng.pick(actors);
    const kind = rng.pick(["allocateNetwork", "allocateNetwork", "deleteNetwork", "allocateIP", "allocateIP", "releaseIP", "createPeering", "deletePeering", "duplicate"] as const);
    const named: string[] = [];
    let outcome: Outcome;
    switch (kind) {
      case "allocateNetwork": {
        outcome = await attempt(actor.networks.allocateNetwork({ project: actor.project, partition: "fra1", name: `n${step}` }));
        if (outcome.ok) known.networks.set((outcome.value as { network: { id: string } }).network.id, actor.name);
        break;
      }
      case "deleteNetwork": {
        const id = pickId(known.networks, s.f.netA.id);
        named.push(id);
        outcome = await attempt(actor.networks.deleteNetwork({ project: actor.project, id }));
        break;
      }
      case "allocateIP": {
        const network = anyNetwork();
        named.push(network);
        outcome = await attempt(actor.ips.allocateIP({ project: actor.project, network, name: `ip${step}` }));
        if (outcome.ok) known.ips.set((outcome.value as { ip: { uuid: string } }).ip.uuid, actor.name);
        break;
      }
      case "releaseIP": {
        const uuid = pickId(known.ips, "0b5e7c1e-0000-4000-8000-00000000ffff");
        outcome = await attempt(actor.ips.releaseIP({ project: actor.project, uuid }));
        if (outcome.ok && known.ips.get(uuid) !== actor.name) problems.push(`step ${step}: ${actor.name} released ${uuid} of ${known.ips.get(uuid)}`);
        break;
      }
      case "createPeering": {
        const [network1, network2] = [anyNetwork(), anyNetwork()];
        named.push(network1, network2);
        outcome = await attempt(actor.peerings.createPeering({ project: actor.project, name: `p${step}`, type: PeeringType.LOCAL, network1, network2 }));
        if (outcome.ok) known.peerings.set((outcome.value as { peering: { id: string } }).peering.id, actor.name);
        break;
      }
      case "deletePeering": {
        const id = pickId(known.peerings, "0b5e7c1e-0000-4000-8000-00000000fffe");
        outcome = await attempt(actor.peerings.deletePeering({ project: actor.project, id }));
        if (outcome.ok && known.peerings.get(id) !== actor.name) problems.push(`step ${step}: ${actor.name} deleted peering ${id} of ${known.peerings.get(id)}`);
        break;
      }
      case "duplicate": {
        // The same allocation sent twice at once under one request id: one network.
        const request = { project: actor.project, partition: "fra1", name: `dup${step}`, requestId: `dup-${SEED}-${step}` };
        const [x, y] = await Promise.all([attempt(actor.networks.allocateNetwork(request)), attempt(actor.networks.allocateNetwork(request))]);
        const ids = [x, y].filter((o) => o.ok).map((o) => (o as { value: { network: { id: string } } }).value.network.id);
        if (new Set(ids).size > 1) problems.push(`step ${step}: one request id made two networks ${ids.join(", ")}`);
        for (const id of ids) known.networks.set(id, actor.name);
        outcome = x.ok ? x : y;
        break;
      }
    }
    counts.set(`${kind} ${outcome.ok ? "ok" : Code[outcome.code]}`, (counts.get(`${kind} ${outcome.ok ? "ok" : Code[outcome.code]}`) ?? 0) + 1);
    if (!outcome.ok && (outcome.code === Code.Internal || outcome.code === Code.Unknown || outcome.code === Code.DataLoss)) problems.push(`step ${step} ${kind} by ${actor.name}: ${Code[outcome.code]} ${outcome.message}`);
    const foreign = named.filter((id) => known.networks.get(id) !== undefined && known.networks.get(id) !== actor.name);
    if (outcome.ok && foreign.length > 0) problems.push(`step ${step} ${kind} by ${actor.name} succeeded naming the other project's ${foreign.join(", ")}`);
    if ((step + 1) % CHECK_EVERY === 0 || step === STEPS - 1) problems.push(...(await violations(s, actors)).map((v) => `after step ${step}: ${v}`));
  }
  assert.equal(problems, [], `seed ${SEED} (BULKHEAD_STATEFUL_SEED=${SEED} to repeat):\n${problems.slice(0, 20).join("\n")}`);
  const successes = [...counts].filter(([k]) => k.endsWith(" ok")).reduce((n, [, c]) => n + c, 0);
  assert.ok(successes > STEPS / 5, `the sequences must change state, not just be refused: ${JSON.stringify(Object.fromEntries(counts))}`);
  console.log(`stateful: ${STEPS} steps (seed ${SEED}), ${successes} changed state; ${[...counts].map(([k, n]) => `${k} ${n}`).join(", ")}`);
});

test.run();
