// The SONiC applier against a real Redis standing in for CONFIG_DB: allocate → free → re-allocate
// to another VRF leaves exactly the rendered state (VRFs, VLANs and tunnel maps no longer desired
// are gone) and nothing Bulkhead does not own is touched; a port never jumps VRF to VRF; FRR is
// reloaded before CONFIG_DB changes; a failure restores the previous revision; a change behind the
// agent's back is drift that the same generation repairs.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildProcess } from "node:child_process";
import { Redis } from "ioredis";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ApplyEngine, type FileKind } from "@bulkhead/agent";
import { renderSwitch, revisionHash, type SwitchModel, type SwitchPortModel } from "@bulkhead/render";
import { FailedPreconditionError, InvalidArgumentError, createLogger } from "@bulkhead/service-kit";
import { freePort, startValkey } from "@bulkhead/testkit";
import { checkManagementKept } from "../src/checks.js";
import { ConfigDbStore, configDbKind } from "../src/configdb.js";
import { connectConfigDb, portsFromConfigDb } from "../src/service.js";

interface Ctx {
  dir: string;
  server: ChildProcess;
  port: number;
  db: Redis;
}
const test = suite<Ctx>("SONiC CONFIG_DB applier", {} as Ctx);

test.before(async (ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), "bulkhead-configdb-"));
  ctx.port = await freePort();
  ctx.server = await startValkey(ctx.port, ctx.dir);
  ctx.db = connectConfigDb(`redis://127.0.0.1:${ctx.port}/4`);
});
test.after(async (ctx) => {
  ctx.db?.disconnect();
  ctx.server?.kill("SIGKILL");
  rmSync(ctx.dir, { recursive: true, force: true });
});

/** What SONiC itself keeps in CONFIG_DB: Bulkhead must leave it alone. */
const SONIC_OWN: Record<string, Record<string, string>> = {
  "DEVICE_METADATA|localhost": { hostname: "leaf01", hwsku: "Accton-AS7726-32X" },
  "MGMT_INTERFACE|eth0|192.168.101.12/24": { gwaddr: "192.168.101.1" },
  "PORT|Ethernet0": { alias: "Eth1/1", lanes: "0,1,2,3", speed: "100000", admin_status: "down", mtu: "9100" },
  "PORT|Ethernet4": { alias: "Eth1/2", lanes: "4,5,6,7", speed: "100000", admin_status: "down", mtu: "9100" },
  "PORT|Ethernet120": { alias: "Eth1/31", lanes: "120,121,122,123", speed: "100000", admin_status: "up", mtu: "9100" },
};

const port = (name: string, role: SwitchPortModel["role"], vrf = 0): SwitchPortModel => ({ name, role, adminUp: true, vrf, allowedPrefixes: vrf ? [`10.${vrf}.0.0/24`] : [], firewallVnis: [] });
/** leaf01 with Ethernet0 in `vrf` (0: free, in the PXE VLAN). */
function revision(generation: number, vrf: number) {
  const model: SwitchModel = {
    hostname: "leaf01",
    flavour: "sonic",
    asn: 4200000011,
    routerId: "10.255.255.1",
    ports: [port("Ethernet120", "fabric"), vrf ? port("Ethernet0", "machine", vrf) : port("Ethernet0", "unprovisioned"), port("Ethernet4", "unprovisioned")],
    vrfs: vrf ? [{ vrf, prefixes: [`10.${vrf}.0.0/24`], imports: [] }] : [],
    externalSessions: [],
    vlans: {},
  };
  const files = Object.entries(renderSwitch(model).files).map(([path, content]) => ({ path, content }));
  return { generation, files, hash: revisionHash(files), configDb: files.find((f) => f.path === "sonic/config_db.json")!.content };
}

async function fresh(ctx: Ctx, options: { frrReload?: string; save?: string } = {}) {
  await ctx.db.flushdb();
  for (const [key, fields] of Object.entries(SONIC_OWN)) await ctx.db.hset(key, fields);
  const root = mkdtempSync(join(ctx.dir, "agent-"));
  const store = new ConfigDbStore(ctx.db, join(root, "ports.json"));
  const kinds: FileKind[] = [{ match: /^frr\//, validate: "", reload: options.frrReload ?? "" }, configDbKind(store, options.save ?? "")];
  return { engine: new ApplyEngine(root, kinds, createLogger("metal-core-test", "silent")), store, root };
}

const hash = (db: Redis, key: string) => db.hgetall(key);
const keys = async (db: Redis, pattern: string) => (await db.keys(pattern)).sort();
const unchangedSonicOwn = async (db: Redis) => {
  for (const key of ["DEVICE_METADATA|localhost", "MGMT_INTERFACE|eth0|192.168.101.12/24"]) assert.equal(await hash(db, key), SONIC_OWN[key], `${key} untouched`);
  for (const p of ["Ethernet0", "Ethernet4", "Ethernet120"]) {
    const fields = await hash(db, `PORT|${p}`);
    assert.equal([fields.alias, fields.lanes, fields.speed], [SONIC_OWN[`PORT|${p}`]!.alias, SONIC_OWN[`PORT|${p}`]!.lanes, SONIC_OWN[`PORT|${p}`]!.speed], `PORT|${p}: SONiC's own fields untouched`);
  }
};

test("allocate → free → re-allocate to another VRF: CONFIG_DB holds exactly the rendered state, and nothing SONiC owns is touched", async (ctx) => {
  const { engine, store } = await fresh(ctx);
  const allocated = revision(1, 41);
  assert.is(await engine.apply(1, allocated.files, allocated.hash), "applied");
  assert.equal(await hash(ctx.db, "INTERFACE|Ethernet0"), { ipv6_use_link_local_only: "enable", vrf_name: "Vrf41" });
  assert.equal(await keys(ctx.db, "VRF|*"), ["VRF|Vrf41"]);
  assert.equal(await hash(ctx.db, "VXLAN_TUNNEL_MAP|vtep|map_41_Vlan1001"), { vlan: "Vlan1001", vni: "41" });
  assert.equal(await hash(ctx.db, "VLAN_INTERFACE|Vlan1001"), { vrf_name: "Vrf41" });
  assert.equal(await keys(ctx.db, "VLAN_MEMBER|*"), ["VLAN_MEMBER|Vlan4000|Ethernet4"], "the allocated port left the PXE VLAN");
  assert.equal(await hash(ctx.db, "LOOPBACK_INTERFACE|Loopback0"), { NULL: "NULL" }, "an entry without fields holds NULL, as SONiC stores it");
  assert.equal([(await hash(ctx.db, "PORT|Ethernet0")).admin_status, (await hash(ctx.db, "PORT|Ethernet0")).mtu, (await hash(ctx.db, "PORT|Ethernet120")).mtu], ["up", "9000", "9216"]);
  assert.is(await store.read(), allocated.configDb, "read back, CONFIG_DB is the rendered document");
  assert.is((await engine.onDisk()).runningHash, allocated.hash);

  const freed = revision(2, 0);
  await engine.apply(2, freed.files, freed.hash);
  assert.equal(await keys(ctx.db, "VRF|*"), [], "the VRF is removed");
  assert.equal(await keys(ctx.db, "VXLAN_TUNNEL_MAP|*"), ["VXLAN_TUNNEL_MAP|vtep|map_104000_Vlan4000"], "its tunnel map is removed");
  assert.equal(await keys(ctx.db, "VLAN|*"), ["VLAN|Vlan4000"], "its VLAN is removed");
  assert.equal(await keys(ctx.db, "SUPPRESS_VLAN_NEIGH|*"), []);
  assert.equal(await keys(ctx.db, "INTERFACE|Ethernet0*"), [], "the port is no longer routed");
  assert.equal(await keys(ctx.db, "VLAN_MEMBER|*"), ["VLAN_MEMBER|Vlan4000|Ethernet0", "VLAN_MEMBER|Vlan4000|Ethernet4"], "it boots in the PXE VLAN again");
  assert.is(await store.read(), freed.configDb);

  const reallocated = revision(3, 42);
  await engine.apply(3, reallocated.files, reallocated.hash);
  assert.equal(await hash(ctx.db, "INTERFACE|Ethernet0"), { ipv6_use_link_local_only: "enable", vrf_name: "Vrf42" });
  assert.equal(await keys(ctx.db, "VRF|*"), ["VRF|Vrf42"]);
  assert.equal(await keys(ctx.db, "VXLAN_TUNNEL_MAP|*"), ["VXLAN_TUNNEL_MAP|vtep|map_104000_Vlan4000", "VXLAN_TUNNEL_MAP|vtep|map_42_Vlan1001"]);
  assert.is(await store.read(), reallocated.configDb);
  await unchangedSonicOwn(ctx.db);
});

test("a port moving straight to another VRF leaves the first before joining the second (metal-core#102); FRR is reloaded first (metal-core#202)", async (ctx) => {
  const reloadMarker = `redis-cli -p ${ctx.port} -n 4 set bulkhead-test-frr-reloaded 1 >/dev/null`;
  const { engine } = await fresh(ctx, { frrReload: reloadMarker });
  const first = revision(1, 41);
  await engine.apply(1, first.files, first.hash);
  const monitor = await ctx.db.duplicate().monitor();
  const seen: string[] = [];
  monitor.on("monitor", (_time: string, args: string[]) => seen.push(args.join(" ")));
  const moved = revision(2, 42);
  await engine.apply(2, moved.files, moved.hash);
  await ctx.db.ping();
  const sync = Date.now();
  while (!seen.some((c) => /^hset PORT\|Ethernet0/i.test(c)) && Date.now() - sync < 5_000) await new Promise((r) => setTimeout(r, 20));
  monitor.disconnect();
  const at = (pattern: RegExp) => seen.findIndex((c) => pattern.test(c));
  const frr = at(/^set bulkhead-test-frr-reloaded/i);
  const unbind = at(/^del INTERFACE\|Ethernet0$/i);
  const bind = at(/^hset INTERFACE\|Ethernet0 .*Vrf42/i);
  const oldVrf = at(/^del VRF\|Vrf41$/i);
  const oldSvi = at(/^del VLAN_INTERFACE\|Vlan1001$/i);
  const newVrf = at(/^hset VRF\|Vrf42/i);
  assert.ok([frr, unbind, bind, oldVrf, oldSvi, newVrf].every((i) => i >= 0), seen.join("\n"));
  assert.ok(frr < unbind, "FRR lets go of the port's session before CONFIG_DB moves it");
  assert.ok(unbind < oldSvi && oldSvi < oldVrf, "the port and the VLAN's interface leave the VRF before it is removed");
  assert.ok(oldVrf < newVrf && newVrf < bind, "the new VRF exists before the port joins it");
});

test("a failure after CONFIG_DB was written restores the previous revision there", async (ctx) => {
  /** An agent on `root` whose save after writing CONFIG_DB fails. */
  const failing = (root = mkdtempSync(join(ctx.dir, "agent-"))) => {
    const store = new ConfigDbStore(ctx.db, join(root, "ports.json"));
    return { store, engine: new ApplyEngine(root, [{ match: /^frr\//, validate: "", reload: "" }, configDbKind(store, "false")], createLogger("metal-core-test", "silent")) };
  };
  const { engine: working, root } = await fresh(ctx);
  const first = revision(1, 41);
  await working.apply(1, first.files, first.hash);
  const { engine, store } = failing(root);
  const second = revision(2, 42);
  const error = await engine.apply(2, second.files, second.hash).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof FailedPreconditionError && /the previous configuration was restored/.test(error.message), String(error));
  assert.is(await store.read(), first.configDb, "CONFIG_DB is the previous revision again");
  assert.is((await engine.onDisk()).runningHash, first.hash, "and the agent reports it running");
  await unchangedSonicOwn(ctx.db);

  await fresh(ctx);
  const { engine: firstEver } = failing();
  await firstEver.apply(1, first.files, first.hash).catch(() => {});
  assert.equal(await keys(ctx.db, "VRF|*"), [], "nothing of a failed first revision stays");
  assert.equal(await hash(ctx.db, "PORT|Ethernet0"), SONIC_OWN["PORT|Ethernet0"], "PORT is as SONiC had it");
});

test("a Redis error in the middle of a write puts back what CONFIG_DB held before it", async (ctx) => {
  const { engine, store, root } = await fresh(ctx);
  const first = revision(1, 41);
  await engine.apply(1, first.files, first.hash);
  // The same Redis, except that the fourth entry written fails, as a dropped connection would.
  let writes = 0;
  const flaky = new Proxy(ctx.db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target) as unknown;
      if (prop !== "hset" || typeof value !== "function") return typeof value === "function" ? value.bind(target) : value;
      return (...args: unknown[]) => (++writes === 4 ? Promise.reject(new Error("connection lost")) : (value as (...a: unknown[]) => Promise<number>).apply(target, args));
    },
  });
  const broken = new ConfigDbStore(flaky, join(root, "ports.json"));
  const engineOnFlaky = new ApplyEngine(root, [{ match: /^frr\//, validate: "", reload: "" }, configDbKind(broken, "")], createLogger("metal-core-test", "silent"));
  const second = revision(2, 42);
  const error = await engineOnFlaky.apply(2, second.files, second.hash).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof FailedPreconditionError && /write failed, the previous configuration was restored: connection lost/.test(error.message), String(error));
  assert.ok(writes > 4, "the restore wrote again after the failure");
  assert.is(await store.read(), first.configDb, "CONFIG_DB is the first revision again");
  await unchangedSonicOwn(ctx.db);
});

test("drift: an entry added or changed behind the agent's back changes the running hash; the same generation repairs it", async (ctx) => {
  const { engine, store } = await fresh(ctx);
  const r = revision(1, 41);
  await engine.apply(1, r.files, r.hash);
  await ctx.db.hset("VRF|Vrf99", { vni: "99" });
  await ctx.db.hset("INTERFACE|Ethernet4", { vrf_name: "Vrf99" });
  assert.is.not((await engine.onDisk()).runningHash, r.hash, "the foreign VRF shows as drift");
  assert.is(await engine.apply(1, r.files, r.hash), "applied", "the same generation is applied again");
  assert.equal(await keys(ctx.db, "VRF|*"), ["VRF|Vrf41"]);
  assert.equal(await keys(ctx.db, "INTERFACE|Ethernet4*"), []);
  await ctx.db.hset("PORT|Ethernet0", "admin_status", "down");
  assert.is.not(await store.read(), r.configDb, "a port switched off by hand is drift too");
  await engine.apply(1, r.files, r.hash);
  assert.is((await engine.onDisk()).runningHash, r.hash);
  await ctx.db.hset("PORT|Ethernet0", "speed", "40000");
  assert.is((await engine.onDisk()).runningHash, r.hash, "a PORT field Bulkhead does not manage is not drift");
});

test("the agent refuses what it must not apply: a foreign table, and on Cumulus an interfaces file without management", async (ctx) => {
  const { engine } = await fresh(ctx);
  const r = revision(1, 41);
  const foreign = r.files.map((f) => (f.path === "sonic/config_db.json" ? { ...f, content: JSON.stringify({ ...JSON.parse(f.content), ACL_RULE: { "DATAACL|open": { PACKET_ACTION: "FORWARD" } } }) } : f));
  const error = await engine.apply(1, foreign, revisionHash(foreign)).then(() => undefined, (e: unknown) => e);
  assert.ok(error instanceof InvalidArgumentError && /files\.1\.content: .*table ACL_RULE is not one Bulkhead manages/.test(error.message), String(error));
  assert.equal(await keys(ctx.db, "VRF|*"), [], "nothing was written");
  const good = renderSwitch({ ...({ hostname: "leaf01", flavour: "cumulus", asn: 1, routerId: "10.255.255.1", ports: [port("swp1", "unprovisioned")], vrfs: [], externalSessions: [], vlans: {} } satisfies SwitchModel) }).files["network/interfaces"]!;
  assert.is(checkManagementKept(good), undefined);
  assert.match(checkManagementKept(good.replace(/auto eth0\niface eth0 inet dhcp\n    vrf mgmt\n/, ""))!, "no eth0 stanza");
  assert.match(checkManagementKept(good.replace("iface eth0 inet dhcp\n    vrf mgmt\n", "iface eth0 inet dhcp\n"))!, "not in the mgmt VRF");
});

test("SONiC's ports come from CONFIG_DB's PORT table, identified by alias (or name) as LLDP announces them", async (ctx) => {
  await fresh(ctx);
  const byAlias = (await portsFromConfigDb(ctx.db, "alias", ["Ethernet120"])).sort((a, b) => (a.name < b.name ? -1 : 1));
  assert.equal(byAlias, [
    { name: "Ethernet0", identifier: "Eth1/1", mtu: 9100, uplink: false },
    { name: "Ethernet120", identifier: "Eth1/31", mtu: 9100, uplink: true },
    { name: "Ethernet4", identifier: "Eth1/2", mtu: 9100, uplink: false },
  ]);
  assert.equal((await portsFromConfigDb(ctx.db, "name", [])).map((p) => p.identifier).sort(), ["Ethernet0", "Ethernet120", "Ethernet4"]);
});

test("CONFIG_DB is addressed by a redis:// URL with its database, or SONiC's unix socket with ?db=", () => {
  const socket = connectConfigDb("unix:///var/run/redis/redis.sock?db=4");
  const tcp = connectConfigDb("redis://127.0.0.1:6379/4");
  assert.equal([socket.options.path, socket.options.db, tcp.options.host, tcp.options.port, tcp.options.db], ["/var/run/redis/redis.sock", 4, "127.0.0.1", 6379, 4]);
  socket.disconnect();
  tcp.disconnect();
});

test.run();
