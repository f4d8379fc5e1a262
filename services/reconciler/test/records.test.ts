// A partition's records brought forward by changes: only the parts they name are read again.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { MachineRole, MachineState } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { RecordsPart, recordsChangeOf, staleOf, type RecordsChange } from "../src/records-changes.js";
import { refreshRecords, type RecordServices } from "../src/records.js";

const test = suite("records brought forward");

/** Services over plain data, counting each call by method. */
function world() {
  const calls: string[] = [];
  const data = {
    networks: [
      { id: "a", partition: "fra1", type: NetworkType.CHILD, project: "pa" },
      { id: "internet", partition: "", type: NetworkType.EXTERNAL, project: "" },
    ],
    machines: [
      { id: "m1", partition: "fra1", state: MachineState.INSTALLED, allocation: { project: "pa", role: MachineRole.MACHINE, networks: [] }, connections: [] },
      { id: "m2", partition: "fra1", state: MachineState.INSTALLED, allocation: { project: "pa", role: MachineRole.MACHINE, networks: [] }, connections: [] },
      { id: "fw1", partition: "fra1", state: MachineState.INSTALLED, allocation: { project: "pa", role: MachineRole.FIREWALL, networks: [] }, connections: [] },
      { id: "m9", partition: "ams1", state: MachineState.INSTALLED, allocation: { project: "pa", role: MachineRole.MACHINE, networks: [] }, connections: [] },
    ] as { id: string; partition: string; state: MachineState; allocation?: unknown; connections: [] }[],
  };
  const called = <T>(name: string, answer: T) => {
    calls.push(name);
    return Promise.resolve(answer);
  };
  const services = {
    networks: { listNetworks: (r: { partition?: string; type?: NetworkType }) => called("listNetworks", { networks: data.networks.filter((n) => (r.type ? n.type === r.type : n.partition === r.partition)), nextPageToken: "" }) },
    peering: { listPeerings: () => called("listPeerings", { peerings: [], nextPageToken: "" }) },
    switches: { listSwitches: () => called("listSwitches", { switches: [], nextPageToken: "" }) },
    machines: {
      listMachines: (r: { partition: string; ids: string[] }) =>
        called(r.ids?.length ? `listMachines(${r.ids.join(",")})` : "listMachines", { machines: data.machines.filter((m) => m.partition === r.partition && (!r.ids?.length || r.ids.includes(m.id))), nextPageToken: "" }),
    },
    policies: { listPolicies: (r: { firewall: string }) => called(`listPolicies(${r.firewall})`, { policies: [{ name: "p", status: { compiles: true } }], nextPageToken: "" }) },
    ips: { listIPs: (r: { network: string }) => called(`listIPs(${r.network})`, { ips: [{ ip: "185.1.2.3", network: r.network }], nextPageToken: "" }) },
  } as unknown as RecordServices;
  return { services, calls, data };
}

const change = (parts: RecordsPart[], machines: string[] = [], partition = "fra1"): RecordsChange => ({ partition, parts, machines });

test("read whole: every part", async () => {
  const w = world();
  const records = await refreshRecords(w.services, "fra1", undefined, undefined);
  assert.equal(records.machines.map((m) => m.id), ["m1", "m2", "fw1"]);
  assert.equal(w.calls.sort(), ["listIPs(internet)", "listMachines", "listNetworks", "listNetworks", "listPeerings", "listPolicies(fw1)", "listSwitches"]);
});

test("a machine's change reads that machine again, nothing else; one freed or gone is left out", async () => {
  const w = world();
  const before = await refreshRecords(w.services, "fra1", undefined, undefined);
  w.calls.length = 0;
  w.data.machines = w.data.machines.filter((m) => m.id !== "m2");
  w.data.machines.push({ id: "m3", partition: "fra1", state: MachineState.ALLOCATED, allocation: { project: "pa", role: MachineRole.MACHINE, networks: [] }, connections: [] });
  w.data.machines.push({ id: "m4", partition: "fra1", state: MachineState.REGISTERED, connections: [] });
  const after = await refreshRecords(w.services, "fra1", before, [change([RecordsPart.Machines], ["m2"]), change([RecordsPart.Machines], ["m3", "m4"])]);
  assert.equal(w.calls, ["listMachines(m2,m3,m4)"]);
  assert.equal(after.machines.map((m) => m.id), ["fw1", "m1", "m3"]);
  assert.is(after.networks, before.networks, "the rest is the previous read's");
  assert.is(after.policies, before.policies);
});

test("a firewall's change reads the policies of the partition's firewalls again", async () => {
  const w = world();
  const before = await refreshRecords(w.services, "fra1", undefined, undefined);
  w.calls.length = 0;
  w.data.machines.push({ id: "fw2", partition: "fra1", state: MachineState.ALLOCATED, allocation: { project: "pa", role: MachineRole.FIREWALL, networks: [] }, connections: [] });
  const after = await refreshRecords(w.services, "fra1", before, [recordsChangeOf({ topic: "machine.allocated", payload: { machine: "fw2", partition: "fra1", role: MachineRole.FIREWALL } })]);
  assert.equal(w.calls.sort(), ["listMachines(fw2)", "listPolicies(fw1)", "listPolicies(fw2)"]);
  assert.equal([...after.policies.keys()], ["fw1", "fw2"]);
});

test("networks bring their addresses along; changes of another partition are not this one's; unknown changes read everything", async () => {
  const w = world();
  const before = await refreshRecords(w.services, "fra1", undefined, undefined);
  w.calls.length = 0;
  await refreshRecords(w.services, "fra1", before, [recordsChangeOf({ topic: "network.updated", payload: { partition: "fra1" } })]);
  assert.equal(w.calls.sort(), ["listIPs(internet)", "listNetworks", "listNetworks"]);
  w.calls.length = 0;
  await refreshRecords(w.services, "fra1", before, [change([RecordsPart.All], [], "ams1"), change([RecordsPart.Machines], ["m9"], "ams1")]);
  assert.equal(w.calls, [], "nothing of fra1 changed");
  await refreshRecords(w.services, "fra1", before, [recordsChangeOf({ topic: "something.new", payload: { partition: "fra1" } })]);
  assert.is(w.calls.length, 7, "read whole");
  w.calls.length = 0;
  await refreshRecords(w.services, "fra1", before, undefined);
  assert.is(w.calls.length, 7, "changes not all kept: read whole");
});

test("which parts each event changes", () => {
  const parts = (topic: string, payload: Record<string, unknown> = {}) => recordsChangeOf({ topic, payload }).parts;
  assert.equal(recordsChangeOf({ topic: "machine.installed", payload: { machine: "m1", partition: "fra1", role: MachineRole.MACHINE } }), { partition: "fra1", parts: [RecordsPart.Machines], machines: ["m1"] });
  assert.equal(parts("machine.freed", { machine: "fw1", role: MachineRole.FIREWALL }), [RecordsPart.Machines, RecordsPart.Policies, RecordsPart.Plan]);
  assert.equal(parts("machine.registered"), [RecordsPart.All], "a machine event naming no machine");
  assert.equal(parts("ip.allocated"), [RecordsPart.Addresses, RecordsPart.Plan]);
  assert.equal(parts("peering.deleted"), [RecordsPart.Peerings, RecordsPart.Plan]);
  assert.equal(parts("policy.compiles.changed"), [RecordsPart.Policies]);
  assert.equal(parts("switch.registered"), [RecordsPart.Switches]);
  assert.equal(parts("switch.deleted"), [RecordsPart.All]);
  assert.equal(parts("project.updated"), []);
  assert.equal(parts("partition.updated"), [RecordsPart.All]);
  assert.equal(recordsChangeOf({ topic: "ip.released", payload: {} }).partition, "", "no partition: every partition's");
  const stale = staleOf("fra1", [change([RecordsPart.Machines], ["m1"]), change([RecordsPart.Peerings], [], ""), change([RecordsPart.Networks], ["x"], "ams1")]);
  assert.equal([[...stale.parts], [...stale.machines]], [[RecordsPart.Machines, RecordsPart.Peerings], ["m1"]]);
});

test.run();
