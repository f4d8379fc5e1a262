// Which devices a change touches, from the event alone (pure). The reconciler widens `vrfs` and
// `projects` to the devices whose last render carried them, and `firewallsOf` to the projects'
// firewalls as the inventory lists them.
//
//   switch.*                         the switch
//   machine.registered|recabled|deleted
//                                    the leaves it is (or was) cabled to
//   machine.allocated|installed|freed
//                                    its leaves, every device carrying its networks' VRFs, every
//                                    leaf serving its project (allow-lists hold the project's IPs),
//                                    the project's firewalls, and the machine itself if a firewall
//   network.*                        every device carrying the network's VRF, the project's firewalls
//   ip.*                             every device serving the address's project (allow-lists)
//   peering.*                        every device carrying either VRF; the exit switch of a session
//   policy.*, firewall.options.changed
//                                    the firewalls the event names
//   anything else                    nothing
import type { PublishedEvent } from "@bulkhead/db";

export interface Targets {
  devices: string[];
  vrfs: number[];
  projects: string[];
  firewallsOf: string[];
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === "string" && v !== "") : []);
const string = (value: unknown): string[] => (typeof value === "string" && value !== "" ? [value] : []);
const vrfsOf = (networks: unknown): number[] => (Array.isArray(networks) ? networks.map((n) => Number((n as { vrf?: unknown }).vrf)).filter((v) => Number.isInteger(v) && v > 0) : []);

export function targetsOf(event: Pick<PublishedEvent, "topic" | "payload">): Targets {
  const p = event.payload ?? {};
  const none: Targets = { devices: [], vrfs: [], projects: [], firewallsOf: [] };
  const [family] = event.topic.split(".");
  switch (family) {
    case "switch":
      return { ...none, devices: string(p.switch) };
    case "machine": {
      const leaves = strings(p.switches);
      if (["machine.allocated", "machine.installed", "machine.freed"].includes(event.topic)) {
        const firewall = p.role === 2 ? string(p.machine) : [];
        return { devices: [...leaves, ...firewall], vrfs: vrfsOf(p.networks), projects: string(p.project), firewallsOf: string(p.project) };
      }
      return { ...none, devices: leaves };
    }
    case "network":
      return { ...none, vrfs: vrfsOf([{ vrf: p.vrf }]), firewallsOf: string(p.project) };
    case "ip":
      return { ...none, projects: string(p.project) };
    case "peering":
      return { ...none, devices: string(p.switch), vrfs: vrfsOf(p.networks) };
    case "policy":
      return { ...none, devices: strings(p.firewalls) };
    case "firewall":
      return { ...none, devices: strings(p.firewalls) };
    default:
      return none;
  }
}
