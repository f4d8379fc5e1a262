// Fabrics for the fabric lab, built through the public RPCs of a running control plane: a
// partition with racks of two leaves (the `a` leaf runs Cumulus, the `b` leaf SONiC), spines, an
// exit switch, machines registered with their LLDP
// neighbors, projects, networks, peerings, firewalls and policies. `labInput` waits until the
// reconciler has rendered everything and returns what it would push, with the records.
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { NetworkPolicyService, Protocol } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SwitchRole, SwitchService } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IPService } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NetworkService, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { ProjectService } from "@bulkhead/api/gen/bulkhead/network/v1/project_pb.js";
import { PeeringService, PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { FABRIC_CHANGES_QUEUE } from "@bulkhead/db";
import { testValkeyUrl } from "@bulkhead/db/testing";
import type { LabInput } from "@bulkhead/lab";
import { createServiceClient } from "@bulkhead/service-kit";
import { Rng } from "@bulkhead/testkit";
import { DeviceKind } from "../src/store.js";
import { labInputOf } from "../src/lab.js";
import { readRecords, type PartitionRecords } from "../src/records.js";
import type { Stack } from "./harness.js";

const LEAF_PORTS = ["swp1", "swp2", "swp3", "swp4", "swp5", "swp6", "swp7", "swp8", "swp31", "swp32"];
/** The same ports on SONiC, in the same order (the same LLDP identifiers). */
const SONIC_LEAF_PORTS = ["Ethernet0", "Ethernet4", "Ethernet8", "Ethernet12", "Ethernet16", "Ethernet20", "Ethernet24", "Ethernet28", "Ethernet120", "Ethernet124"];
const EXIT_PORTS = ["swp1", "swp2", "swp3", "swp4", "swp31", "swp32"];
const uplink = (port: string) => ["swp31", "swp32", "Ethernet120", "Ethernet124"].includes(port);
const CUMULUS = { vendor: "Cumulus", version: "5.9.1" };
const SONIC = { vendor: "SONiC", version: "202411" };

export interface NetworkHandle {
  id: string;
  vrf: number;
  prefixes: string[];
}

export interface PartitionOptions {
  racks: number;
  spines?: number;
  exit?: boolean;
  /** IPv4 only (default) or dual stack. */
  dualStack?: boolean;
}

/**
 * A partition of its own in the stack, numbered `k` (1…): super 10.k.0.0/16 (and 2001:db8:k::/48
 * dual stack), underlay 10.(100+k).0.0/16 holding every loopback, leaves `<p>-r<R>a|b`.
 */
export class ScenarioPartition {
  private readonly admin: string;
  private machines = 0;
  private readonly free = new Map<number, number>();

  private constructor(
    readonly stack: Stack,
    readonly id: string,
    readonly k: number,
    readonly options: PartitionOptions,
  ) {
    this.admin = stack.f.admin;
  }

  static async create(stack: Stack, id: string, k: number, options: PartitionOptions): Promise<ScenarioPartition> {
    const p = new ScenarioPartition(stack, id, k, options);
    const f = stack.f;
    await f.network.client(PartitionService, f.admin).createPartition({ id, name: id });
    await f.networks.createNetwork({ id: `${id}-super`, name: "super", type: NetworkType.SUPER, partition: id, prefixes: [`10.${k}.0.0/16`, ...(options.dualStack ? [`2001:db8:${k}::/48`] : [])], defaultChildPrefixLength: { ipv4: 24, ipv6: 64 } });
    await f.networks.createNetwork({ id: `${id}-underlay`, name: "underlay", type: NetworkType.UNDERLAY, partition: id, prefixes: [`10.${100 + k}.0.0/16`] });
    const register = async (device: string, rack: string, role: SwitchRole, n: number, ports: string[], os = CUMULUS) => {
      const agent = f.inventory.client(SwitchService, await f.inventory.agentToken(device));
      await agent.registerSwitch({ device, partition: id, rack, role, asn: 4200000000 + k * 100 + n, routerId: `10.${100 + k}.255.${n}`, os, agentVersion: "test", ports: ports.map((name, i) => ({ name, identifier: `Eth1/${i + 1}`, mtu: 9216, uplink: role === SwitchRole.SPINE || uplink(name) })) });
    };
    for (let s = 1; s <= (options.spines ?? 1); s++) await register(`${id}-spine${s}`, "r0", SwitchRole.SPINE, s, ["swp1", "swp2", "swp3", "swp4", "swp5", "swp6", "swp7", "swp8", "swp9", "swp10"]);
    for (let r = 1; r <= options.racks; r++) {
      await register(p.leaf(r, "a"), `r${r}`, SwitchRole.LEAF, 10 + 2 * r, LEAF_PORTS);
      await register(p.leaf(r, "b"), `r${r}`, SwitchRole.LEAF, 11 + 2 * r, SONIC_LEAF_PORTS, SONIC);
      p.free.set(r, 1);
    }
    if (options.exit) await register(p.exit, "r0", SwitchRole.EXIT, 9, EXIT_PORTS);
    return p;
  }

  leaf(rack: number, side: "a" | "b"): string {
    return `${this.id}-r${rack}${side}`;
  }

  get exit(): string {
    return `${this.id}-exit`;
  }

  async project(name: string): Promise<string> {
    return (await this.stack.f.network.client(ProjectService, this.admin).createProject({ tenant: "acme", name: `${this.id}-${name}` })).project!.id;
  }

  async network(project: string, name: string, options: { shared?: boolean; dmz?: boolean } = {}): Promise<NetworkHandle> {
    const client = this.stack.f.network.client(NetworkService, await this.stack.f.network.projectToken(project, "editor"));
    const n = (await client.allocateNetwork({ project, partition: this.id, name, shared: options.shared ?? false, dmz: options.dmz ?? false, addressFamily: this.options.dualStack ? AddressFamily.UNSPECIFIED : AddressFamily.IPV4 })).network!;
    return { id: n.id, vrf: n.vrf, prefixes: n.prefixes };
  }

  async peer(project: string, a: string, b: string): Promise<string> {
    const client = this.stack.peering.client(PeeringService, await this.stack.peering.projectToken(project, "editor"));
    return (await client.createPeering({ project, name: `${a}-${b}`.slice(0, 60), type: PeeringType.LOCAL, network1: a, network2: b })).peering!.id;
  }

  /** An external BGP session on the exit switch (as an admin), the peer allowed to announce `remotePrefixes`. */
  async externalSession(project: string, network: string, port: string, n: number, remotePrefixes: string[]): Promise<string> {
    const client = this.stack.peering.client(PeeringService, this.admin);
    return (await client.createPeering({ project, name: `uplink-${port}`, type: PeeringType.EXTERNAL, network1: network, bgp: { switch: this.exit, port, local: { asn: 4200000000 + this.k * 100 + 9, address: `172.16.${this.k}.${4 * n + 1}/30` }, remote: { asn: 65000 + n, address: `172.16.${this.k}.${4 * n + 2}/30` }, remotePrefixes } })).peering!.id;
  }

  private async register(rack: number): Promise<string> {
    const port = this.free.get(rack)!;
    if (port > 8) throw new Error(`rack ${rack} of ${this.id} is full`);
    this.free.set(rack, port + 1);
    const id = `${this.id}-m${++this.machines}`;
    await this.stack.f.register(id, [[this.leaf(rack, "a"), LEAF_PORTS[port - 1]!], [this.leaf(rack, "b"), SONIC_LEAF_PORTS[port - 1]!]]);
    return id;
  }

  /** Registers, allocates and installs a machine in `rack` with its networks (the first its own). */
  async machine(project: string, rack: number, networks: string[]): Promise<string> {
    const id = await this.register(rack);
    const editor = this.stack.f.inventory.client(MachineService, await this.stack.f.inventory.projectToken(project, "editor"));
    await editor.allocateMachine({ project, partition: this.id, machine: id, hostname: id, image: "ubuntu-24-04", networks: networks.map((network) => ({ network, autoAcquire: true })) });
    await this.stack.f.inventory.client(MachineService, await this.stack.f.inventory.agentToken(id)).reportInstallation({ device: id, succeeded: true });
    return id;
  }

  async firewall(project: string, rack: number, networks: string[]): Promise<string> {
    const id = await this.register(rack);
    const editor = this.stack.f.inventory.client(MachineService, await this.stack.f.inventory.projectToken(project, "editor"));
    await editor.allocateFirewall({ project, partition: this.id, machine: id, hostname: id, image: "ubuntu-24-04", networks: networks.map((network) => ({ network, autoAcquire: true })) });
    await this.stack.f.inventory.client(MachineService, await this.stack.f.inventory.agentToken(id)).reportInstallation({ device: id, succeeded: true });
    return id;
  }

  /** A policy on a firewall: egress and ingress rules as (cidr, tcp ports). */
  async policy(project: string, firewall: string, name: string, rules: { egress?: [string, number[]][]; ingress?: [string, number[]][] }): Promise<void> {
    const client = this.stack.policy.client(NetworkPolicyService, await this.stack.policy.projectToken(project, "editor"));
    const ports = (list: number[]) => list.map((port) => ({ protocol: Protocol.TCP, port, endPort: 0 }));
    await client.createPolicy({ project, spec: { name, firewall, egress: (rules.egress ?? []).map(([cidr, p]) => ({ to: [{ cidr, except: [] }], ports: ports(p) })), ingress: (rules.ingress ?? []).map(([cidr, p]) => ({ from: [{ cidr, except: [] }], ports: ports(p) })) } });
  }

  /** The partition's records, read as the reconciler reads them. */
  async records(): Promise<PartitionRecords> {
    const s = this.stack;
    const admin = this.admin;
    return readRecords(
      {
        networks: createServiceClient(NetworkService, { baseUrl: s.f.network.url, token: admin, protocol: "grpc" }),
        ips: createServiceClient(IPService, { baseUrl: s.f.network.url, token: admin, protocol: "grpc" }),
        peering: createServiceClient(PeeringService, { baseUrl: s.peering.url, token: admin, protocol: "grpc" }),
        switches: createServiceClient(SwitchService, { baseUrl: s.f.inventory.url, token: admin, protocol: "grpc" }),
        machines: createServiceClient(MachineService, { baseUrl: s.f.inventory.url, token: admin, protocol: "grpc" }),
        policies: createServiceClient(NetworkPolicyService, { baseUrl: s.policy.url, token: admin, protocol: "grpc" }),
      },
      this.id,
    );
  }

  /** Waits for the reconciler to render everything, then returns what it would push, with the records. */
  async labInput(): Promise<LabInput> {
    await settle(this.stack);
    const s = this.stack;
    const records = await this.records();
    const kinds: Partial<Record<number, "leaf" | "exit" | "firewall">> = { [DeviceKind.Leaf]: "leaf", [DeviceKind.Exit]: "exit", [DeviceKind.Firewall]: "firewall" };
    const devices = [];
    for (const status of (await s.fabric.listDeviceStatuses({ partition: this.id })).statuses) {
      const kind = kinds[status.kind];
      if (!kind || status.desiredGeneration === 0n) continue;
      const { revision } = await s.fabric.getRevision({ device: status.device, generation: status.desiredGeneration });
      devices.push({ device: status.device, kind, files: revision!.files.map((f) => ({ path: f.path, content: f.content })) });
    }
    return labInputOf(records, devices);
  }
}

/**
 * Waits until the reconciler is idle: no change event or render queued or running, and no
 * device's desired revision changed for a second.
 */
export async function settle(stack: Stack, ms = 60_000): Promise<void> {
  const redis = new Redis(testValkeyUrl(), { maxRetriesPerRequest: null });
  const queues = [FABRIC_CHANGES_QUEUE, "render"].map((name) => new Queue(name, { connection: redis, prefix: stack.env.BULKHEAD_QUEUE_PREFIX }));
  try {
    let last = "";
    let quiet = 0;
    await stack.until(
      async () => {
        const counts = await Promise.all(queues.map((q) => q.getJobCounts("waiting", "active", "delayed", "prioritized", "waiting-children")));
        const busy = counts.some((c) => Object.values(c).some((n) => n > 0));
        const state = JSON.stringify((await stack.fabric.listDeviceStatuses({})).statuses.map((d) => [d.device, d.desiredHash, d.lastError]));
        quiet = !busy && state === last ? quiet + 1 : 0;
        last = state;
        return quiet >= 8;
      },
      "the reconciler to render every change",
      ms,
    );
  } finally {
    await Promise.all(queues.map((q) => q.close()));
    redis.disconnect();
  }
}

/** The handles of `threeProjects`: networks, machines and firewalls by their role in it. */
export interface ThreeProjects {
  partition: ScenarioPartition;
  nets: Record<"a1" | "a2" | "a3" | "b1" | "bs" | "c1" | "c2" | "c3" | "dmz", NetworkHandle>;
  machines: Record<"a1" | "a1b" | "a2" | "a3" | "b1" | "bs" | "c1" | "c2" | "c3", string>;
  /** The DMZ firewall (c2, the DMZ, the internet) and the application firewall (c3, the DMZ). */
  edge: string;
  app: string;
}

/**
 * Three projects: A's chain a1–a2–a3 with a1 on the internet, B's network with its own external
 * peer and B's shared storage that a1 and C's c1 both use, C's DMZ with its firewall and an
 * application cluster behind a second firewall, the internet on the exit switch.
 */
export async function threeProjects(stack: Stack, id: string, k: number): Promise<ThreeProjects> {
  const p = await ScenarioPartition.create(stack, id, k, { racks: 2, exit: true, spines: 2 });
  const ops = await p.project("ops");
  await p.externalSession(ops, "internet", "swp1", 0, ["0.0.0.0/0"]);
  const [a, b, c] = [await p.project("a"), await p.project("b"), await p.project("c")];
  const nets = {
    a1: await p.network(a, "a1"),
    a2: await p.network(a, "a2"),
    a3: await p.network(a, "a3"),
    b1: await p.network(b, "b1"),
    bs: await p.network(b, "bs", { shared: true }),
    c1: await p.network(c, "c1"),
    c2: await p.network(c, "c2"),
    c3: await p.network(c, "c3"),
    dmz: await p.network(c, "cdmz", { dmz: true }),
  };
  await p.peer(a, nets.a1.id, nets.a2.id);
  await p.peer(a, nets.a2.id, nets.a3.id);
  await p.peer(a, nets.a1.id, "internet");
  await p.peer(a, nets.a1.id, nets.bs.id);
  await p.peer(c, nets.c1.id, nets.bs.id);
  await p.peer(c, nets.c1.id, "internet");
  await p.externalSession(b, nets.b1.id, "swp2", 1, ["192.168.50.0/24"]);
  const machines = {
    a1: await p.machine(a, 1, [nets.a1.id, "internet"]),
    a1b: await p.machine(a, 2, [nets.a1.id]),
    a2: await p.machine(a, 1, [nets.a2.id]),
    a3: await p.machine(a, 2, [nets.a3.id]),
    b1: await p.machine(b, 1, [nets.b1.id]),
    bs: await p.machine(b, 2, [nets.bs.id]),
    c1: await p.machine(c, 1, [nets.c1.id, "internet"]),
    c2: await p.machine(c, 2, [nets.c2.id]),
    c3: await p.machine(c, 1, [nets.c3.id]),
  };
  const edge = await p.firewall(c, 2, [nets.c2.id, nets.dmz.id, "internet"]);
  const app = await p.firewall(c, 1, [nets.c3.id, nets.dmz.id]);
  await p.policy(c, edge, "edge-out", { egress: [["0.0.0.0/0", [443]]] });
  await p.policy(c, app, "app-out", { egress: [["0.0.0.0/0", [443]]] });
  return { partition: p, nets, machines, edge, app };
}

/**
 * A random fabric from a seed: 2–3 projects with 1–3 private networks each, some shared, maybe a
 * DMZ; peerings of every kind the rules allow (private pairs of a project, a private network and a
 * shared one of any project, a private network and the internet); machines in random racks;
 * firewalls of a project's private network with shared and external networks, and egress
 * policies. `describe` says what was built (printed with the seed when a test fails).
 */
export async function randomFabric(stack: Stack, id: string, k: number, seed: number): Promise<{ partition: ScenarioPartition; describe: string[] }> {
  const rng = new Rng(seed);
  const p = await ScenarioPartition.create(stack, id, k, { racks: 2, exit: true });
  const describe: string[] = [`seed ${seed}`];
  const ops = await p.project("ops");
  await p.externalSession(ops, "internet", "swp1", 0, ["0.0.0.0/0"]);
  const projects: { id: string; privates: NetworkHandle[]; shared: NetworkHandle[] }[] = [];
  const names = new Map<string, string>([["internet", "internet"]]);
  const named = async (handle: Promise<NetworkHandle>, name: string) => {
    const n = await handle;
    names.set(n.id, name);
    return n;
  };
  for (let j = 0; j < 2 + rng.int(2); j++) {
    const project = await p.project(`p${j}`);
    const privates = [];
    const shared = [];
    for (let n = 0; n < 1 + rng.int(3); n++) privates.push(await named(p.network(project, `p${j}n${n}`), `p${j}n${n}`));
    if (rng.next() < 0.5) shared.push(await named(p.network(project, `p${j}s`, { shared: true }), `p${j}s`));
    if (rng.next() < 0.3) shared.push(await named(p.network(project, `p${j}dmz`, { dmz: true }), `p${j}dmz`));
    projects.push({ id: project, privates, shared });
    describe.push(`project p${j}: ${[...privates, ...shared].map((n) => names.get(n.id)).join(", ")}`);
  }
  const allShared = projects.flatMap((x) => x.shared);
  const peered = new Set<string>();
  const peer = async (project: string, a: string, b: string) => {
    const key = [a, b].sort().join("|");
    if (a === b || peered.has(key)) return;
    peered.add(key);
    await p.peer(project, a, b);
    describe.push(`peering ${names.get(a)}–${names.get(b)}`);
  };
  for (const x of projects) {
    for (const [n, net] of x.privates.entries()) {
      if (n > 0 && rng.next() < 0.6) await peer(x.id, x.privates[n - 1]!.id, net.id);
      if (rng.next() < 0.4) await peer(x.id, net.id, "internet");
      if (allShared.length > 0 && rng.next() < 0.5) await peer(x.id, net.id, rng.pick(allShared).id);
    }
  }
  let slots = 14;
  for (const [j, x] of projects.entries()) {
    for (const net of x.privates) {
      for (let m = rng.int(3); m > 0 && slots > 2; m--, slots--) {
        const attach = rng.next() < 0.3 ? [net.id, "internet"] : [net.id];
        await p.machine(x.id, 1 + rng.int(2), attach);
        describe.push(`machine in ${names.get(net.id)}${attach.length > 1 ? " with a public address" : ""}`);
      }
    }
    for (const sh of x.shared) {
      if (slots > 2 && rng.next() < 0.5) {
        await p.machine(x.id, 1 + rng.int(2), [sh.id]);
        slots--;
        describe.push(`machine in ${names.get(sh.id)}`);
      }
    }
    if (slots > 0 && rng.next() < 0.5) {
      const primary = rng.pick(x.privates);
      const extra = [...allShared.filter(() => rng.next() < 0.5).map((sh) => sh.id), ...(rng.next() < 0.7 ? ["internet"] : [])];
      const fw = await p.firewall(x.id, 1 + rng.int(2), [primary.id, ...new Set(extra)]);
      slots--;
      await p.policy(x.id, fw, `out-${j}`, { egress: [["0.0.0.0/0", [rng.pick([443, 80, 53])]]], ...(rng.next() < 0.5 ? { ingress: [["0.0.0.0/0", [22]]] } : {}) });
      describe.push(`firewall of ${names.get(primary.id)} with ${[...new Set(extra)].map((e) => names.get(e)).join(", ") || "nothing else"}`);
    }
  }
  return { partition: p, describe };
}
