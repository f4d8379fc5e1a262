// Firewall models the golden and packet tests compile. The addresses match the namespaces the
// packet test builds: tenant 10.0.0.0/22 behind vrf12, internet 185.1.2.0/24 behind vrf104009,
// a DMZ 10.0.4.0/22 behind vrf20.
import { noOptions, type FirewallModel, type FirewallNetwork, type Policy } from "../src/index.js";

export const tenantNetwork: FirewallNetwork = { id: "tenant", role: "primary", vrf: 12, prefixes: ["10.0.0.0/22", "2001:db8:0:1::/64"], destinationPrefixes: [], nat: false, dmz: false, ips: ["10.0.0.1", "2001:db8:0:1::1"], projectIps: [] };
export const internet: FirewallNetwork = { id: "internet", role: "external", vrf: 104009, prefixes: ["185.1.2.0/24", "2001:db8:ffff::/64"], destinationPrefixes: ["0.0.0.0/0", "::/0"], nat: true, dmz: false, ips: ["185.1.2.1", "2001:db8:ffff::1"], projectIps: [] };
export const dmz: FirewallNetwork = { id: "dmz", role: "shared", vrf: 20, prefixes: ["10.0.4.0/22"], destinationPrefixes: ["0.0.0.0/0"], nat: true, dmz: true, ips: ["10.0.4.1"], projectIps: [] };
export const underlay: FirewallNetwork = { id: "underlay", role: "underlay", vrf: 0, prefixes: ["10.255.0.0/24"], destinationPrefixes: [], nat: false, dmz: false, ips: ["10.255.0.7"], projectIps: [] };

const tcp = (port: number, endPort = 0) => ({ protocol: "tcp" as const, port, endPort });
const udp = (port: number, endPort = 0) => ({ protocol: "udp" as const, port, endPort });

export const policies: Policy[] = [
  { id: "p-web", name: "web-out", ingress: [], egress: [{ peers: [], ports: [tcp(443)] }] },
  { id: "p-udp", name: "udp-range", ingress: [], egress: [{ peers: [{ cidr: "185.1.2.0/24", except: [] }], ports: [udp(5000, 5010)] }] },
  { id: "p-except", name: "except", ingress: [], egress: [{ peers: [{ cidr: "185.1.2.0/24", except: ["185.1.2.100/32"] }], ports: [tcp(8080)] }] },
  { id: "p-service", name: "service-in", ingress: [{ peers: [{ cidr: "185.1.2.0/24", except: [] }], ports: [tcp(80)] }], egress: [] },
  { id: "p-v6", name: "v6-out", ingress: [], egress: [{ peers: [{ cidr: "2001:db8:ffff::/64", except: [] }], ports: [tcp(8443)] }] },
  { id: "p-dmz", name: "to-dmz", ingress: [], egress: [{ peers: [{ cidr: "10.0.4.0/22", except: [] }], ports: [tcp(9000)] }] },
];

/** A firewall with no policies: everything forwarded is dropped, private sources masqueraded. */
export const bare: FirewallModel = { id: "fw-bare", networks: [tenantNetwork, internet, underlay], policies: [], options: noOptions };

/** The packet test's firewall. */
export const tenant: FirewallModel = { id: "fw-tenant", networks: [tenantNetwork, internet, dmz, underlay], policies, options: noOptions };

/** Every option, several SNAT addresses, literal "any" rules and mixed families. */
export const everything: FirewallModel = {
  id: "fw-everything",
  networks: [underlay, dmz, internet, tenantNetwork],
  policies: [
    ...policies,
    { id: "p-any", name: "anything-out", ingress: [], egress: [{ peers: [], ports: [] }] },
    {
      id: "p-mixed",
      name: "mixed",
      ingress: [{ peers: [{ cidr: "2001:db8:ffff::/64", except: [] }, { cidr: "185.1.2.0/24", except: [] }, { cidr: "0.0.0.0/0", except: ["185.1.2.0/24", "10.0.4.0/22"] }], ports: [tcp(22), udp(0), tcp(8000, 8100), tcp(443)] }],
      egress: [],
    },
  ],
  options: { rateLimits: [{ network: "internet", bytesPerSecond: 10485760 }, { network: "dmz", bytesPerSecond: 10000000000 }], logAcceptedConnections: true, sshAllowedFrom: ["2001:db8:aaaa::/48", "192.0.2.0/24"], snat: [{ network: "internet", ips: ["185.1.2.11", "185.1.2.10"] }, { network: "dmz", ips: ["10.0.4.1"] }] },
};

export const models = { bare, tenant, everything };
