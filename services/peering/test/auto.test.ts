// Automatic peerings: a project labelled `auto-peer: "true"` has every two of its private networks
// of one partition peered, as networks come and go and as the label changes.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { failure, startWorld, type World } from "./harness.js";

const until = async (done: () => Promise<boolean>, what: string) => {
  for (let i = 0; i < 100 && !(await done()); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(await done(), what);
};

/** The project's automatic peerings as sorted `x+y` pairs. */
async function automatic(w: World, project: string): Promise<string[]> {
  const all = (await w.peerings.listPeerings({ project })).peerings.filter((p) => p.automatic);
  return all.map((p) => [p.network1, p.network2].sort().join("+")).sort();
}

const label = (w: World, project: string, on: boolean) =>
  w.projects.updateProject({ project, labels: on ? { set: { "auto-peer": "true" }, remove: [] } : { set: {}, remove: ["auto-peer"] } });

// --- the network service tells the peering service at once ---

const notified = suite<{ w: World }>("automatic peerings", {} as never);
notified.before(async (ctx) => {
  ctx.w = await startWorld();
});
notified.after(async (ctx) => ctx.w?.stop());

notified("networks of a labelled project are peered pairwise as they are allocated, per partition", async ({ w }) => {
  await label(w, w.projectA, true);
  const c1 = await w.allocate(w.projectA, "c1");
  const c2 = await w.allocate(w.projectA, "c2");
  await until(async () => (await automatic(w, w.projectA)).length === 1, "the first pair is peered");
  const c3 = await w.allocate(w.projectA, "c3");
  await w.allocate(w.projectA, "far", { partition: "fra2" });
  await w.allocate(w.projectB, "not-labelled");
  const pair = (x: string, y: string) => [x, y].sort().join("+");
  await until(async () => (await automatic(w, w.projectA)).length === 3, "three networks, three pairs");
  assert.equal(await automatic(w, w.projectA), [pair(c1.id, c2.id), pair(c1.id, c3.id), pair(c2.id, c3.id)].sort(), "never across partitions");
  assert.equal(await automatic(w, w.projectB), [], "an unlabelled project gets none");

  const one = (await w.peerings.listPeerings({ project: w.projectA })).peerings.find((p) => p.automatic)!;
  assert.match(one.name, "auto");
  const refused = await failure(w.peerings.deletePeering({ id: one.id }));
  assert.is(refused.code, Code.FailedPrecondition, "automatic peerings follow the label, not deletes");
  assert.match(refused.rawMessage, "auto-peer");
});

notified("a freed network takes its automatic peerings with it; manual peerings stay", async ({ w }) => {
  const networks = (await w.networks.listNetworks({ project: w.projectA, partition: "fra1" })).networks.filter((n) => n.project === w.projectA);
  const byName = Object.fromEntries(networks.map((n) => [n.name, n]));
  const manual = (await w.peerings.createPeering({ project: w.projectA, name: "to the internet", type: PeeringType.LOCAL, network1: byName.c1!.id, network2: "internet" })).peering!;
  await w.networks.deleteNetwork({ id: byName.c3!.id });
  assert.equal(await automatic(w, w.projectA), [[byName.c1!.id, byName.c2!.id].sort().join("+")], "c3's two peerings went with it");
  const deleted = (await w.peering.service.pool.query("SELECT payload FROM outbox WHERE topic = 'peering.deleted'")).rows.map((r) => r.payload);
  assert.is(deleted.length, 2);
  assert.ok(deleted.every((p) => p.automatic && p.networks.some((n: { network: string }) => n.network === byName.c3!.id)));

  await label(w, w.projectA, false);
  await until(async () => (await automatic(w, w.projectA)).length === 0, "removing the label removes the automatic peerings");
  assert.ok((await w.peerings.getPeering({ id: manual.id })).peering, "the manual one stays");

  // A pair that already has a manual peering keeps it when the label comes back.
  await w.peerings.createPeering({ project: w.projectA, name: "c1-c2 by hand", type: PeeringType.LOCAL, network1: byName.c2!.id, network2: byName.c1!.id });
  await label(w, w.projectA, true);
  const synced = await w.peerings.syncAutoPeerings({ project: w.projectA });
  assert.equal([synced.created.length, synced.removed.length], [0, 0]);
  assert.is(await w.count(`SELECT count(*) FROM peerings WHERE '${byName.c1!.id}' IN (network1, network2) AND '${byName.c2!.id}' IN (network1, network2)`), 1, "no second peering of the pair");
});

notified.run();

// --- without notifications the periodic sweep converges ---

const swept = suite<{ w: World }>("the peering sweep", {} as never);
swept.before(async (ctx) => {
  ctx.w = await startWorld({ notifyPeering: false, peeringEnv: { BULKHEAD_PEERING_SWEEP_MS: "150" } });
});
swept.after(async (ctx) => ctx.w?.stop());

swept("labels and networks the peering service was not told about are picked up by the sweep", async ({ w }) => {
  const d1 = await w.allocate(w.projectB, "d1");
  const d2 = await w.allocate(w.projectB, "d2");
  await label(w, w.projectB, true);
  await until(async () => (await automatic(w, w.projectB)).length === 1, "the sweep peered the pair");
  await label(w, w.projectB, false);
  await until(async () => (await automatic(w, w.projectB)).length === 0, "and removed it with the label");

  // Deleted behind the peering service's back, a network's peerings are removed by the sweep.
  const manual = (await w.peerings.createPeering({ project: w.projectB, name: "d1-d2", type: PeeringType.LOCAL, network1: d1.id, network2: d2.id })).peering!;
  const d3 = await w.allocate(w.projectB, "d3");
  const kept = (await w.peerings.createPeering({ project: w.projectB, name: "d1-d3", type: PeeringType.LOCAL, network1: d1.id, network2: d3.id })).peering!;
  await w.networks.deleteNetwork({ id: d2.id });
  await until(async () => (await w.count(`SELECT count(*) FROM peerings WHERE id = '${manual.id}'`)) === 0, "the dangling peering was removed");
  assert.is(await w.count(`SELECT count(*) FROM peerings WHERE id = '${kept.id}'`), 1, "the sweeps that removed it kept the peering whose networks exist");
});

swept.run();
