// Switches as their agents report them, and operators' port states.
import { InvalidArgumentError, NotFoundError } from "@bulkhead/service-kit";
import type { RegisterSwitchRequest, SwitchHeartbeatRequest } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { SwitchRow, SwitchStore } from "./store/switches.js";

const SWITCH = "bulkhead.inventory.v1.Switch";

export class Switches {
  constructor(private readonly store: SwitchStore) {}

  register(req: RegisterSwitchRequest): Promise<SwitchRow> {
    const names = new Set<string>();
    const identifiers = new Set<string>();
    req.ports.forEach((p, i) => {
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
        management_ip: req.managementIp || null,
        os_vendor: req.os!.vendor,
        os_version: req.os!.version,
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

  list(filter: { partition?: string; rack?: string; role?: number }): Promise<SwitchRow[]> {
    return this.store.list(filter);
  }

  delete(id: string): Promise<SwitchRow> {
    return this.store.delete(id);
  }

  setAdminState(id: string, port: string, state: 1 | 2): Promise<SwitchRow> {
    return this.store.setAdminState(id, port, state);
  }

  connections(filter: { partition?: string; switch?: string; machine?: string }) {
    return this.store.connections(filter);
  }
}
