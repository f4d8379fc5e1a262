// npm start's path: the launcher in a process of its own with its own PostgreSQL server and a local Valkey,
// driven like a user would — the printed `bulkhead` and `buf curl` walkthroughs run exactly as
// printed; the simulated leaf gains the new VRF and the firewall the policy's rule, and the fabric
// lab proves the demo fabric on real FRR; restart keeps the data, --reset starts clean, SIGINT
// stops everything.
import { execFile } from "node:child_process";
import { createPrivateKey, sign } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { createServiceClient } from "@bulkhead/service-kit";
import { promisify } from "node:util";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { cleanUp, cliEnv, dataDirectory, freeBasePort, launch, launchRefused, section, sh, stop } from "./launch.js";

const exec = promisify(execFile);
const base64url = (value: string | Buffer) => Buffer.from(value).toString("base64url");

/** A JWT signed with the Ed25519 key in `keyFile` under that service's kid, with any claims. */
function forge(keyFile: string, claims: Record<string, unknown>): string {
  const now = Math.floor(Date.now() / 1000);
  const unsigned = `${base64url(JSON.stringify({ alg: "EdDSA", kid: "network" }))}.${base64url(JSON.stringify({ iss: "bulkhead", aud: "bulkhead", iat: now, exp: now + 600, ...claims }))}`;
  return `${unsigned}.${base64url(sign(null, Buffer.from(unsigned), createPrivateKey(readFileSync(keyFile))))}`;
}
const test = suite<{ dir: string; basePort: number }>("launcher", {} as never);

test.before(async (ctx) => {
  ctx.dir = dataDirectory("launch");
  ctx.basePort = await freeBasePort();
});
// A failed assertion must not leave a launcher running.
test.after(cleanUp);

test("seeds a demo fabric; the printed walkthroughs work as printed; data survives restarts; --reset starts clean", async ({ dir, basePort }) => {
  const first = await launch(dir, [], basePort);
  assert.match(first.output(), `http://127.0.0.1:${basePort}`);
  assert.match(first.output(), "Seeding the demo fabric");
  assert.not.match(first.output(), /"level":"(warn|error|fatal)"/, "a healthy first start prints no warning");

  const cli = section(first.output(), "Try it with the bulkhead CLI");
  assert.ok(cli.length >= 10 && cli[0]!.startsWith("export PROJECT="), cli.join("\n"));
  const { stdout, stderr } = await sh(cli);
  assert.match(stdout, /leaf01\s+demo\s+r1\s+leaf/, "switch list shows the demo leaves");
  assert.match(stdout, /^vrf vrf\d+$/m, "the machine's VRF reached leaf01's frr.conf");
  assert.match(stdout, /tcp dport 443 counter accept comment "web-out: egress 0"/, "the policy reached the firewall's ruleset");
  assert.match(stdout, /partition demo: isolated — 6 devices/, "and the partition verifies");
  assert.match(stdout, /^fabric lab of partition demo: \d+ routers, \d+ probes, converged yes/m, "the fabric lab runs the demo fabric on real FRR");
  assert.match(stdout, /^0 leaks, 0 black holes, 0 strays, (\d+)\/\1 pings as expected$/m, "and proves it");
  assert.match(stderr, /fabric converged in [\d.]+ s: .*leaf01 generation/, "--wait shows the convergence");
  const leaf = readFileSync(join(dir, "devices", "leaf01", "frr", "frr.conf"), "utf8");
  const vrfs = [...leaf.matchAll(/^vrf (vrf\d+)$/gm)].map((m) => m[1]);
  assert.is(vrfs.length, 2, `web, and db instantiated for the peering's routes, on leaf01: ${vrfs.join(", ")}`);

  const project = cli[0]!.slice("export PROJECT=".length);
  const token = readFileSync(join(dir, "admin-token"), "utf8");
  // A tenant, with a development token of npm start's issuer: waits for its own change and sees the
  // devices carrying its project's networks.
  const member = (await sh([`./bulkhead token issue --user alice --project ${project}=editor`], cliEnv(dir))).stdout.trim();
  const tenant = await sh([`./bulkhead ip allocate --project ${project} --network $(./bulkhead network list --project ${project} -o json | node -pe 'JSON.parse(require("fs").readFileSync(0)).networks.find((n) => n.name === "web").id') --name tenant-ip --wait`, `./bulkhead fabric status --project ${project}`], { ...cliEnv(dir), BULKHEAD_TOKEN: member });
  assert.match(tenant.stderr, /fabric in sync: the change affects no device|fabric converged in/, "a member's --wait follows its change");
  assert.match(tenant.stdout, /^leaf01\s/m, "and fabric status shows the project's leaves");
  // No service can make an admin: a token a service's own key signs, claiming a user's admin role,
  // is refused by another service; the admin token works.
  const forged = forge(join(dir, "keys", "network", "key.pem"), { kind: "user", sub: "mallory", roles: ["admin"] });
  const ipam = (bearer: string) => createServiceClient(IpamService, { baseUrl: `http://127.0.0.1:${basePort}`, token: bearer, protocol: "grpc" });
  assert.is(await ipam(forged).listPrefixes({}).then(() => "accepted", (error) => ConnectError.from(error).code), Code.Unauthenticated);
  assert.ok((await ipam(token).listPrefixes({})).prefixes.length > 0);
  const curl = section(first.output(), "Or with buf curl");
  const bufOut = (await sh(curl, { PROJECT: project })).stdout;
  assert.match(bufOut, '"fromNetwork"', "the leak plan shows the peering's imports");
  assert.match(bufOut, '"passed": true', "VerifyPartition passes");
  // A second launcher on the same data refuses, naming the first, and touches nothing; one on
  // other data but the same ports says which variable moves them, without a stack trace.
  const twice = await launchRefused(dir, [], await freeBasePort());
  assert.is(twice.code, 1, twice.output);
  assert.match(twice.output, `Bulkhead is already running on ${dir} (launcher pid ${first.child.pid})`);
  const elsewhere = dataDirectory("launch-other");
  const ports = await launchRefused(elsewhere, [], basePort);
  // Data of the earlier PGlite launcher is never silently replaced.
  mkdirSync(join(elsewhere, "pgdata"));
  const pglite = await launchRefused(elsewhere, [], await freeBasePort());
  assert.is(pglite.code, 1, pglite.output);
  assert.match(pglite.output, "holds the data of the earlier embedded PGlite");
  assert.is(ports.code, 1, ports.output);
  assert.match(ports.output, new RegExp(`port ${basePort} is in use by another program; start Bulkhead on other ports with BULKHEAD_BASE_PORT`));
  assert.not.match(ports.output, "    at ", "no stack trace");
  assert.ok((await ipam(token).listPrefixes({})).prefixes.length > 0, "the first launcher still serves");
  assert.is(await stop(first.child), 0, "Ctrl-C stops cleanly");
  assert.not.ok(existsSync(join(dir, "postgres", "postmaster.pid")), "PostgreSQL stopped with it");

  const second = await launch(dir, [], basePort);
  assert.not.match(second.output(), "Seeding the demo fabric", "the second start finds its data");
  assert.not.match(second.output(), /"level":"(warn|error|fatal)"/, "a healthy restart prints no warning");
  const networks = (await sh([`./bulkhead network list --project ${project} -o json`], cliEnv(dir))).stdout;
  const own = (json: string) => (JSON.parse(json).networks as { name: string; project?: string }[]).filter((n) => n.project).map((n) => n.name).sort();
  assert.equal(own(networks), ["app", "db", "web"]);
  assert.is(await stop(second.child, "SIGTERM"), 0, "SIGTERM stops cleanly too");
  assert.not.ok(existsSync(join(dir, "launcher.pid")), "the lock is released");
  assert.not.ok(existsSync(join(dir, "postgres", "postmaster.pid")), "PostgreSQL stopped with it");

  const reset = await launch(dir, ["--reset"], basePort);
  assert.match(reset.output(), "Seeding the demo fabric", "--reset starts clean");
  const fresh = section(reset.output(), "Try it with the bulkhead CLI")[0]!; // export PROJECT=<the new project>
  const after = (await sh([fresh, "./bulkhead network list --project $PROJECT -o json"], cliEnv(dir))).stdout;
  assert.equal(own(after), []);
  assert.is(await stop(reset.child), 0);
});

test("--tls: every listener serves TLS from a local CA; the CLI, buf curl and the agents work over it, cleartext does not", async () => {
  const dir = dataDirectory("launch-tls");
  // Ports of its own: a failure of the first test must not fail this one too.
  const port = await freeBasePort();
  const launched = await launch(dir, ["--tls"], port);
  assert.match(launched.output(), `https://127.0.0.1:${port}`);
  assert.match((await sh(["./bulkhead switch list"], cliEnv(dir))).stdout, /leaf01\s+demo\s+r1\s+leaf/);
  const curl = section(launched.output(), "Or with buf curl");
  assert.match(curl[1]!, `--cacert `);
  assert.match((await sh(curl.slice(0, 2))).stdout, '"leaf01"');
  const cleartext = await exec("curl", ["-sS", "--http2-prior-knowledge", `http://127.0.0.1:${port}/healthz`]).then(() => "answered", () => "refused");
  assert.is(cleartext, "refused");
  // The reconciler reaches the agents over TLS with its device-bound tokens: a leaf is in sync.
  let status = "";
  for (let i = 0; i < 120 && !/leaf01\s+leaf\s+in-sync/.test(status); i++) {
    status = (await sh(["./bulkhead fabric status --partition demo"], cliEnv(dir))).stdout;
    await new Promise((r) => setTimeout(r, 500));
  }
  assert.match(status, /leaf01\s+leaf\s+in-sync/);
  assert.is(await stop(launched.child), 0);
});

test.run();
