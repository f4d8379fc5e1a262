// Rows → protobuf messages, and options from protobuf.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { FirewallOptionsSchema, NetworkPolicySchema, Protocol, type FirewallOptions as OptionsMessage, type NetworkPolicy } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import type { FirewallOptions, PolicyRule } from "@bulkhead/render";
import type { PolicyRow } from "./store.js";

const ports = (rule: PolicyRule) => rule.ports.map((p) => ({ protocol: p.protocol === "udp" ? Protocol.UDP : Protocol.TCP, port: p.port, endPort: p.endPort }));

export const policyMessage = (p: PolicyRow): NetworkPolicy =>
  create(NetworkPolicySchema, {
    id: p.id,
    project: p.project,
    name: p.name,
    description: p.description,
    firewall: p.firewall ?? "",
    network: p.network ?? "",
    ingress: p.ingress.map((r) => ({ from: r.peers, ports: ports(r) })),
    egress: p.egress.map((r) => ({ to: r.peers, ports: ports(r) })),
    status: { state: p.state as number, reason: p.reason, firewalls: p.firewalls, compiles: p.compiles, updatedAt: timestampFromDate(p.status_at) },
    createdAt: timestampFromDate(p.created_at),
    updatedAt: timestampFromDate(p.updated_at),
  });

export const optionsMessage = (o: FirewallOptions): OptionsMessage =>
  create(FirewallOptionsSchema, {
    rateLimits: o.rateLimits.map((l) => ({ network: l.network, bytesPerSecond: BigInt(l.bytesPerSecond) })),
    logAcceptedConnections: o.logAcceptedConnections,
    sshAllowedFrom: o.sshAllowedFrom,
    snat: o.snat,
  });

export const optionsOf = (o: OptionsMessage): FirewallOptions => ({
  rateLimits: o.rateLimits.map((l) => ({ network: l.network, bytesPerSecond: Number(l.bytesPerSecond) })),
  logAcceptedConnections: o.logAcceptedConnections,
  sshAllowedFrom: o.sshAllowedFrom,
  snat: o.snat.map((s) => ({ network: s.network, ips: s.ips })),
});
