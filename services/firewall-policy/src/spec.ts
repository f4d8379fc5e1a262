// A policy as the caller wrote it → the compiler's rules, checking what the contract cannot:
// prefixes without host bits, exceptions inside their block. Pure.
import { InvalidArgumentError } from "@bulkhead/service-kit";
import { contains, formatPrefix, parsePrefix } from "@bulkhead/netaddr";
import { Protocol, type PolicySpec } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import type { Peer, PolicyRule, PortMatch } from "@bulkhead/render";

export interface PolicyDraft {
  name: string;
  description: string;
  firewall: string | null;
  network: string | null;
  ingress: PolicyRule[];
  egress: PolicyRule[];
}

function cidrOf(field: string, text: string) {
  const loose = parsePrefix(text);
  if (!loose) throw new InvalidArgumentError(field, `${text} is not a prefix`);
  if (!parsePrefix(text, { strict: true })) throw new InvalidArgumentError(field, `${text} has host bits set; the block is ${formatPrefix(loose)}`);
  return loose;
}

function peersOf(field: string, peers: readonly { cidr: string; except: string[] }[]): Peer[] {
  return peers.map((peer, j) => {
    const block = cidrOf(`${field}.${j}.cidr`, peer.cidr);
    peer.except.forEach((text, k) => {
      const carved = cidrOf(`${field}.${j}.except.${k}`, text);
      if (!contains(block, carved) || carved.length === block.length) throw new InvalidArgumentError(`${field}.${j}.except.${k}`, `${text} is not a block inside ${peer.cidr}`);
    });
    return { cidr: peer.cidr, except: peer.except };
  });
}

const portsOf = (ports: readonly { protocol: Protocol; port: number; endPort: number }[]): PortMatch[] =>
  ports.map((p) => ({ protocol: p.protocol === Protocol.UDP ? "udp" : "tcp", port: p.port, endPort: p.endPort }));

export function draftOf(spec: PolicySpec): PolicyDraft {
  return {
    name: spec.name,
    description: spec.description,
    firewall: spec.firewall || null,
    network: spec.network || null,
    ingress: spec.ingress.map((rule, i) => ({ peers: peersOf(`spec.ingress.${i}.from`, rule.from), ports: portsOf(rule.ports) })),
    egress: spec.egress.map((rule, i) => ({ peers: peersOf(`spec.egress.${i}.to`, rule.to), ports: portsOf(rule.ports) })),
  };
}
