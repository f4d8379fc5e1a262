// Which parts of a partition's records an event changed (pure): what a snapshot of them
// (snapshots.ts) must read again to hold the change. An event this does not know changes
// everything: a part left stale is a verifier that trusts old records.
//
//   machine.*                 the machines it names; a firewall's also the policies and the
//                             route-leak plan (its project's firewall exits)
//   network.*                 networks, addresses in them, the plan
//   ip.*                      addresses, the plan
//   peering.*                 peerings, the plan
//   policy.*, firewall.*      policies
//   switch.registered|updated|port.changed
//                             switches
//   tenant.*, project.*, image.*
//                             nothing the records hold
//   anything else             everything
import { MachineRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import type { PublishedEvent } from "@bulkhead/db";

export const enum RecordsPart {
  All = "all",
  Machines = "machines",
  Networks = "networks",
  Addresses = "addresses",
  Peerings = "peerings",
  Switches = "switches",
  Policies = "policies",
  /** The partition's route-leak plan (the peering service's, which the renders use). */
  Plan = "plan",
}

export interface RecordsChange {
  /** '' when the change may touch every partition. */
  partition: string;
  parts: RecordsPart[];
  /** The machines a change of machines names. */
  machines: string[];
}

const everything: RecordsPart[] = [RecordsPart.All];

export function recordsChangeOf(event: Pick<PublishedEvent, "topic" | "payload">): RecordsChange {
  const p = event.payload ?? {};
  const partition = typeof p.partition === "string" ? p.partition : "";
  const change = (parts: RecordsPart[], machines: string[] = []): RecordsChange => ({ partition, parts, machines });
  const [family] = event.topic.split(".");
  switch (family) {
    case "machine": {
      if (typeof p.machine !== "string" || p.machine === "") return change(everything);
      const firewall = p.role === MachineRole.FIREWALL;
      return change(firewall ? [RecordsPart.Machines, RecordsPart.Policies, RecordsPart.Plan] : [RecordsPart.Machines], [p.machine]);
    }
    case "network":
      return change([RecordsPart.Networks, RecordsPart.Addresses, RecordsPart.Plan]);
    case "ip":
      return change([RecordsPart.Addresses, RecordsPart.Plan]);
    case "peering":
      return change([RecordsPart.Peerings, RecordsPart.Plan]);
    case "policy":
    case "firewall":
      return change([RecordsPart.Policies]);
    case "switch":
      return change(["switch.registered", "switch.updated", "switch.port.changed"].includes(event.topic) ? [RecordsPart.Switches] : everything);
    case "tenant":
    case "project":
    case "image":
      return change([]);
    default:
      return change(everything);
  }
}

/** What a partition's snapshot must read again to take in `changes` (each of this partition or of every one). */
export interface Stale {
  parts: Set<RecordsPart>;
  machines: Set<string>;
}

export function staleOf(partition: string, changes: readonly RecordsChange[]): Stale {
  const stale: Stale = { parts: new Set(), machines: new Set() };
  for (const c of changes) {
    if (c.partition !== "" && c.partition !== partition) continue;
    for (const part of c.parts) stale.parts.add(part);
    for (const m of c.machines) stale.machines.add(m);
  }
  return stale;
}
