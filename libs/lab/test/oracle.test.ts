// The oracle states Bulkhead's promise from the records alone; each rule here is a line of the
// README's peering, DMZ and firewall sections.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Oracle, type LabRecords, type Packet, type RecordNetwork } from "../src/index.js";

const net = (id: string, project: string, prefixes: string[], extra: Partial<RecordNetwork> = {}): RecordNetwork => ({ id, project, kind: "private", vrf: 0, prefixes, destinationPrefixes: [], nat: false, ...extra });
const internet = net("internet", "", ["185.1.2.0/24"], { kind: "external", destinationPrefixes: ["0.0.0.0/0"], nat: true });

const records: LabRecords = {
  networks: [
    internet,
    net("a1", "A", ["10.1.1.0/24"]),
    net("a2", "A", ["10.1.2.0/24"]),
    net("a3", "A", ["10.1.3.0/24"]),
    net("c1", "C", ["10.3.1.0/24"]),
    net("storage", "B", ["10.2.9.0/24"], { kind: "shared" }),
    net("web", "D", ["10.4.1.0/24"]),
    net("dmz", "D", ["10.4.9.0/24"], { kind: "shared", destinationPrefixes: ["0.0.0.0/0"], nat: true }),
    net("app", "E", ["10.5.1.0/24"]),
    net("underlay", "", ["10.255.0.0/16"], { kind: "underlay" }),
  ],
  peerings: [
    { id: "p1", network1: "a1", network2: "a2" },
    { id: "p2", network1: "a2", network2: "a3" },
    { id: "p3", network1: "a1", network2: "internet" },
    { id: "p4", network1: "c1", network2: "internet" },
    { id: "p5", network1: "a1", network2: "storage" },
    { id: "p6", network1: "c1", network2: "storage" },
  ],
  machines: [
    { id: "ma1", project: "A", role: "machine", networks: ["a1", "internet"], ips: [{ network: "a1", address: "10.1.1.10" }, { network: "internet", address: "185.1.2.7" }] },
    { id: "mc1", project: "C", role: "machine", networks: ["c1", "internet"], ips: [{ network: "c1", address: "10.3.1.10" }, { network: "internet", address: "185.1.2.8" }] },
    { id: "mweb", project: "D", role: "machine", networks: ["web"], ips: [{ network: "web", address: "10.4.1.10" }] },
    { id: "fw-edge", project: "D", role: "firewall", networks: ["web", "dmz", "internet", "underlay"], ips: [{ network: "web", address: "10.4.1.1" }, { network: "dmz", address: "10.4.9.1" }, { network: "internet", address: "185.1.2.1" }] },
    { id: "mapp", project: "E", role: "machine", networks: ["app"], ips: [{ network: "app", address: "10.5.1.10" }] },
    { id: "fw-app", project: "E", role: "firewall", networks: ["app", "dmz", "underlay"], ips: [{ network: "app", address: "10.5.1.1" }, { network: "dmz", address: "10.4.9.2" }] },
  ],
  policies: [
    { firewall: "fw-edge", name: "out", ingress: [{ peers: [{ cidr: "0.0.0.0/0", except: [] }], ports: [{ protocol: "tcp", from: 80, to: 80 }] }], egress: [{ peers: [], ports: [{ protocol: "tcp", from: 443, to: 443 }] }] },
    { firewall: "fw-app", name: "out", ingress: [], egress: [{ peers: [{ cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] }], ports: [{ protocol: "tcp", from: 443, to: 443 }] }] },
  ],
};

const oracle = new Oracle(records);
const tcp = (src: string, dst: string, port = 443): Packet => ({ src, dst, protocol: "tcp", port });
const from = (network: string) => ({ kind: "machine" as const, machine: "x", network });
const allowed = (network: string, p: Packet) => oracle.allowed(from(network), p).allowed;

const test = suite("oracle");

test("a network reaches itself and its direct peers, never a peer's peer", () => {
  assert.ok(allowed("a1", tcp("10.1.1.10", "10.1.1.20")));
  assert.ok(allowed("a1", tcp("10.1.1.10", "10.1.2.20")));
  assert.ok(allowed("a2", tcp("10.1.2.10", "10.1.3.20")));
  assert.not.ok(allowed("a1", tcp("10.1.1.10", "10.1.3.20")), "a1–a2–a3 does not join a1 and a3");
});

test("two projects peered with the internet meet only at their published addresses", () => {
  assert.not.ok(allowed("a1", tcp("10.1.1.10", "10.3.1.10")), "C's private address is not on the internet");
  assert.ok(allowed("a1", tcp("10.1.1.10", "185.1.2.8")), "C's published address is");
  assert.ok(allowed("a1", tcp("10.1.1.10", "198.51.100.10")), "and so is the outside");
  assert.not.ok(allowed("a2", tcp("10.1.2.10", "198.51.100.10")), "a2 is not peered with the internet");
  assert.ok(oracle.allowed({ kind: "outside", network: "internet" }, tcp("198.51.100.10", "185.1.2.7")).allowed);
  assert.not.ok(oracle.allowed({ kind: "outside", network: "internet" }, tcp("198.51.100.10", "10.1.1.10")).allowed);
});

test("a shared network joins each of its peers to itself, not to each other", () => {
  assert.ok(allowed("a1", tcp("10.1.1.10", "10.2.9.5")));
  assert.ok(allowed("storage", tcp("10.2.9.5", "10.3.1.10")));
  assert.not.ok(allowed("a1", tcp("10.1.1.10", "10.3.1.10")));
});

test("through a firewall: egress and ingress as its policies say, NAT to its address", () => {
  assert.ok(allowed("web", tcp("10.4.1.10", "198.51.100.10", 443)));
  assert.not.ok(allowed("web", tcp("10.4.1.10", "198.51.100.10", 22)));
  assert.ok(allowed("dmz", tcp("10.4.9.20", "10.4.1.10", 80)), "ingress from an attached network");
  assert.not.ok(allowed("dmz", tcp("10.4.9.20", "10.4.1.10", 22)));
});

test("a private-only cluster leaves through its firewall into the DMZ and out through the DMZ's firewall", () => {
  assert.ok(allowed("app", tcp("10.5.1.10", "198.51.100.10", 443)));
  assert.not.ok(allowed("app", tcp("10.5.1.10", "198.51.100.10", 80)), "the DMZ firewall's egress does not admit 80");
  assert.not.ok(allowed("app", tcp("10.5.1.10", "10.4.1.10", 443)), "the app firewall's egress excepts 10/8");
});

test("the DMZ's own machines leave through the DMZ's firewall; another project's firewall on the DMZ is no exit", () => {
  assert.ok(allowed("dmz", tcp("10.4.9.20", "198.51.100.10", 443)), "fw-edge (D's) admits 443 out of D's DMZ");
  assert.not.ok(allowed("dmz", tcp("10.4.9.20", "198.51.100.10", 80)));
  const foreign = new Oracle({ ...records, machines: records.machines.map((m) => (m.id === "fw-edge" ? { ...m, project: "X", networks: ["dmz", "internet", "underlay"] } : m)) });
  assert.not.ok(foreign.allowed(from("dmz"), tcp("10.4.9.20", "198.51.100.10", 443)).allowed, "a firewall of project X attached to D's DMZ and the internet");
  assert.not.ok(foreign.allowed(from("app"), tcp("10.5.1.10", "198.51.100.10", 443)).allowed, "nor for the clusters behind the DMZ");
});

test("a firewall of a network attached to an external network governs the way there: the network's peering with it stands aside", () => {
  const governed = new Oracle({ ...records, machines: [...records.machines, { id: "fw-a1", project: "A", role: "firewall", networks: ["a1", "internet", "underlay"], ips: [{ network: "a1", address: "10.1.1.1" }, { network: "internet", address: "185.1.2.9" }] }] });
  assert.ok(oracle.allowed(from("a1"), tcp("10.1.1.10", "198.51.100.10", 22)).allowed, "peered: every port");
  assert.not.ok(governed.allowed(from("a1"), tcp("10.1.1.10", "198.51.100.10", 22)).allowed, "with the firewall (no policy): none");
  assert.not.ok(governed.peered("a1", "internet"));
  assert.ok(governed.peered("a1", "a2"), "private peerings stay");
});

test("nobody reaches the underlay", () => {
  for (const n of ["a1", "web", "app", "storage"]) assert.not.ok(allowed(n, tcp("10.0.0.1", "10.255.0.7")), n);
});

test.run();
