// Which devices a change touches, from the event alone (pure). The reconciler widens `vrfs`,
// `projects` and `addresses` to the devices whose last render carried them, and `firewallsOf` to
// the projects' firewalls it recorded (a firewall's allocation event records it before its first
// render is queued).
//
//   switch.*                         the switch
//   machine.registered|recabled|deleted
//                                    the leaves it is (or was) cabled to
//   machine.allocated|installed|freed
//                                    its leaves and the project's firewalls; a firewall also
//                                    itself, every device carrying its networks' VRFs and every
//                                    device serving its project (its addresses leave the
//                                    project's allow-lists)
//   network.*                        every device carrying the network's VRF, the project's firewalls
//   ip.*                             every device with a port of the address's project on another
//                                    network (allow-lists hold the project's addresses that the
//                                    port's own network does not cover), the project's firewalls
//   peering.*                        every device carrying either VRF; the exit switch of a session
//   policy.* (also policy.compiles.changed), firewall.options.changed
//                                    the firewalls the event names
//   anything else                    nothing
import { MachineRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import type { PublishedEvent } from "@bulkhead/db";

export interface Targets {
  /** Devices the event names. */
  devices: string[];
  vrfs: number[];
  projects: string[];
  addresses: { project: string; network: string }[];
  firewallsOf: string[];
  /** A firewall the event allocates to a project, to record before its render is queued. */
  firewall?: { device: string; partition: string; project: string };
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v !== "") : []);
const string = (value: unknown): string[] => (typeof value === "string" && value !== "" ? [value] : []);
const vrfsOf = (networks: unknown): number[] => (Array.isArray(networks) ? networks.map((n) => Number((n as { vrf?: unknown }).vrf)).filter((v) => Number.isInteger(v) && v > 0) : []);

export function targetsOf(event: Pick<PublishedEvent, "topic" | "payload">): Targets {
  const p = event.payload ?? {};
  const none: Targets = { devices: [], vrfs: [], projects: [], addresses: [], firewallsOf: [] };
  const [family] = event.topic.split(".");
  switch (family) {
    case "switch":
      return { ...none, devices: string(p.switch) };
    case "machine": {
      const leaves = strings(p.switches);
      if (!["machine.allocated", "machine.installed", "machine.freed"].includes(event.topic)) return { ...none, devices: leaves };
      if (p.role !== MachineRole.FIREWALL) return { ...none, devices: leaves, firewallsOf: string(p.project) };
      const [device] = string(p.machine);
      const [project] = string(p.project);
      const firewall = device && project && event.topic !== "machine.freed" ? { device, project, partition: typeof p.partition === "string" ? p.partition : "" } : undefined;
      return { ...none, devices: [...leaves, ...string(p.machine)], vrfs: vrfsOf(p.networks), projects: string(p.project), firewallsOf: string(p.project), ...(firewall ? { firewall } : {}) };
    }
    case "network":
      return { ...none, vrfs: vrfsOf([{ vrf: p.vrf }]), firewallsOf: string(p.project) };
    case "ip": {
      const [project] = string(p.project);
      return project ? { ...none, addresses: [{ project, network: typeof p.network === "string" ? p.network : "" }], firewallsOf: [project] } : none;
    }
    case "peering":
      return { ...none, devices: string(p.switch), vrfs: vrfsOf(p.networks) };
    case "policy":
    case "firewall":
      return { ...none, devices: strings(p.firewalls) };
    default:
      return none;
  }
}
