// Conventions every Bulkhead contract must keep; the interceptors and tooling rely on them.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { hasOption, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { bulkheadFiles, bulkheadServices, loadDescriptorSet, methodAccess } from "../src/index.js";
import { field as fieldRules } from "../src/gen/buf/validate/validate_pb.js";
import { Auditing } from "../src/gen/bulkhead/common/v1/options_pb.js";

const methods: DescMethod[] = bulkheadServices.flatMap((s) => s.methods);
const id = (m: DescMethod) => `${m.parent.typeName}/${m.name}`;
const mutates = (m: DescMethod) => m.idempotency !== 1; // 1 = NO_SIDE_EFFECTS

// High-rate observation reports from agents: their denials are audited, their successes are not.
const unauditedMutations = new Set(["bulkhead.inventory.v1.SwitchService/SwitchHeartbeat", "bulkhead.fabric.v1.DesiredStateService/ReportDeviceState"]);

test("the contracts define the services of every domain", () => {
  const packages = new Set(bulkheadServices.map((s) => s.typeName.split(".").slice(0, 3).join(".")));
  for (const name of ["ipam", "network", "inventory", "peering", "firewall", "fabric", "agent"]) assert.ok(packages.has(`bulkhead.${name}.v1`), name);
  assert.ok(methods.length > 80, `${methods.length} methods`);
});

test("every method declares who may call it", () => {
  const missing = methods.filter((m) => !methodAccess(m)).map(id);
  assert.equal(missing, []);
  const empty = methods
    .filter((m) => {
      const a = methodAccess(m)!;
      return a.platformRoles.length === 0 && a.projectRoles.length === 0 && !a.service && !a.agent && !a.authenticated;
    })
    .map(id);
  assert.equal(empty, [], "no method may declare an access rule that admits nobody");
});

test("every method says whether it is audited, and every mutation is", () => {
  assert.equal(methods.filter((m) => methodAccess(m)!.auditing === Auditing.UNSPECIFIED).map(id), []);
  const unaudited = methods.filter((m) => mutates(m) && methodAccess(m)!.auditing !== Auditing.INCLUDED && !unauditedMutations.has(id(m))).map(id);
  assert.equal(unaudited, []);
});

test("reads are marked free of side effects, so Connect GET and retries are safe", () => {
  const reads = methods.filter((m) => /^(Get|List)/.test(m.name) && mutates(m)).map(id);
  assert.equal(reads, []);
});

const topLevelString = (message: DescMessage, name: string) => message.fields.some((f) => f.name === name && f.fieldKind === "scalar" && f.scalar === 9 && !f.oneof);

test("project-scoped methods carry a top-level `project` field, agent methods a `device` field", () => {
  assert.equal(methods.filter((m) => methodAccess(m)!.projectRoles.length > 0 && !topLevelString(m.input, "project")).map(id), []);
  assert.equal(methods.filter((m) => methodAccess(m)!.agent && !topLevelString(m.input, "device")).map(id), []);
});

test("every request field carries a validation rule (booleans and nested messages excepted)", () => {
  const seen = new Set<string>();
  const unruled: string[] = [];
  const visit = (message: DescMessage) => {
    if (seen.has(message.typeName) || !message.typeName.startsWith("bulkhead.")) return;
    seen.add(message.typeName);
    for (const f of message.fields) {
      const isBool = f.fieldKind === "scalar" && f.scalar === 8;
      const isMessage = f.fieldKind === "message";
      if (!isBool && !isMessage && !hasOption(f, fieldRules)) unruled.push(`${message.typeName}.${f.name}`);
      if (f.message) visit(f.message);
    }
  };
  for (const m of methods) visit(m.input);
  assert.equal(unruled, []);
});

test("the descriptor set holds every Bulkhead file with its imports", () => {
  const names = new Set(loadDescriptorSet().file.map((f) => f.name));
  for (const file of bulkheadFiles) assert.ok(names.has(`${file.name}.proto`), file.name);
  for (const dep of ["buf/validate/validate.proto", "google/protobuf/timestamp.proto", "grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto"]) assert.ok(names.has(dep), dep);
});
test.run();
