// Applying revisions on a device: atomic writes, validation that leaves the running files alone,
// rollback when the reload fails, idempotence, drift, and state that survives a restart.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { createLogger, DomainError } from "@bulkhead/service-kit";
import { revisionHash } from "@bulkhead/render";
import { ApplyEngine, parseLldp, type FileKind } from "../src/index.js";

const test = suite("apply engine");
const log = createLogger("test", "silent");
const revision = (content: string) => {
  const files = [{ path: "frr/frr.conf", content }];
  return { files, hash: revisionHash(files) };
};
const setup = (kind: Partial<FileKind> = {}) => {
  const root = mkdtempSync(join(tmpdir(), "bh-agent-"));
  const reloads = join(root, "reloads.log");
  const engine = new ApplyEngine(root, [{ match: /^frr\//, validate: "grep -q hostname {file}", reload: `echo reloaded >> ${reloads}`, ...kind }], log);
  return { root, engine, reloads, read: () => readFileSync(join(root, "frr/frr.conf"), "utf8") };
};
const codeOf = async (p: Promise<unknown>) => p.then(() => "ok", (e) => (e instanceof DomainError ? e.code : String(e)));

test("a valid revision is written and reloaded; the same generation again is a no-op", async () => {
  const { engine, read, reloads } = setup();
  const r = revision("hostname leaf01\n");
  assert.is(await engine.apply(1, r.files, r.hash), "applied");
  assert.is(read(), "hostname leaf01\n");
  assert.is(await engine.apply(1, r.files, r.hash), "unchanged");
  assert.is(readFileSync(reloads, "utf8"), "reloaded\n", "reloaded once");
  assert.equal([engine.current.appliedGeneration, engine.current.appliedHash, (await engine.onDisk()).runningHash], [1, r.hash, r.hash]);
});

test("a command set to `none` runs nothing (an empty variable means its default)", async () => {
  const { engine, read, reloads } = setup({ validate: "none", reload: "none" });
  const r = revision("no host name here\n");
  assert.is(await engine.apply(1, r.files, r.hash), "applied");
  assert.is(read(), "no host name here\n");
  assert.not.ok(existsSync(reloads), "no reload ran");
});

test("a revision failing validation or its hash leaves the running files untouched", async () => {
  const { engine, read } = setup();
  const good = revision("hostname leaf01\n");
  await engine.apply(1, good.files, good.hash);
  const bad = revision("no host name here\n");
  assert.is(await codeOf(engine.apply(2, bad.files, bad.hash)), 3, "InvalidArgument");
  assert.is(read(), "hostname leaf01\n");
  assert.match(engine.current.lastError, "rejected by validation");
  assert.is(await codeOf(engine.apply(2, good.files, "0".repeat(64))), 3, "a hash that does not match the files");
  assert.is(engine.current.appliedGeneration, 1);
});

test("a failed reload restores the previous files", async () => {
  const { engine, read } = setup({ reload: "grep -q broken {file} && exit 1 || true" });
  const good = revision("hostname leaf01\n");
  await engine.apply(1, good.files, good.hash);
  const breaks = revision("hostname leaf01 broken\n");
  assert.is(await codeOf(engine.apply(2, breaks.files, breaks.hash)), 9, "FailedPrecondition");
  assert.is(read(), "hostname leaf01\n", "rolled back");
  assert.is(engine.current.appliedGeneration, 1);
});

test("drift: a hand-edited file is detected and the same generation rewrites it; state survives a restart", async () => {
  const { engine, read, root } = setup();
  const r = revision("hostname leaf01\n");
  await engine.apply(3, r.files, r.hash);
  writeFileSync(join(root, "frr/frr.conf"), "hostname edited-by-hand\n");
  assert.is.not((await engine.onDisk()).runningHash, r.hash);
  assert.is(await engine.apply(3, r.files, r.hash), "applied");
  assert.is(read(), "hostname leaf01\n");
  const again = new ApplyEngine(root, [{ match: /^frr\//, validate: "", reload: "" }], log);
  assert.equal([again.current.appliedGeneration, again.current.appliedHash, (await again.onDisk()).runningHash], [3, r.hash, r.hash]);
});

test("LLDP neighbors from lldpcli's JSON, one interface or several", () => {
  const one = { lldp: { interface: { swp1: { chassis: { m1: { id: { type: "mac", value: "aa:bb:cc:00:00:01" } } }, port: { id: { type: "ifname", value: "lan0" }, descr: "lan0" } } } } };
  assert.equal(parseLldp(JSON.stringify(one)), [{ port: "swp1", chassisId: "aa:bb:cc:00:00:01", systemName: "m1", portId: "lan0", portDescription: "lan0" }]);
  const two = { lldp: { interface: [{ swp2: { chassis: { m2: { id: { value: "x" } } }, port: { id: { value: "lan1" } } } }, { swp1: { chassis: { m1: {} }, port: {} } }] } };
  assert.equal(parseLldp(JSON.stringify(two)).map((n) => [n.port, n.systemName, n.portId]), [["swp1", "m1", ""], ["swp2", "m2", "lan1"]]);
});

test.run();
