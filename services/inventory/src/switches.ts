// Switches as their agents report them, and operators' port states. A leaf's or exit switch's
// router id is its VTEP: it lies in the partition's underlay and is no other device's address
// there (the firewalls' VTEPs are chosen around it), so a firewall accepting VXLAN from the
// underlay accepts exactly the partition's VTEPs.
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError } from "@bulkhead/service-kit";
import { SwitchRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { contains, formatAddress, formatPrefix, parseAddress, parsePrefix } from "@bulkhead/netaddr";
import { PORT_NAMES, switchFlavourOf } from "@bulkhead/api/switch-os";
import type { NetworkPort } from "./network.js";
import type { RegisterSwitchRequest, SwitchHeartbeatRequest } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { SWITCH, type SwitchRow, type SwitchStore } from "./store/switches.js";

/** An address with its prefix length as the renderers write it (IPv6 compressed). */
const canonicalInterfaceAddress = (text: string) => `${formatAddress(parseAddress(text.split("/")[0]!)!)}/${text.split("/")[1]}`;

/** The registered management interface, checked: its gateway is on its network, management_ip is its address. */
function managementOf(req: RegisterSwitchRequest): SwitchRow["management"] {
  const m = req.management;
  if (!m) return null;
  const address = canonicalInterfaceAddress(m.address);
  const network = parsePrefix(m.address, { strict: false })!;
  const gateway = parseAddress(m.gateway)!;
  if (gateway.family !== network.family || !contains(network, gateway)) throw new InvalidArgumentError("management.gateway", `${m.gateway} is not on eth0's network ${formatPrefix(network)}`);
  if (req.managementIp && formatAddress(parseAddress(req.managementIp)!) !== address.split("/")[0]) throw new InvalidArgumentError("management_ip", `${req.managementIp} is not the management interface's address ${address}`);
  return { address, gateway: formatAddress(gateway), routes: m.routes.map((r) => formatPrefix(parsePrefix(r, { strict: false })!)) };
}

export class Switches {
  constructor(
    private readonly store: SwitchStore,
    private readonly network: NetworkPort,
  ) {}

  /** A VTEP's address: inside the partition's underlay (once it has one), nobody else's there. */
  private async checkVtep(req: RegisterSwitchRequest): Promise<void> {
    if (req.role !== SwitchRole.LEAF && req.role !== SwitchRole.EXIT) return;
    const underlay = await this.network.underlayOf(req.partition);
    if (!underlay) return;
    const address = parseAddress(req.routerId)!;
    if (!underlay.prefixes.some((p) => contains(parsePrefix(p)!, address))) {
      throw new InvalidArgumentError("router_id", `${req.routerId} is outside the underlay of partition ${req.partition} (${underlay.prefixes.join(", ")}); the router id is the switch's VTEP`);
    }
    const other = await this.store.vtepHolder(req.partition, req.routerId, req.device);
    if (other) throw new AlreadyExistsError(SWITCH, other, `${req.routerId} is already the router id of switch ${other}`);
    const held = (await this.network.listIps({ network: underlay.id })).find((ip) => ip.ip === req.routerId);
    if (held) throw new FailedPreconditionError(`${req.routerId} is the underlay address of machine ${held.machine || "(none)"}; choose another router id`);
  }

  async register(req: RegisterSwitchRequest): Promise<SwitchRow> {
    const os = switchFlavourOf(req.os);
    if ("problem" in os) throw new InvalidArgumentError(os.field, os.problem);
    const management = managementOf(req);
    await this.checkVtep(req);
    const names = new Set<string>();
    const identifiers = new Set<string>();
    req.ports.forEach((p, i) => {
      if (!PORT_NAMES[os.flavour].test(p.name)) throw new InvalidArgumentError(`ports.${i}.name`, `${p.name} is not a port name of ${req.os!.vendor} (${PORT_NAMES[os.flavour].source})`);
      if (names.has(p.name)) throw new InvalidArgumentError(`ports.${i}.name`, `port ${p.name} is listed twice`);
      if (identifiers.has(p.identifier)) throw new InvalidArgumentError(`ports.${i}.identifier`, `identifier ${p.identifier} is listed twice`);
      names.add(p.name);
      identifiers.add(p.identifier);
    });
    return this.store.register(
      {
        id: req.device,
        partition: req.partition,
        rack: req.rack,
        role: req.role as 1 | 2 | 3,
        asn: req.asn,
        router_id: req.routerId,
        management_ip: req.managementIp || management?.address.split("/")[0] || null,
        os_vendor: req.os!.vendor,
        os_version: req.os!.version,
        management,
        pxe_address: req.pxeAddress ? canonicalInterfaceAddress(req.pxeAddress) : "",
        agent_version: req.agentVersion,
      },
      req.ports.map((p) => ({ name: p.name, identifier: p.identifier, mac: p.mac.toLowerCase(), mtu: p.mtu || 9216, breakout: p.breakout, uplink: p.uplink })),
    );
  }

  heartbeat(req: SwitchHeartbeatRequest): Promise<void> {
    return this.store.heartbeat(req.device, {
      ports: req.ports.map((p) => ({
        name: p.name,
        oper_state: p.operState as 0 | 1 | 2,
        bgp: p.bgp
          ? {
              neighbor: p.bgp.neighbor,
              peerGroup: p.bgp.peerGroup,
              vrf: p.bgp.vrf,
              state: p.bgp.state,
              establishedAt: p.bgp.establishedAt ? timestampDate(p.bgp.establishedAt).toISOString() : undefined,
              acceptedPrefixes: Number(p.bgp.acceptedPrefixes),
              sentPrefixes: Number(p.bgp.sentPrefixes),
            }
          : null,
      })),
      lldp: req.lldpNeighbors.map((n) => ({ port: n.port, chassisId: n.chassisId, systemName: n.systemName, portId: n.portId, portDescription: n.portDescription })),
      runningConfigHash: req.runningConfigHash,
      agentVersion: req.agentVersion,
    });
  }

  async get(id: string): Promise<SwitchRow> {
    const row = await this.store.get(id);
    if (!row) throw new NotFoundError(SWITCH, id);
    return row;
  }

  /** The registered switches among `ids` with their connection maps, in the order of `ids`. */
  cabled(ids: readonly string[]) {
    return this.store.cabled(ids);
  }

  list(filter: { partition?: string; rack?: string; role?: number }, page?: { after?: string; limit: number }): Promise<SwitchRow[]> {
    return this.store.list(filter, page);
  }

  delete(id: string): Promise<SwitchRow> {
    return this.store.delete(id);
  }

  setAdminState(id: string, port: string, state: 1 | 2): Promise<SwitchRow> {
    return this.store.setAdminState(id, port, state);
  }

  /** The connection map matching `filter`, by switch and port: all of it, or a page after `page.after` (a switch and a port). */
  connections(filter: { partition?: string; switch?: string; machine?: string }, page?: { after?: string[]; limit: number }) {
    return this.store.connections(filter, page);
  }
}
