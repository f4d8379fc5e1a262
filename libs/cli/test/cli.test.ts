// The CLI against real services: tables, JSON and YAML; server errors with their field
// violations and exit 1; usage errors exit 2; endpoints and token from flags, env or a file.
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parse } from "yaml";
import { startFabric, type Fabric } from "@bulkhead/inventory/testing";
import { loadConfig } from "../src/config.js";
import { run } from "../src/main.js";

const test = suite<{ f: Fabric; config: string }>("bulkhead CLI", {} as never);
test.before(async (ctx) => {
  ctx.f = await startFabric();
  ctx.config = join(mkdtempSync(join(tmpdir(), "bh-cli-")), "cli.json");
  writeFileSync(ctx.config, JSON.stringify({ endpoints: { ipam: ctx.f.ipam.url, network: ctx.f.network.url, inventory: ctx.f.inventory.url }, token: ctx.f.admin }));
});
test.after(async (ctx) => ctx.f?.stop());

async function cli(ctx: { config: string }, ...argv: string[]) {
  let out = "";
  let err = "";
  const code = await run([...argv, "--config", ctx.config], { out: (t) => (out += `${t}\n`), err: (t) => (err += `${t}\n`), env: {} });
  return { code, out, err };
}

test("lists as a table, JSON or YAML", async (ctx) => {
  const table = await cli(ctx, "switch", "list", "--partition", "fra1");
  assert.is(table.code, 0, table.err);
  assert.match(table.out, /^ID\s+PARTITION\s+RACK\s+ROLE/);
  assert.match(table.out, /leaf03\s+fra1\s+r2\s+leaf/);
  const json = JSON.parse((await cli(ctx, "network", "describe", ctx.f.netA.id, "-o", "json")).out);
  assert.is(json.network.vrf, ctx.f.netA.vrf);
  const yaml = parse((await cli(ctx, "partition", "list", "-o", "yaml")).out);
  assert.equal(yaml.partitions.map((p: { id: string }) => p.id), ["fra1"]);
});

test("changes: allocates a network and frees it", async (ctx) => {
  const made = await cli(ctx, "network", "allocate", "--project", ctx.f.projectA, "--partition", "fra1", "--name", "cli-net", "--ipv4", "-o", "json");
  assert.is(made.code, 0, made.err);
  const id = JSON.parse(made.out).network.id as string;
  assert.match((await cli(ctx, "network", "list", "--project", ctx.f.projectA)).out, "cli-net");
  assert.is((await cli(ctx, "network", "free", id, "--project", ctx.f.projectA)).code, 0);
});

test("audit list shows who changed what, newest first, from one server", async (ctx) => {
  let out = "";
  // The audit writer stores records off the request path, within a fraction of a second.
  for (let i = 0; i < 30 && !out.includes("DeleteNetwork"); i++) {
    const listed = await cli(ctx, "audit", "list", "--server", "network", "--principal", "user:admin", "--since", "10m", "--target", `project=${ctx.f.projectA}`, "-o", "wide");
    assert.is(listed.code, 0, listed.err);
    out = listed.out;
    if (!out.includes("DeleteNetwork")) await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(out, /^AT\s+PRINCIPAL\s+METHOD/);
  assert.ok(out.indexOf("DeleteNetwork") < out.indexOf("AllocateNetwork"), out);
  const bad = await cli(ctx, "audit", "list", "--server", "nowhere");
  assert.is(bad.code, 1);
  assert.match(bad.err, "unknown server nowhere");
  assert.match((await cli(ctx, "audit", "list", "--server", "network", "--since", "yesterday")).err, "--since: not a duration");
});

test("token issue mints a device's agent token; token revoke refuses it", async (ctx) => {
  const issued = await cli(ctx, "token", "issue", "leaf01", "--ttl", "1");
  assert.is(issued.code, 0, issued.err);
  const [token, note] = issued.out.trim().split("\n");
  const id = /token id (\S+)/.exec(note!)![1]!;
  const asAgent = async () => {
    let err = "";
    const code = await run(["partition", "list", "--config", ctx.config, "--token", token!], { out: () => {}, err: (t) => (err += t), env: {} });
    return { code, err };
  };
  assert.is((await asAgent()).code, 0, "the agent token is accepted");
  assert.is((await cli(ctx, "token", "revoke", "--id", id)).code, 0);
  const refused = await asAgent();
  assert.is(refused.code, 1);
  assert.match(refused.err, "unauthenticated: token revoked");
  assert.match((await cli(ctx, "token", "revoke")).err, "exactly one of --id and --principal");
});

test("a server error prints its code, message and field violations, and exits 1", async (ctx) => {
  const bad = await cli(ctx, "network", "allocate", "--project", "Not_An_Id", "--partition", "fra1", "--name", "x");
  assert.is(bad.code, 1);
  assert.match(bad.err, /^error: invalid_argument:\n  project: must be 1 to 63 lowercase letters/);
  assert.is(bad.err.split("must be 1 to 63").length, 2, "each violation is printed once");
  const missing = await cli(ctx, "network", "describe", "no-such-network");
  assert.is(missing.code, 1);
  assert.match(missing.err, /^error: not_found: /);
});

test("usage errors exit 2 and say what is wrong", async (ctx) => {
  const unknown = await cli(ctx, "network", "explode");
  assert.is(unknown.code, 2);
  assert.match(unknown.err, 'unknown command "network explode"');
  assert.match(unknown.err, "network allocate");
  const missing = await cli(ctx, "network", "allocate", "--project", ctx.f.projectA);
  assert.is(missing.code, 2);
  assert.match(missing.err, "missing --partition, --name");
  const flag = await cli(ctx, "switch", "list", "--colour", "red");
  assert.is(flag.code, 2);
  assert.match(flag.err, "--colour");
});

test("numeric flags are whole numbers within bounds, checked before anything is sent", async (ctx) => {
  const before = (await cli(ctx, "network", "list", "--project", ctx.f.projectA, "-o", "json")).out;
  const wait = await cli(ctx, "network", "allocate", "--project", ctx.f.projectA, "--partition", "fra1", "--name", "never-made", "--wait", "--wait-timeout", "abc");
  assert.is(wait.code, 2);
  assert.match(wait.err, '--wait-timeout: a whole number of seconds from 1 to 86400, not "abc"');
  assert.is((await cli(ctx, "network", "list", "--project", ctx.f.projectA, "-o", "json")).out, before, "nothing was allocated");
  for (const [argv, message] of [
    [["token", "issue", "leaf01", "--ttl", "1.5"], "--ttl: a whole number of days from 1 to 400"],
    [["token", "issue", "leaf01", "--ttl", "0"], "--ttl: a whole number of days from 1 to 400"],
    [["audit", "list", "--limit", "ten"], "--limit: a whole number of events from 1 to 1000"],
    [["fabric", "lab", "--partition", "fra1", "--timeout", "1e3"], "--timeout: a whole number of seconds from 1 to 900"],
  ] as const) {
    const refused = await cli(ctx, ...argv);
    assert.is(refused.code, 2, argv.join(" "));
    assert.match(refused.err, message);
    assert.is(refused.err.split(message).length, 2, "the error is printed once");
  }
});

test("flags that exclude each other, and token issue's two forms, are refused before anything is sent", async (ctx) => {
  const before = (await cli(ctx, "network", "list", "--project", ctx.f.projectA, "-o", "json")).out;
  const both = await cli(ctx, "network", "allocate", "--project", ctx.f.projectA, "--partition", "fra1", "--name", "x", "--ipv4", "--ipv6");
  assert.equal([both.code, both.err.trim()], [2, "bulkhead network allocate: --ipv4 and --ipv6 exclude each other (leave both out for dual stack)"]);
  assert.is((await cli(ctx, "network", "list", "--project", ctx.f.projectA, "-o", "json")).out, before, "nothing was allocated");
  for (const [argv, message] of [
    [["token", "issue"], "name a device (an agent's token) or --user"],
    [["token", "issue", "leaf01", "--user", "alice"], "name a device or --user, not both"],
    [["token", "issue", "leaf01", "--role", "admin"], "--role and --project go with --user"],
  ] as const) {
    const refused = await cli(ctx, ...argv);
    assert.is(refused.code, 2, argv.join(" "));
    assert.ok(refused.err.startsWith(`bulkhead token issue: ${message}`), refused.err);
  }
});

test("every resource has its verb: partitions, tenants and base networks are made and changed from the CLI", async (ctx) => {
  const ok = async (...argv: string[]) => {
    const r = await cli(ctx, ...argv, "-o", "json");
    assert.is(r.code, 0, `${argv.join(" ")}: ${r.err}`);
    return JSON.parse(r.out);
  };
  assert.is((await ok("partition", "create", "--id", "ams1", "--name", "Amsterdam", "--dns", "10.9.0.53", "--ntp", "10.9.0.123")).partition.name, "Amsterdam");
  const updated = (await ok("partition", "update", "ams1", "--description", "second site", "--dns", "10.9.0.54")).partition;
  assert.equal([updated.name, updated.description, updated.dnsServers], ["Amsterdam", "second site", ["10.9.0.54"]]);
  assert.is((await ok("tenant", "create", "--id", "globex", "--name", "Globex")).tenant.id, "globex");
  assert.is((await ok("tenant", "update", "globex", "--name", "Globex Corp")).tenant.name, "Globex Corp");
  assert.is((await ok("tenant", "describe", "globex")).tenant.name, "Globex Corp");
  const sup = (await ok("network", "create", "--type", "super", "--id", "ams-super", "--name", "ams super", "--partition", "ams1", "--prefix", "10.64.0.0/14", "--child-length", "22")).network;
  assert.equal([sup.type, sup.prefixes, sup.defaultChildPrefixLength], ["NETWORK_TYPE_SUPER", ["10.64.0.0/14"], { ipv4: 22 }]);
  assert.is((await ok("network", "create", "--type", "underlay", "--id", "ams-underlay", "--name", "ams underlay", "--partition", "ams1", "--prefix", "10.127.0.0/20")).network.type, "NETWORK_TYPE_UNDERLAY");
  const ext = (await ok("network", "create", "--type", "external", "--id", "transit", "--name", "transit", "--prefix", "185.9.0.0/24", "--destination", "0.0.0.0/0", "--vrf", "104100", "--nat", "ipv4-masquerade")).network;
  assert.equal([ext.vrf, ext.natType, ext.destinationPrefixes], [104100, "NAT_TYPE_IPV4_MASQUERADE", ["0.0.0.0/0"]]);
  const badType = await cli(ctx, "network", "create", "--type", "child", "--name", "x", "--prefix", "10.0.0.0/8");
  assert.equal([badType.code, badType.err.trim()], [2, 'bulkhead network create: --type must be one of super, super-namespaced, underlay, external, not "child"']);
  const hostBits = await cli(ctx, "network", "create", "--type", "underlay", "--name", "x", "--partition", "ams1", "--prefix", "10.1.2.3/16", "--prefix", "2001:db8::1/48");
  assert.equal([hostBits.code, hostBits.err.trim()], [1, "error: invalid_argument:\n  prefixes[0]: host bits set; did you mean 10.1.0.0/16?\n  prefixes[1]: host bits set; did you mean 2001:db8::/48?"]);
  const noVrf = await cli(ctx, "network", "create", "--type", "external", "--name", "x", "--prefix", "185.10.0.0/24");
  assert.is(noVrf.code, 1);
  assert.match(noVrf.err, "vrf is required for external networks");
});

test("token issue --user signs a person's token with npm start's issuer key, and only where there is one", async (ctx) => {
  const refused = await cli(ctx, "token", "issue", "--user", "alice");
  assert.is(refused.code, 1);
  assert.match(refused.err, "development tokens for npm start's installation only");
  const { privateKey } = generateKeyPairSync("ed25519");
  const keyFile = join(dirname(ctx.config), "users-key.pem");
  writeFileSync(keyFile, privateKey.export({ type: "pkcs8", format: "pem" }));
  const config = JSON.parse(readFileSync(ctx.config, "utf8"));
  writeFileSync(ctx.config, JSON.stringify({ ...config, userIssuerKey: keyFile }));
  const minted = await cli(ctx, "token", "issue", "--user", "alice", "--project", `${ctx.f.projectA}=editor`, "--ttl", "2");
  assert.is(minted.code, 0, minted.err);
  const claims = JSON.parse(Buffer.from(minted.out.trim().split(".")[1]!, "base64url").toString());
  assert.equal([claims.kind, claims.sub, claims.projects, claims.exp - claims.iat], ["user", "alice", { [ctx.f.projectA]: "editor" }, 2 * 86_400]);
  const bad = await cli(ctx, "token", "issue", "--user", "alice", "--role", "root");
  assert.equal([bad.code, bad.err.includes("--role root: must be admin or viewer")], [2, true]);
  writeFileSync(ctx.config, JSON.stringify(config));
});

test("without a token the server answers unauthenticated", async (ctx) => {
  writeFileSync(ctx.config, JSON.stringify({ endpoints: { network: ctx.f.network.url } }));
  const denied = await cli(ctx, "partition", "list");
  assert.is(denied.code, 1);
  assert.match(denied.err, /^error: unauthenticated/);
});

test("configuration: flags over environment over the file; one endpoint for a gateway", () => {
  const dir = mkdtempSync(join(tmpdir(), "bh-cfg-"));
  const file = join(dir, "c.json");
  writeFileSync(file, JSON.stringify({ endpoints: { network: "http://file:1" }, token: "file-token" }));
  const fromFile = loadConfig({ config: file }, {});
  assert.equal([typeof fromFile.endpoints === "string" ? "" : fromFile.endpoints.network, fromFile.token], ["http://file:1", "file-token"]);
  const fromEnv = loadConfig({ config: file }, { BULKHEAD_TOKEN: "env-token", BULKHEAD_NETWORK_URL: "http://env:2" });
  assert.equal([typeof fromEnv.endpoints === "string" ? "" : fromEnv.endpoints.network, fromEnv.token], ["http://env:2", "env-token"]);
  const fromFlags = loadConfig({ config: file, token: "flag-token", endpoint: "https://gateway" }, { BULKHEAD_TOKEN: "env-token" });
  assert.equal([fromFlags.endpoints, fromFlags.token], ["https://gateway", "flag-token"]);
  assert.throws(() => loadConfig({ config: join(dir, "missing.json") }, {}), /does not exist/);
});

test.run();
