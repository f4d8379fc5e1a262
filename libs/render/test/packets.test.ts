// The compiled ruleset on real packets. Four network namespaces: a tenant host behind the
// firewall's `vrf12`, an internet host behind `vrf104009` (185.1.2.100 and .101, 2001:db8:ffff::100)
// and a DMZ host behind `vrf20` — interfaces named like the VRF devices the rules reference. The
// firewall forwards with the ruleset applied by `nft -f`; TCP and UDP probes show what passes.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compileFirewall } from "../src/index.js";
import { tenant } from "./models.js";
import { inNs, namespaces, sh } from "@bulkhead/testkit";

type Namespaces = Awaited<ReturnType<typeof namespaces<"fw" | "tenant" | "inet" | "dmz">>>;
const test = suite<{ ns: Namespaces; servers: ChildProcess[] }>("firewall on real packets", {} as never);

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;

/** A veth pair from the firewall (`fwSide`) to `host`'s eth0, with addresses on both ends. */
async function link(ns: Namespaces, host: string, fwSide: string, fwAddresses: string[], hostAddresses: string[]): Promise<void> {
  const peer = `${host.slice(-12)}x`;
  await sh("ip", "link", "add", fwSide, "netns", ns.fw, "type", "veth", "peer", "name", peer, "netns", host);
  await inNs(host, "ip", "link", "set", peer, "name", "eth0");
  for (const [where, dev, addresses] of [[ns.fw, fwSide, fwAddresses], [host, "eth0", hostAddresses]] as const) {
    for (const address of addresses) await inNs(where, "ip", ...(address.includes(":") ? ["-6"] : []), "addr", "add", address, "dev", dev, ...(address.includes(":") ? ["nodad"] : []));
    await inNs(where, "ip", "link", "set", dev, "up");
  }
}

async function startServer(ns: string, tcp: number[], udp: number[]): Promise<ChildProcess> {
  const child = spawn("ip", ["netns", "exec", ns, process.execPath, fixture("server.mjs"), tcp.join(","), udp.join(",")], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once("data", () => resolve());
    child.once("exit", (code) => reject(new Error(`server in ${ns} exited (${code})`)));
  });
  return child;
}

/** What the server answered (the source address it saw), or "blocked". */
const probe = async (from: string, protocol: "tcp" | "udp", host: string, port: number) => (await inNs(from, process.execPath, fixture("client.mjs"), protocol, host, String(port), "1200")).trim();

test.before(async (ctx) => {
  const ns = (ctx.ns = await namespaces("fw", "tenant", "inet", "dmz"));
  await link(ns, ns.tenant, "vrf12", ["10.0.0.1/22", "2001:db8:0:1::1/64"], ["10.0.0.10/22", "2001:db8:0:1::10/64"]);
  await link(ns, ns.inet, "vrf104009", ["185.1.2.1/24", "2001:db8:ffff::1/64"], ["185.1.2.100/24", "185.1.2.101/24", "2001:db8:ffff::100/64"]);
  await link(ns, ns.dmz, "vrf20", ["10.0.4.1/22"], ["10.0.4.10/22"]);
  await inNs(ns.tenant, "ip", "route", "add", "default", "via", "10.0.0.1");
  await inNs(ns.tenant, "ip", "-6", "route", "add", "default", "via", "2001:db8:0:1::1");
  // The internet knows the way to the tenant (for ingress), not to the DMZ: only masqueraded
  // traffic from the DMZ can be answered there. The DMZ host's default route is the firewall (a
  // DMZ firewall is its network's exit to the internet).
  await inNs(ns.dmz, "ip", "route", "add", "default", "via", "10.0.4.1");
  await inNs(ns.inet, "ip", "route", "add", "10.0.0.0/22", "via", "185.1.2.1");
  await inNs(ns.inet, "ip", "-6", "route", "add", "2001:db8:0:1::/64", "via", "2001:db8:ffff::1");
  // (Through /proc rather than sysctl(8), which a minimal Debian does not have.)
  await inNs(ns.fw, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward && echo 1 > /proc/sys/net/ipv6/conf/all/forwarding");
  const file = join(tmpdir(), `bulkhead-packets-${process.pid}.nft`);
  writeFileSync(file, compileFirewall(tenant));
  await inNs(ns.fw, "nft", "-f", file);
  ctx.servers = [
    await startServer(ns.inet, [443, 444, 8080, 8443, 8444], [5005, 5011]),
    await startServer(ns.tenant, [80, 81], []),
    await startServer(ns.dmz, [9000, 9001], []),
  ];
});

test.after(async (ctx) => {
  for (const server of ctx.servers ?? []) server.kill();
  await ctx.ns?.remove();
});

test("default deny: a port no policy names is dropped, in both directions", async ({ ns }) => {
  assert.is(await probe(ns.tenant, "tcp", "185.1.2.100", 444), "blocked");
  assert.is(await probe(ns.tenant, "udp", "185.1.2.100", 5011), "blocked");
  assert.is(await probe(ns.inet, "tcp", "10.0.0.10", 81), "blocked");
  assert.is(await probe(ns.tenant, "tcp", "10.0.4.10", 9001), "blocked");
});

test("an allowed egress port passes, its answer comes back, and the source is masqueraded", async ({ ns }) => {
  assert.is(await probe(ns.tenant, "tcp", "185.1.2.100", 443), "185.1.2.1", "the internet host saw the firewall's address, not 10.0.0.10");
});

test("a UDP port range: inside passes (with its reply), outside is dropped", async ({ ns }) => {
  // (To the internet host's first address: a wildcard UDP socket answers from it.)
  assert.is(await probe(ns.tenant, "udp", "185.1.2.100", 5005), "185.1.2.1");
  assert.is(await probe(ns.tenant, "udp", "185.1.2.100", 5011), "blocked");
});

test("an except-CIDR carves a host out of an allowed block", async ({ ns }) => {
  assert.is(await probe(ns.tenant, "tcp", "185.1.2.101", 8080), "185.1.2.1");
  assert.is(await probe(ns.tenant, "tcp", "185.1.2.100", 8080), "blocked", "185.1.2.100/32 is excepted");
});

test("ingress to a service: allowed port from the allowed block, unmasqueraded", async ({ ns }) => {
  assert.is(await probe(ns.inet, "tcp", "10.0.0.10", 80), "185.1.2.100", "the tenant sees the real client");
  assert.is(await probe(ns.inet, "tcp", "10.0.0.10", 81), "blocked");
});

test("an IPv6 rule: the allowed port passes without NAT, others are dropped", async ({ ns }) => {
  assert.is(await probe(ns.tenant, "tcp", "2001:db8:ffff::100", 8443), "2001:db8:0:1::10");
  assert.is(await probe(ns.tenant, "tcp", "2001:db8:ffff::100", 8444), "blocked");
  assert.is(await probe(ns.tenant, "tcp", "2001:db8:ffff::100", 444), "blocked");
});

test("to the DMZ: masqueraded to the firewall's DMZ address, so the DMZ host can answer", async ({ ns }) => {
  assert.is(await probe(ns.tenant, "tcp", "10.0.4.10", 9000), "10.0.4.1");
});

test("out of the DMZ the firewall is the exit of: allowed egress passes to the internet, masqueraded; nothing into the primary", async ({ ns }) => {
  assert.is(await probe(ns.dmz, "tcp", "185.1.2.100", 443), "185.1.2.1", "DMZ → internet:443 is egress like the primary's, and masqueraded");
  assert.is(await probe(ns.dmz, "tcp", "185.1.2.100", 444), "blocked");
  assert.is(await probe(ns.dmz, "tcp", "10.0.0.10", 80), "blocked", "an egress rule of the DMZ never opens the primary network");
});

test("a spoofed source from the primary network is dropped", async ({ ns }) => {
  // The tenant host uses an address outside its network; the firewall and the internet host even know the way back.
  await inNs(ns.tenant, "ip", "addr", "add", "10.9.9.9/32", "dev", "eth0");
  await inNs(ns.fw, "ip", "route", "add", "10.9.9.9/32", "via", "10.0.0.10", "dev", "vrf12");
  await inNs(ns.inet, "ip", "route", "add", "10.9.9.9/32", "via", "185.1.2.1");
  try {
    assert.is(await inNs(ns.tenant, process.execPath, fixture("client.mjs"), "tcp", "185.1.2.100", "443", "1200", "10.9.9.9").then((o) => o.trim()), "blocked");
    assert.is(await probe(ns.tenant, "tcp", "185.1.2.100", 443), "185.1.2.1", "its own address still passes");
  } finally {
    await inNs(ns.inet, "ip", "route", "del", "10.9.9.9/32");
    await inNs(ns.fw, "ip", "route", "del", "10.9.9.9/32");
    await inNs(ns.tenant, "ip", "addr", "del", "10.9.9.9/32", "dev", "eth0");
  }
});

test("the drops were counted", async ({ ns }) => {
  const forward = await inNs(ns.fw, "nft", "list", "chain", "inet", "bulkhead", "forward");
  const dropped = /counter packets (\d+) bytes \d+ drop\s*$/m.exec(forward);
  assert.ok(dropped && Number(dropped[1]) > 0, "the final drop counter moved");
});

test("a rate limit holds for established connections too: the answers of an allowed connection are limited", async ({ ns }) => {
  // Before the fix the limit came after `ct state established,related accept` and only limited
  // new connections. Here the internet may send 1 byte per second: the SYN-ACK is over the limit.
  const file = join(tmpdir(), `bulkhead-packets-limit-${process.pid}.nft`);
  writeFileSync(file, compileFirewall({ ...tenant, options: { ...tenant.options, rateLimits: [{ network: "internet", bytesPerSecond: 1 }] } }));
  await inNs(ns.fw, "nft", "-f", file);
  assert.is(await probe(ns.tenant, "tcp", "185.1.2.100", 443), "blocked");
  assert.is(await probe(ns.tenant, "tcp", "10.0.4.10", 9000), "10.0.4.1", "other networks are not limited");
});

test.run();
