// The commands: each names its flags, calls one RPC (a few call two) and says how to print the
// answer. Modelled on metalctl: `bulkhead <resource> <verb> [args] [flags]`.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Code } from "@connectrpc/connect";
import { create, fromJson, type JsonValue, type Message } from "@bufbuild/protobuf";
import { StringValueSchema, timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ListAuditEventsResponseSchema, type AuditEvent } from "@bulkhead/api/gen/bulkhead/audit/v1/audit_pb.js";
import { parse } from "yaml";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { SyncState } from "@bulkhead/api/gen/bulkhead/fabric/v1/desired_state_pb.js";
import { PolicySpecSchema } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { MachineRole } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { PortState } from "@bulkhead/api/gen/bulkhead/inventory/v1/switch_pb.js";
import { IPType } from "@bulkhead/api/gen/bulkhead/network/v1/ip_pb.js";
import { NatType, NetworkType } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { PeeringType } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import { SERVERS, type Bulkhead, type Server } from "@bulkhead/sdk";
import { UsageError, wholeNumber } from "./numbers.js";
import { everyPage } from "./pages.js";
import type { CliConfig } from "./config.js";
import type { Column } from "./output.js";

export type Flags = Record<string, string | boolean | string[] | undefined>;

export interface Answer {
  message: Message;
  /** For tables: plain text instead (diffs). */
  text?: string;
  /** The answer is a negative result (e.g. findings): exit 1 after printing it. */
  failed?: boolean;
  /** For tables: the repeated (or single) field to list and its columns. */
  list?: { field: string; columns: Column[] };
}

export interface Command {
  path: string[];
  summary: string;
  args?: string[];
  flags?: Record<string, { type: "string" | "boolean"; multiple?: boolean; description: string; required?: boolean }>;
  /** Changes the fabric: `--wait` waits for it to converge. */
  mutates?: boolean;
  /**
   * With `--wait`, once the call's own changes converged: a later change the wait also follows,
   * made by someone else (a machine's installer reporting the operating system installed).
   */
  laterChange?: (bh: Bulkhead, answer: Answer, progress: (line: string) => void, deadline: number) => Promise<string>;
  /** A call failing with this code means the capability is missing where it runs: one line, exit 2. */
  unavailableWhen?: Code;
  run(bh: Bulkhead, args: string[], flags: Flags, config: CliConfig): Promise<Answer>;
}

const str = (flags: Flags, name: string) => (typeof flags[name] === "string" ? (flags[name] as string) : "");
const list = (flags: Flags, name: string) => (Array.isArray(flags[name]) ? (flags[name] as string[]) : typeof flags[name] === "string" ? [flags[name] as string] : []);
const flag = (description: string, required = false) => ({ type: "string" as const, description, required });
const bool = (description: string) => ({ type: "boolean" as const, description });
const multi = (description: string) => ({ type: "string" as const, multiple: true, description });
/** The named string flags that were given, for updates that change only those. */
const given = (flags: Flags, ...names: string[]) => Object.fromEntries(names.filter((n) => typeof flags[n] === "string").map((n) => [n, flags[n] as string]));
/** The reconciler's default when a lab request names no convergence timeout. */
const LAB_CONVERGENCE_DEFAULT_S = 120;
/** Time the lab may spend besides convergence: starting its routers, probing, stopping (the reconciler's BULKHEAD_MAX_TIMEOUT_MS allows 900 s + this). */
const LAB_SETUP_ALLOWANCE_S = 600;

/**
 * The change a machine's installation report committed: its ports move into its VRFs on the leaves
 * only then (as in metal-stack), so an allocation has converged once that change has too.
 */
async function installation(bh: Bulkhead, answer: Answer, progress: (line: string) => void, deadline: number): Promise<string> {
  const { id, allocation } = (answer.message as unknown as { machine: { id: string; allocation?: { project: string } } }).machine;
  for (;;) {
    const { machine } = await bh.machines.getMachine({ id, project: allocation?.project ?? "" });
    const change = machine?.allocation?.installationChange;
    if (change) return change;
    if (!machine?.allocation) throw new Error(`machine ${id} is no longer allocated`);
    if (Date.now() > deadline) throw new Error(`machine ${id}'s installation was not reported in time: its ports stay in the PXE network until it is`);
    progress(`waiting for machine ${id}'s installation to be reported`);
    await new Promise((r) => setTimeout(r, INSTALLATION_POLL_MS));
  }
}
const INSTALLATION_POLL_MS = 250;

/**
 * A person's token for npm start's installation, signed by the service kit's `token` command with
 * the user-token issuer key the launcher named in cli.json. Elsewhere people's tokens come from the
 * identity provider, and there is no such key to find.
 */
function userToken(config: CliConfig, user: string, roles: string[], projects: string[], days: number): string {
  if (!config.userIssuerKey) throw new Error("token issue --user makes development tokens for npm start's installation only (its cli.json names the issuer key); here people sign in through the identity provider");
  const command = fileURLToPath(new URL("../../service-kit/src/token.ts", import.meta.url));
  const args = ["--import", "tsx", command, config.userIssuerKey, user, ...roles.flatMap((r) => ["--role", r]), ...projects.flatMap((p) => ["--project", p]), "--ttl", `${days}d`];
  const minted = spawnSync(process.execPath, args, { encoding: "utf8", cwd: fileURLToPath(new URL("../../service-kit/", import.meta.url)) });
  if (minted.status !== 0) throw new UsageError(minted.stderr.trim().split("\n")[0]!);
  return minted.stdout.trim();
}

const PARTITION_COLUMNS: Column[] = [["ID", "id"], ["NAME", "name"], ["DESCRIPTION", "description"]];
const TENANT_COLUMNS: Column[] = [["ID", "id"], ["NAME", "name"]];
const NETWORK_TYPES: Record<string, NetworkType> = { super: NetworkType.SUPER, "super-namespaced": NetworkType.SUPER_NAMESPACED, underlay: NetworkType.UNDERLAY, external: NetworkType.EXTERNAL };

const NETWORK_COLUMNS: Column[] = [["ID", "id"], ["NAME", "name"], ["PROJECT", "project"], ["PARTITION", "partition"], ["TYPE", "type", "NETWORK_TYPE_"], ["VRF", "vrf"], ["PREFIXES", "prefixes"]];
const MACHINE_COLUMNS: Column[] = [["ID", "id"], ["PARTITION", "partition"], ["RACK", "rack"], ["STATE", "state", "MACHINE_STATE_"], ["PROJECT", "allocation.project"], ["HOSTNAME", "allocation.hostname"], ["ROLE", "allocation.role", "MACHINE_ROLE_"]];
const SWITCH_COLUMNS: Column[] = [["ID", "id"], ["PARTITION", "partition"], ["RACK", "rack"], ["ROLE", "role", "SWITCH_ROLE_"], ["ASN", "asn", undefined, "wide"], ["ROUTER ID", "routerId"], ["LAST SEEN", "lastHeartbeatAt", undefined, "wide"]];
const POLICY_COLUMNS: Column[] = [["ID", "id"], ["NAME", "name"], ["FIREWALL", "firewall"], ["NETWORK", "network"], ["STATE", "status.state", "POLICY_STATE_"], ["REASON", "status.reason"]];
const STATUS_COLUMNS: Column[] = [["DEVICE", "device"], ["KIND", "kind", "DEVICE_KIND_"], ["STATE", "state", "SYNC_STATE_"], ["DESIRED", "desiredGeneration"], ["APPLIED", "appliedGeneration"], ["PUSHES", "pushes", undefined, "wide"], ["LAST HEARTBEAT", "lastHeartbeatAt", undefined, "wide"], ["ERROR", "lastError"]];

const AUDIT_COLUMNS: Column[] = [["AT", "at"], ["PRINCIPAL", "principal"], ["METHOD", "method"], ["TARGET", "target"], ["OUTCOME", "outcome"], ["REQUEST ID", "requestId", undefined, "wide"], ["MESSAGE", "message"]];

/** `15m`, `2h`, `7d` ago, or an ISO 8601 time. */
function pointInTime(flagName: string, text: string): Date {
  const relative = /^(\d+)([smhd])$/.exec(text);
  const date = relative ? new Date(Date.now() - Number(relative[1]) * { s: 1e3, m: 6e4, h: 36e5, d: 864e5 }[relative[2] as "s"]) : new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`--${flagName}: not a duration like 15m, 2h, 7d or an ISO 8601 time: ${text}`);
  return date;
}

/** A policy file: `project` and the PolicySpec's fields (proto JSON names), in YAML or JSON. */
function policyFile(path: string, flags: Flags) {
  const doc = parse(readFileSync(path, "utf8")) as Record<string, JsonValue> | null;
  if (!doc || typeof doc !== "object") throw new Error(`${path}: not a policy document`);
  const { project, ...spec } = doc;
  const p = str(flags, "project") || (typeof project === "string" ? project : "");
  if (!p) throw new Error(`${path}: no project (set project: in the file or --project)`);
  return { project: p, spec: fromJson(PolicySpecSchema, spec as JsonValue) };
}

const allocation = (flags: Flags) => ({
  project: str(flags, "project"),
  partition: str(flags, "partition"),
  machine: str(flags, "machine"),
  hostname: str(flags, "hostname"),
  image: str(flags, "image") || "ubuntu-24-04",
  networks: list(flags, "network").map((network) => ({ network, autoAcquire: true })),
});
const allocationFlags = {
  project: flag("project to allocate for", true),
  partition: flag("partition", true),
  network: { type: "string" as const, multiple: true, description: "network to attach (repeat); the first private one is the primary", required: true },
  hostname: flag("host name", true),
  machine: flag("a particular machine; any free one when unset"),
  image: flag("OS image (default ubuntu-24-04)"),
};

export const commands: Command[] = [
  // --- partitions, tenants, projects ---
  { path: ["partition", "list"], summary: "list partitions", run: async (bh) => ({ message: await everyPage((page) => bh.partitions.listPartitions(page), "partitions"), list: { field: "partitions", columns: PARTITION_COLUMNS } }) },
  { path: ["partition", "describe"], summary: "show a partition", args: ["id"], run: async (bh, [id]) => ({ message: await bh.partitions.getPartition({ id }) }) },
  {
    path: ["partition", "create"],
    summary: "create a partition (a failure domain: its own switches, super and underlay networks) (admins)",
    flags: { id: flag("id", true), name: flag("name", true), description: flag("description"), dns: multi("DNS server address (repeatable)"), ntp: multi("NTP server address (repeatable)") },
    run: async (bh, _, f) => ({ message: await bh.partitions.createPartition({ id: str(f, "id"), name: str(f, "name"), description: str(f, "description"), dnsServers: list(f, "dns"), ntpServers: list(f, "ntp") }), list: { field: "partition", columns: PARTITION_COLUMNS } }),
  },
  {
    path: ["partition", "update"],
    summary: "change a partition's name, description, DNS or NTP servers (admins)",
    args: ["id"],
    flags: { name: flag("new name"), description: flag("new description"), dns: multi("DNS server address, replacing all (repeatable)"), ntp: multi("NTP server address, replacing all (repeatable)") },
    run: async (bh, [id], f) => ({
      message: await bh.partitions.updatePartition({ id, ...given(f, "name", "description"), ...(f.dns ? { dnsServers: { addresses: list(f, "dns") } } : {}), ...(f.ntp ? { ntpServers: { addresses: list(f, "ntp") } } : {}) }),
      list: { field: "partition", columns: PARTITION_COLUMNS },
    }),
  },
  { path: ["tenant", "describe"], summary: "show a tenant", args: ["id"], run: async (bh, [id]) => ({ message: await bh.tenants.getTenant({ id }) }) },
  { path: ["tenant", "create"], summary: "create a tenant (admins)", flags: { id: flag("id", true), name: flag("name", true), description: flag("description") }, run: async (bh, _, f) => ({ message: await bh.tenants.createTenant({ id: str(f, "id"), name: str(f, "name"), description: str(f, "description") }), list: { field: "tenant", columns: TENANT_COLUMNS } }) },
  { path: ["tenant", "update"], summary: "change a tenant's name or description (admins)", args: ["id"], flags: { name: flag("new name"), description: flag("new description") }, run: async (bh, [id], f) => ({ message: await bh.tenants.updateTenant({ id, ...given(f, "name", "description") }), list: { field: "tenant", columns: TENANT_COLUMNS } }) },
  { path: ["tenant", "list"], summary: "list tenants", run: async (bh) => ({ message: await everyPage((page) => bh.tenants.listTenants(page), "tenants"), list: { field: "tenants", columns: TENANT_COLUMNS } }) },
  { path: ["project", "list"], summary: "list projects", flags: { tenant: flag("only this tenant's") }, run: async (bh, _, f) => ({ message: await everyPage((page) => bh.projects.listProjects({ tenant: str(f, "tenant"), ...page }), "projects"), list: { field: "projects", columns: [["ID", "id"], ["TENANT", "tenant"], ["NAME", "name"], ["DESCRIPTION", "description"]] } }) },
  { path: ["project", "describe"], summary: "show a project", args: ["id"], run: async (bh, [project]) => ({ message: await bh.projects.getProject({ project }) }) },
  { path: ["project", "create"], summary: "create a project", flags: { tenant: flag("tenant", true), name: flag("name", true), description: flag("description") }, run: async (bh, _, f) => ({ message: await bh.projects.createProject({ tenant: str(f, "tenant"), name: str(f, "name"), description: str(f, "description") }), list: { field: "project", columns: [["ID", "id"], ["TENANT", "tenant"], ["NAME", "name"]] } }) },

  // --- networks and IPs ---
  { path: ["network", "list"], summary: "list networks", flags: { project: flag("only this project's"), partition: flag("only this partition's") }, run: async (bh, _, f) => ({ message: await everyPage((page) => bh.networks.listNetworks({ project: str(f, "project"), partition: str(f, "partition"), ...page }), "networks"), list: { field: "networks", columns: NETWORK_COLUMNS } }) },
  { path: ["network", "describe"], summary: "show a network", args: ["id"], flags: { project: flag("its project") }, run: async (bh, [id], f) => ({ message: await bh.networks.getNetwork({ id, project: str(f, "project") }) }) },
  {
    path: ["network", "create"],
    summary: "create a base network: a partition's super or underlay network, or an external network (admins)",
    flags: {
      type: flag("super, super-namespaced, underlay or external", true),
      id: flag("id (generated when left out)"),
      name: flag("name", true),
      description: flag("description"),
      partition: flag("partition (super and underlay networks; external ones are everywhere unless given)"),
      project: flag("external networks only: the one project that may use it"),
      prefix: multi("prefix, e.g. 10.0.0.0/16 (repeatable, required)"),
      destination: multi("external networks: a destination reachable through it, e.g. 0.0.0.0/0 (repeatable)"),
      vrf: flag("external networks: its VRF id (its L3 VNI), required"),
      nat: flag("external networks: none (default) or ipv4-masquerade"),
      "child-length": multi("super networks: default length of the children cut from it, per family, e.g. 22 and 64 (repeatable, required)"),
    },
    mutates: true,
    run: async (bh, _, f) => {
      const type = NETWORK_TYPES[str(f, "type")];
      if (type === undefined) throw new UsageError(`--type must be one of ${Object.keys(NETWORK_TYPES).join(", ")}, not ${JSON.stringify(str(f, "type"))}`);
      const nat = ({ "": NatType.UNSPECIFIED, none: NatType.NONE, "ipv4-masquerade": NatType.IPV4_MASQUERADE } as Record<string, NatType>)[str(f, "nat")];
      if (nat === undefined) throw new UsageError(`--nat must be none or ipv4-masquerade, not ${JSON.stringify(str(f, "nat"))}`);
      if (list(f, "prefix").length === 0) throw new UsageError("--prefix is required (at least one)");
      const lengths = list(f, "child-length").map((l) => wholeNumber("child-length", l, { fallback: 0, min: 1, max: 128, unit: "bits" }));
      // One length per family: up to 32 an IPv4 one, else IPv6.
      const ipv4 = lengths.find((l) => l <= 32);
      const ipv6 = lengths.find((l) => l > 32);
      const childLengths = lengths.length > 0 ? { ...(ipv4 ? { ipv4 } : {}), ...(ipv6 ? { ipv6 } : {}) } : undefined;
      return {
        message: await bh.networks.createNetwork({
          type,
          id: str(f, "id"),
          name: str(f, "name"),
          description: str(f, "description"),
          partition: str(f, "partition"),
          project: str(f, "project"),
          prefixes: list(f, "prefix"),
          destinationPrefixes: list(f, "destination"),
          vrf: wholeNumber("vrf", str(f, "vrf"), { fallback: 0, min: 1, max: 16_777_215, unit: "VNIs" }),
          natType: nat,
          ...(childLengths ? { defaultChildPrefixLength: childLengths } : {}),
        }),
        list: { field: "network", columns: NETWORK_COLUMNS },
      };
    },
  },
  {
    path: ["network", "allocate"],
    summary: "allocate a private network for a project",
    flags: { project: flag("project", true), partition: flag("partition", true), name: flag("name", true), description: flag("description"), shared: bool("other projects may attach to it"), dmz: bool("a DMZ: shared, and carries the internet's destinations"), ipv4: bool("IPv4 only"), ipv6: bool("IPv6 only") },
    mutates: true,
    run: async (bh, _, f) => {
      if (f.ipv4 && f.ipv6) throw new UsageError("--ipv4 and --ipv6 exclude each other (leave both out for dual stack)");
      return {
        message: await bh.networks.allocateNetwork({ project: str(f, "project"), partition: str(f, "partition"), name: str(f, "name"), description: str(f, "description"), shared: f.shared === true, dmz: f.dmz === true, addressFamily: f.ipv4 ? AddressFamily.IPV4 : f.ipv6 ? AddressFamily.IPV6 : AddressFamily.UNSPECIFIED }),
        list: { field: "network", columns: NETWORK_COLUMNS },
      };
    },
  },
  { path: ["network", "free"], summary: "free (delete) a network", args: ["id"], flags: { project: flag("its project") }, mutates: true, run: async (bh, [id], f) => ({ message: await bh.networks.deleteNetwork({ id, project: str(f, "project") }) }) },
  {
    path: ["network", "update"],
    summary: "change a network's name, description or sharing",
    args: ["id"],
    flags: { project: flag("its project"), name: flag("new name"), description: flag("new description"), shared: bool("make it shared (cannot be undone)") },
    mutates: true,
    run: async (bh, [id], f) => ({ message: await bh.networks.updateNetwork({ id, project: str(f, "project"), name: str(f, "name") || undefined, description: str(f, "description") || undefined, shared: f.shared === true ? true : undefined }), list: { field: "network", columns: NETWORK_COLUMNS } }),
  },
  { path: ["ip", "list"], summary: "list IP addresses", flags: { project: flag("only this project's"), network: flag("only in this network"), machine: flag("only this machine's") }, run: async (bh, _, f) => ({ message: await everyPage((page) => bh.ips.listIPs({ project: str(f, "project"), network: str(f, "network"), machine: str(f, "machine"), ...page }), "ips"), list: { field: "ips", columns: [["UUID", "uuid"], ["IP", "ip"], ["NETWORK", "network"], ["PROJECT", "project"], ["TYPE", "type", "IP_TYPE_"], ["MACHINE", "machine"], ["NAME", "name"]] } }) },
  { path: ["ip", "allocate"], summary: "allocate an IP address", flags: { project: flag("project", true), network: flag("network", true), ip: flag("a particular address"), name: flag("name"), static: bool("static: kept until released (default: ephemeral)") }, mutates: true, run: async (bh, _, f) => ({ message: await bh.ips.allocateIP({ project: str(f, "project"), network: str(f, "network"), ip: str(f, "ip"), name: str(f, "name"), type: f.static ? IPType.IP_TYPE_STATIC : IPType.IP_TYPE_EPHEMERAL }), list: { field: "ip", columns: [["UUID", "uuid"], ["IP", "ip"], ["NETWORK", "network"], ["TYPE", "type", "IP_TYPE_"]] } }) },
  { path: ["ip", "free"], summary: "release an IP address", args: ["uuid"], flags: { project: flag("its project") }, mutates: true, run: async (bh, [uuid], f) => ({ message: await bh.ips.releaseIP({ uuid, project: str(f, "project") }) }) },

  // --- switches ---
  { path: ["switch", "list"], summary: "list switches", flags: { partition: flag("only this partition's"), rack: flag("only this rack's") }, run: async (bh, _, f) => ({ message: await everyPage((page) => bh.switches.listSwitches({ partition: str(f, "partition"), rack: str(f, "rack"), ...page }), "switches"), list: { field: "switches", columns: SWITCH_COLUMNS } }) },
  { path: ["switch", "describe"], summary: "show a switch and its ports", args: ["id"], run: async (bh, [id]) => ({ message: await bh.switches.getSwitch({ id }) }) },
  { path: ["switch", "connected-machines"], summary: "which machine is cabled to which switch port", args: ["switch?"], flags: { partition: flag("only this partition") }, run: async (bh, [sw], f) => ({ message: await everyPage((page) => bh.switches.listConnectedMachines({ switch: sw ?? "", partition: str(f, "partition"), ...page }), "connections"), list: { field: "connections", columns: [["SWITCH", "switch"], ["PORT", "port"], ["MACHINE", "machine"], ["NIC", "nic"], ["MAC", "nicMac"]] } }) },
  { path: ["switch", "port", "up"], summary: "switch a port on", args: ["switch", "port"], mutates: true, run: async (bh, [id, port]) => ({ message: await bh.switches.setPortAdminState({ id, port, adminState: PortState.UP }) }) },
  { path: ["switch", "port", "down"], summary: "switch a port off", args: ["switch", "port"], mutates: true, run: async (bh, [id, port]) => ({ message: await bh.switches.setPortAdminState({ id, port, adminState: PortState.DOWN }) }) },

  // --- machines and firewalls ---
  { path: ["machine", "list"], summary: "list machines", flags: { project: flag("only this project's"), partition: flag("only this partition's") }, run: async (bh, _, f) => ({ message: await everyPage((page) => bh.machines.listMachines({ project: str(f, "project"), partition: str(f, "partition"), role: MachineRole.UNSPECIFIED, ...page }), "machines"), list: { field: "machines", columns: MACHINE_COLUMNS } }) },
  { path: ["machine", "describe"], summary: "show a machine", args: ["id"], flags: { project: flag("its project") }, run: async (bh, [id], f) => ({ message: await bh.machines.getMachine({ id, project: str(f, "project") }) }) },
  { path: ["machine", "allocate"], summary: "allocate a machine", flags: allocationFlags, mutates: true, laterChange: installation, run: async (bh, _, f) => ({ message: await bh.machines.allocateMachine(allocation(f)), list: { field: "machine", columns: MACHINE_COLUMNS } }) },
  { path: ["machine", "free"], summary: "free a machine", args: ["id"], flags: { project: flag("its project") }, mutates: true, run: async (bh, [id], f) => ({ message: await bh.machines.freeMachine({ id, project: str(f, "project") }) }) },
  { path: ["firewall", "list"], summary: "list firewalls", flags: { project: flag("only this project's"), partition: flag("only this partition's") }, run: async (bh, _, f) => ({ message: await everyPage((page) => bh.machines.listMachines({ project: str(f, "project"), partition: str(f, "partition"), role: MachineRole.FIREWALL, ...page }), "machines"), list: { field: "machines", columns: MACHINE_COLUMNS } }) },
  { path: ["firewall", "allocate"], summary: "allocate a firewall", flags: allocationFlags, mutates: true, laterChange: installation, run: async (bh, _, f) => ({ message: await bh.machines.allocateFirewall(allocation(f)), list: { field: "machine", columns: MACHINE_COLUMNS } }) },
  { path: ["firewall", "free"], summary: "free a firewall", args: ["id"], flags: { project: flag("its project") }, mutates: true, run: async (bh, [id], f) => ({ message: await bh.machines.freeMachine({ id, project: str(f, "project") }) }) },

  // --- peerings and policies ---
  {
    path: ["peering", "create"],
    summary: "peer two networks (they exchange routes on the leaves)",
    flags: { project: flag("project", true), name: flag("name", true), network1: flag("one network", true), network2: flag("the other", true) },
    mutates: true,
    run: async (bh, _, f) => ({ message: await bh.peerings.createPeering({ project: str(f, "project"), name: str(f, "name"), type: PeeringType.LOCAL, network1: str(f, "network1"), network2: str(f, "network2") }), list: { field: "peering", columns: [["ID", "id"], ["NAME", "name"], ["NETWORK 1", "network1"], ["NETWORK 2", "network2"]] } }),
  },
  { path: ["peering", "list"], summary: "list peerings", flags: { project: flag("only this project's"), partition: flag("only this partition's"), network: flag("only this network's") }, run: async (bh, _, f) => ({ message: await everyPage((page) => bh.peerings.listPeerings({ project: str(f, "project"), partition: str(f, "partition"), network: str(f, "network"), ...page }), "peerings"), list: { field: "peerings", columns: [["ID", "id"], ["PROJECT", "project"], ["NAME", "name"], ["TYPE", "type", "PEERING_TYPE_"], ["NETWORK 1", "network1"], ["NETWORK 2", "network2"], ["AUTO", "automatic"]] } }) },
  { path: ["peering", "delete"], summary: "delete a peering", args: ["id"], flags: { project: flag("its project", true) }, mutates: true, run: async (bh, [id], f) => ({ message: await bh.peerings.deletePeering({ id, project: str(f, "project") }) }) },
  {
    path: ["policy", "apply"],
    summary: "create or update (by name) the policy in a YAML file",
    flags: { file: flag("policy file (-f)", true), project: flag("project, unless the file names it") },
    mutates: true,
    run: async (bh, _, f) => {
      const { project, spec } = policyFile(str(f, "file"), f);
      const existing = (await everyPage((page) => bh.policies.listPolicies({ project, ...page }), "policies")).policies.find((p) => p.name === spec.name);
      const message = existing ? await bh.policies.updatePolicy({ id: existing.id, project, spec }) : await bh.policies.createPolicy({ project, spec });
      return { message, list: { field: "policy", columns: POLICY_COLUMNS } };
    },
  },
  { path: ["policy", "list"], summary: "list policies", flags: { project: flag("project", true), firewall: flag("only those on this firewall") }, run: async (bh, _, f) => ({ message: await everyPage((page) => bh.policies.listPolicies({ project: str(f, "project"), firewall: str(f, "firewall"), ...page }), "policies"), list: { field: "policies", columns: POLICY_COLUMNS } }) },
  {
    path: ["policy", "plan"],
    summary: "show what applying a policy file would change on the firewalls",
    flags: { file: flag("policy file (-f)", true), project: flag("project, unless the file names it") },
    run: async (bh, _, f) => {
      const message = await bh.policies.planPolicy(policyFile(str(f, "file"), f));
      const text = [...message.problems.map((p) => `problem: ${p}`), ...message.firewalls.map((fw) => `# firewall ${fw.firewall}\n${fw.diff || "(no change)"}`)].join("\n");
      return { message, text };
    },
  },

  // --- the audit log ---
  {
    path: ["audit", "list"],
    summary: "who did what: the audit log of one server or of all, newest first (admins)",
    flags: {
      server: flag(`only this server: ${SERVERS.join(", ")}`),
      principal: flag("only this principal, e.g. user:alice"),
      method: flag("only methods containing this text"),
      outcome: flag("only this outcome: ok, permission_denied, invalid_argument, …"),
      target: flag("only targets containing this text, e.g. project=web"),
      since: flag("only events after this: 15m, 2h, 7d or an ISO time"),
      limit: flag("at most this many events (default 50)"),
    },
    run: async (bh, _, f) => {
      const server = str(f, "server");
      if (server && !SERVERS.includes(server as Server)) throw new Error(`--server: unknown server ${server}; one of ${SERVERS.join(", ")}`);
      const limit = wholeNumber("limit", str(f, "limit"), { fallback: 50, min: 1, max: 1000, unit: "events" });
      const since = str(f, "since") ? timestampFromDate(pointInTime("since", str(f, "since"))) : undefined;
      const request = { principal: str(f, "principal"), method: str(f, "method"), outcome: str(f, "outcome"), target: str(f, "target"), since, pageSize: limit };
      const servers = server ? [server as Server] : SERVERS;
      const pages = await Promise.all(servers.map((s) => bh.audit(s).listAuditEvents(request)));
      const at = (e: AuditEvent) => timestampDate(e.at!).getTime();
      const events = pages.flatMap((p) => p.events).sort((a, b) => at(b) - at(a)).slice(0, limit);
      return { message: create(ListAuditEventsResponseSchema, { events }), list: { field: "events", columns: AUDIT_COLUMNS } };
    },
  },

  // --- credentials ---
  {
    path: ["token", "issue"],
    summary: "mint a device agent's token (its BULKHEAD_AGENT_TOKEN; admins), or with --user a person's development token (npm start only); shown once",
    args: ["device?"],
    flags: {
      ttl: flag("lifetime in days (default 30, at most 400)"),
      user: flag("a person's token instead, for npm start's installation (people otherwise sign in through the identity provider)"),
      role: multi("with --user: a platform role, admin or viewer (repeatable)"),
      project: multi("with --user: <project id>=owner|editor|viewer (repeatable)"),
    },
    run: async (bh, [device], f, config) => {
      const days = wholeNumber("ttl", str(f, "ttl"), { fallback: 30, min: 1, max: 400, unit: "days" });
      const user = str(f, "user");
      if (user && device) throw new UsageError("name a device or --user, not both");
      if (!user && !device) throw new UsageError("name a device (an agent's token) or --user (a person's development token)");
      if (!user && (list(f, "role").length > 0 || list(f, "project").length > 0)) throw new UsageError("--role and --project go with --user");
      if (user) {
        const token = userToken(config, user, list(f, "role"), list(f, "project"), days);
        return { message: create(StringValueSchema, { value: token }), text: token };
      }
      const message = await bh.tokens.issueAgentToken({ device, ttlSeconds: days * 86_400 });
      return { message, text: `${message.token}\n# token id ${message.tokenId} (for bulkhead token revoke --id)` };
    },
  },
  {
    path: ["token", "revoke"],
    summary: "refuse one token (--id) or every token of a principal issued until now (--principal user:… / agent:…) (admins)",
    flags: { id: flag("the token id (jti)"), principal: flag("a principal, e.g. user:alice or agent:leaf01") },
    run: async (bh, _, f) => {
      if (!str(f, "id") === !str(f, "principal")) throw new Error("give exactly one of --id and --principal");
      if (str(f, "id")) return { message: await bh.tokens.revokeToken({ tokenId: str(f, "id") }), text: `token ${str(f, "id")} revoked` };
      const message = await bh.tokens.revokePrincipal({ principal: str(f, "principal") });
      return { message, text: `tokens of ${str(f, "principal")} issued before ${timestampDate(message.revokedBefore!).toISOString()} are refused` };
    },
  },

  // --- the fabric ---
  {
    path: ["fabric", "status"],
    summary: "what every device runs against what it should",
    flags: { partition: flag("only this partition"), state: flag("only in-sync, pending, failed, drifted or rejected"), record: flag("only devices where a grant of this record (machine, firewall, peering, network) is withheld"), project: flag("only devices carrying this project's networks (required for project members)") },
    run: async (bh, _, f) => {
      const state = str(f, "state") ? SyncState[str(f, "state").toUpperCase().replace(/-/g, "_") as keyof typeof SyncState] : SyncState.UNSPECIFIED;
      if (state === undefined) throw new Error(`--state: unknown state ${str(f, "state")}`);
      return { message: await everyPage((page) => bh.fabric.listDeviceStatuses({ partition: str(f, "partition"), state, record: str(f, "record"), project: str(f, "project"), ...page }), "statuses"), list: { field: "statuses", columns: STATUS_COLUMNS } };
    },
  },
  {
    path: ["fabric", "diff"],
    summary: "unified diff between what a device runs and what it should run",
    args: ["device"],
    run: async (bh, [device]) => {
      const message = await bh.fabric.diff({ device });
      const text = message.files.map((f) => f.unifiedDiff).join("\n") || `${device} runs generation ${message.appliedGeneration}, the desired one (${message.desiredGeneration}): no difference`;
      return { message, text };
    },
  },
  {
    path: ["fabric", "verify"],
    summary: "prove a partition's isolation from its desired configurations",
    flags: { partition: flag("partition", true) },
    run: async (bh, _, f) => {
      const message = await bh.fabric.verifyPartition({ partition: str(f, "partition") });
      const v = message.verification!;
      const verdict = v.passed ? `partition ${str(f, "partition")}: isolated — ${message.devices.length} devices, checks: ${v.checks.join(", ")}` : undefined;
      return { message, text: verdict, failed: !v.passed, list: { field: "verification.findings", columns: [["PROPERTY", "property"], ["DEVICE", "device"], ["FILE", "path"], ["LINE", "line"], ["OBJECT", "object"], ["MESSAGE", "message"]] } };
    },
  },
  {
    path: ["fabric", "lab"],
    summary: "run a partition's desired configurations (or a policy draft) on real FRR and prove isolation from the routing tables",
    flags: {
      partition: flag("partition", true),
      plan: flag("a policy file: run the fabric as it would be with it"),
      project: flag("project of the policy file, unless the file names it"),
      timeout: flag(`seconds to wait for BGP to converge (default ${LAB_CONVERGENCE_DEFAULT_S})`),
    },
    unavailableWhen: Code.FailedPrecondition,
    run: async (bh, _, f) => {
      const timeoutSeconds = wholeNumber("timeout", str(f, "timeout"), { fallback: LAB_CONVERGENCE_DEFAULT_S, min: 1, max: 900, unit: "seconds" });
      // The call lasts as long as the lab: convergence is bounded by --timeout, starting and probing the routers by their number.
      const callTimeoutMs = (timeoutSeconds + LAB_SETUP_ALLOWANCE_S) * 1000;
      const message = await bh.fabric.runFabricLab({ partition: str(f, "partition"), timeoutSeconds, planPolicy: str(f, "plan") ? policyFile(str(f, "plan"), f) : undefined }, { timeoutMs: callTimeoutMs });
      return { message, text: message.report, failed: !message.proven };
    },
  },
];
