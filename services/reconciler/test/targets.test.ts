// The documented event → device mapping (targets.ts), event by event.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { targetsOf } from "../src/targets.js";

const t = (topic: string, payload: Record<string, unknown>) => targetsOf({ topic, payload });

test("a machine allocation touches its leaves and its project's firewalls, nothing project-wide", () => {
  assert.equal(t("machine.allocated", { machine: "m1", role: 1, project: "p", switches: ["leaf01", "leaf02"], networks: [{ vrf: 30 }] }), { devices: ["leaf01", "leaf02"], vrfs: [], projects: [], addresses: [], firewallsOf: ["p"] });
});

test("a firewall allocation also touches the firewall, its VRFs' carriers and its project's devices", () => {
  assert.equal(t("machine.installed", { machine: "fw1", role: 2, project: "p", switches: ["leaf01"], networks: [{ vrf: 30 }, { vrf: 0 }] }), { devices: ["leaf01", "fw1"], vrfs: [30], projects: ["p"], addresses: [], firewallsOf: ["p"], firewall: { device: "fw1", project: "p", partition: "" } });
  assert.equal(t("machine.freed", { machine: "fw1", role: 2, project: "p", partition: "fra1", switches: ["leaf01"], networks: [{ vrf: 30 }] }).firewall, undefined, "a freed firewall is not recorded again");
  assert.equal(t("machine.allocated", { machine: "fw1", role: 2, project: "p", partition: "fra1", switches: ["leaf01"], networks: [] }).firewall, { device: "fw1", project: "p", partition: "fra1" }, "recorded before its render is queued, for the project's later fan-outs");
});

test("registration and recabling touch only the leaves", () => {
  assert.equal(t("machine.recabled", { machine: "m1", project: "p", switches: ["leaf03"] }).devices, ["leaf03"]);
  assert.equal(t("machine.recabled", { machine: "m1", project: "p", switches: ["leaf03"] }).firewallsOf, []);
});

test("an address touches the devices with ports of its project on other networks", () => {
  assert.equal(t("ip.allocated", { ip: "10.0.0.5", project: "p", network: "n1" }), { devices: [], vrfs: [], projects: [], addresses: [{ project: "p", network: "n1" }], firewallsOf: ["p"] });
  assert.equal(t("ip.released", { ip: "185.1.2.3", network: "internet" }), { devices: [], vrfs: [], projects: [], addresses: [], firewallsOf: [] });
});

test("networks, peerings, policies and switches", () => {
  assert.equal(t("network.updated", { vrf: 30, project: "p" }).vrfs, [30]);
  assert.equal(t("peering.created", { networks: [{ vrf: 30 }, { vrf: 31 }], switch: "exit01" }), { devices: ["exit01"], vrfs: [30, 31], projects: [], addresses: [], firewallsOf: [] });
  assert.equal(t("policy.updated", { firewalls: ["fw1", "fw2"] }).devices, ["fw1", "fw2"]);
  assert.equal(t("policy.compiles.changed", { firewalls: ["fw2"] }).devices, ["fw2"]);
  assert.equal(t("firewall.options.changed", { firewalls: ["fw1"] }).devices, ["fw1"]);
  assert.equal(t("switch.updated", { switch: "leaf01" }).devices, ["leaf01"]);
});

test("unknown topics and malformed payloads touch nothing", () => {
  assert.equal(t("tenant.created", { id: "acme" }).devices, []);
  assert.equal(t("machine.allocated", { switches: "leaf01", networks: "x" }).devices, []);
  assert.equal(t("peering.created", { networks: [{ vrf: "x" }, { vrf: -1 }] }).vrfs, []);
});

test.run();
