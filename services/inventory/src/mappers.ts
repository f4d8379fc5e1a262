// Rows and views → protobuf messages. BMC credentials are reduced to whether a password is set.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  AllocationSchema,
  BmcSchema,
  ChecksumSchema,
  ConnectionSchema,
  ImageSchema,
  MachineNetworkSchema,
  MachineSchema,
  NeighborSchema,
  NicSchema,
  RegistrationProblemSchema,
  type Image,
  type Machine,
} from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import {
  BgpSessionSchema,
  LldpNeighborSchema,
  MachineConnectionSchema,
  OperatingSystemSchema,
  PortViewSchema,
  SwitchPortSchema,
  SwitchSchema,
  TenantVrfSchema,
  type MachineConnection,
  type PortView,
  type Switch,
  type TenantVrf,
  ManagementSchema,
} from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import type { ImageRow, MachineRow } from "./store/machines.js";
import type { ConnectionRow, SwitchRow } from "./store/switches.js";
import type { MachineNetworkView, PortView as PortViewRow, VrfView } from "./views.js";

const time = (d: Date | null) => (d ? timestampFromDate(d) : undefined);

export const switchMessage = (s: SwitchRow): Switch =>
  create(SwitchSchema, {
    id: s.id,
    partition: s.partition,
    rack: s.rack,
    role: s.role,
    asn: s.asn,
    routerId: s.router_id,
    managementIp: s.management_ip ?? "",
    os: create(OperatingSystemSchema, { vendor: s.os_vendor, version: s.os_version }),
    management: s.management ? create(ManagementSchema, s.management) : undefined,
    pxeAddress: s.pxe_address,
    agentVersion: s.agent_version,
    ports: s.ports.map((p) =>
      create(SwitchPortSchema, {
        name: p.name,
        identifier: p.identifier,
        mac: p.mac,
        mtu: p.mtu,
        breakout: p.breakout,
        uplink: p.uplink,
        adminState: p.admin_state,
        operState: p.oper_state,
        bgp: p.bgp
          ? create(BgpSessionSchema, {
              neighbor: p.bgp.neighbor,
              peerGroup: p.bgp.peerGroup,
              vrf: p.bgp.vrf,
              state: p.bgp.state,
              establishedAt: p.bgp.establishedAt ? timestampFromDate(new Date(p.bgp.establishedAt)) : undefined,
              acceptedPrefixes: BigInt(p.bgp.acceptedPrefixes),
              sentPrefixes: BigInt(p.bgp.sentPrefixes),
            })
          : undefined,
      }),
    ),
    lldpNeighbors: s.lldp_neighbors.map((n) => create(LldpNeighborSchema, n)),
    runningConfigHash: s.running_config_hash,
    lastHeartbeatAt: time(s.last_heartbeat_at),
    createdAt: time(s.created_at),
    updatedAt: time(s.updated_at),
  });

export const connectionMessage = (c: ConnectionRow): MachineConnection => create(MachineConnectionSchema, { machine: c.machine, nic: c.nic, nicMac: c.nic_mac, switch: c.switch, port: c.port });

export const portViewMessage = (p: PortViewRow): PortView =>
  create(PortViewSchema, {
    name: p.name,
    role: p.role,
    adminState: p.adminState,
    mtu: p.mtu,
    machine: p.machine,
    project: p.project,
    network: p.network,
    vrf: p.vrf,
    allowedPrefixes: p.allowedPrefixes,
    firewallVnis: p.firewallVnis,
  });

export const vrfMessage = (v: VrfView): TenantVrf => create(TenantVrfSchema, v);

export function machineMessage(m: MachineRow, networks: MachineNetworkView[] = []): Machine {
  const a = m.allocation;
  return create(MachineSchema, {
    id: m.id,
    partition: m.partition ?? "",
    rack: m.rack ?? "",
    state: m.state as number,
    nics: m.nics.map((n) => create(NicSchema, { name: n.name, mac: n.mac, neighbors: n.neighbors.map((x) => create(NeighborSchema, x)) })),
    connections: m.connections.map((c) => create(ConnectionSchema, { nic: c.nic, switch: c.switch, port: c.port })),
    problems: m.problems.map((p) => create(RegistrationProblemSchema, p)),
    bmc: create(BmcSchema, { address: m.bmc_address, username: m.bmc_username, credentialsSet: m.has_bmc_secret, rotatedAt: time(m.bmc_rotated_at) }),
    allocation: a
      ? create(AllocationSchema, {
          project: a.project,
          role: a.role,
          hostname: a.hostname,
          name: a.name,
          description: a.description,
          image: a.image,
          asn: a.asn,
          sshPublicKeys: a.ssh_public_keys,
          allocatedAt: time(a.allocated_at),
          installedAt: time(a.installed_at),
          installationChange: a.installation_change,
          networks: networks.map(({ network, role, ips, projectIps }) =>
            create(MachineNetworkSchema, {
              network: network.id,
              role,
              type: network.type,
              project: network.project,
              prefixes: network.prefixes,
              destinationPrefixes: network.destinationPrefixes,
              ips,
              vrf: network.vrf,
              natType: network.natType,
              projectIps: projectIps ?? [],
            }),
          ),
        })
      : undefined,
    createdAt: time(m.created_at),
    updatedAt: time(m.updated_at),
  });
}

export const imageMessage = (i: ImageRow): Image =>
  create(ImageSchema, { name: i.name, description: i.description, url: i.url, checksum: create(ChecksumSchema, { algorithm: i.checksum_algorithm, digest: i.checksum_digest }), createdAt: time(i.created_at) });
