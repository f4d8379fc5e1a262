// Builds a machine's connections from the LLDP neighbors its NICs report: pure, no I/O.
import { RegistrationProblemKind as Kind } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";

export { Kind as ProblemKind };

export interface NicReport {
  name: string;
  mac: string;
  neighbors: { switch: string; port: string }[];
}

export interface KnownSwitch {
  id: string;
  partition: string;
  rack: string;
  /** 1 leaf, 2 spine, 3 exit */
  role: number;
  ports: { name: string; identifier: string }[];
}

export interface Connection {
  nic: string;
  nicMac: string;
  switch: string;
  port: string;
}

export interface Problem {
  kind: Kind;
  nic: string;
  message: string;
}

export interface Matched {
  connections: Connection[];
  problems: Problem[];
  partition?: string;
  rack?: string;
}

const LEAF = 1;

/**
 * Matches each NIC's LLDP neighbor (switch host name + port identifier, falling back to the port
 * name) to a registered switch port. Anything that does not match is a problem, as is a port
 * cabled to another machine; with `requireDualHoming` the machine must reach exactly two leaves
 * of one rack. Partition and rack come from the switches.
 */
export function matchConnections(
  machine: string,
  nics: readonly NicReport[],
  switches: ReadonlyMap<string, KnownSwitch>,
  portOwner: (sw: string, port: string) => string | undefined,
  requireDualHoming: boolean,
): Matched {
  const connections: Connection[] = [];
  const problems: Problem[] = [];
  for (const nic of nics) {
    for (const neighbor of nic.neighbors) {
      const sw = switches.get(neighbor.switch);
      if (!sw) {
        problems.push({ kind: Kind.UNKNOWN_SWITCH, nic: nic.name, message: `${nic.name} sees ${neighbor.switch}, which is not a registered switch` });
        continue;
      }
      const port = sw.ports.find((p) => p.identifier === neighbor.port) ?? sw.ports.find((p) => p.name === neighbor.port);
      if (!port) {
        problems.push({ kind: Kind.UNKNOWN_PORT, nic: nic.name, message: `${nic.name} sees port ${neighbor.port} of ${sw.id}, which has no such port` });
        continue;
      }
      const owner = portOwner(sw.id, port.name);
      if (owner && owner !== machine) {
        problems.push({ kind: Kind.PORT_TAKEN, nic: nic.name, message: `${nic.name} sees ${sw.id} ${port.name}, which is cabled to machine ${owner}` });
        continue;
      }
      if (sw.role !== LEAF) {
        problems.push({ kind: Kind.NOT_A_LEAF, nic: nic.name, message: `${nic.name} is cabled to ${sw.id}, which is not a leaf` });
        continue;
      }
      connections.push({ nic: nic.name, nicMac: nic.mac.toLowerCase(), switch: sw.id, port: port.name });
    }
  }
  if (nics.every((n) => n.neighbors.length === 0)) problems.push({ kind: Kind.NO_NEIGHBOR, nic: "", message: "no NIC reported an LLDP neighbor" });
  const leaves = [...new Set(connections.map((c) => c.switch))].map((id) => switches.get(id)!);
  if (requireDualHoming && (connections.length !== 2 || leaves.length !== 2)) {
    problems.push({ kind: Kind.NOT_DUAL_HOMED, nic: "", message: `the machine must be cabled to two leaves, one NIC each; it reaches ${leaves.map((l) => l.id).join(" and ") || "none"} over ${connections.length} NICs` });
  }
  const racks = [...new Set(leaves.map((l) => l.rack))];
  if (racks.length > 1) problems.push({ kind: Kind.RACK_MISMATCH, nic: "", message: `the leaves are in different racks (${racks.join(", ")})` });
  return { connections, problems, partition: leaves[0]?.partition, rack: racks.length === 1 ? racks[0] : undefined };
}
