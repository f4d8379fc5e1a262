// npm start's path: the launcher in a process of its own with embedded PGlite and a local
// Valkey, driven like a user would; restart keeps the data, SIGINT stops everything.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { IpamService } from "@bulkhead/api/gen/bulkhead/ipam/v1/ipam_pb.js";
import { createServiceClient } from "@bulkhead/service-kit";

const run = promisify(execFile);
const test = suite<{ dir: string }>("launcher", {} as never);
const basePort = 17001 + Math.floor(Math.random() * 500);

async function launch(dir: string, args: string[] = []): Promise<{ child: ChildProcess; output: () => string }> {
  const env: Record<string, string | undefined> = { ...process.env, BULKHEAD_DATA_DIR: dir, BULKHEAD_BASE_PORT: String(basePort) };
  delete env.DATABASE_URL;
  delete env.VALKEY_URL;
  const child = spawn(process.execPath, ["--import", "tsx", new URL("../start.ts", import.meta.url).pathname, ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  for (let i = 0; i < 600 && !output.includes("Bulkhead is running."); i++) {
    if (child.exitCode !== null) throw new Error(`launcher exited:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(output, "Bulkhead is running.");
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<number | null> {
  child.kill("SIGINT");
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

test.before((ctx) => {
  ctx.dir = mkdtempSync(join(tmpdir(), "bh-launch-"));
});

test("starts with embedded defaults, prints endpoints and a walkthrough that works as printed, keeps data across restarts", async ({ dir }) => {
  const first = await launch(dir);
  assert.match(first.output(), `http://127.0.0.1:${basePort}`);
  const token = readFileSync(join(dir, "admin-token"), "utf8");
  // Run the printed walkthrough exactly as a user would paste it.
  const walkthrough = first.output().split("\n").filter((line) => /^\s+(buf curl|[A-Z]+=\$\()/.test(line) && !line.includes("--list-methods"));
  assert.ok(walkthrough.length >= 6, "the walkthrough is printed");
  const bin = new URL("../../../node_modules/.bin", import.meta.url).pathname;
  const { stdout } = await run("bash", ["-e", "-c", walkthrough.join("\n")], { env: { ...process.env, TOKEN: token, PATH: `${bin}:${process.env.PATH}` } });
  assert.match(stdout, '"acquiredPrefixes": "2"', "the walkthrough allocated two networks out of the super network");
  assert.match(stdout, '"name": "ubuntu-24-04"', "and registered an OS image with the inventory");
  assert.match(stdout, '"fromNetwork"', "and peered two networks: the leak plan shows the imports");
  assert.is(readFileSync(join(dir, "secrets-key"), "utf8").length, 44, "a key for BMC credentials was made");
  const ipam = createServiceClient(IpamService, { baseUrl: `http://127.0.0.1:${basePort}`, token, protocol: "grpc" });
  await ipam.createPrefix({ cidr: "10.77.0.0/16" });
  assert.is((await ipam.acquireIP({ prefixCidr: "10.77.0.0/16" })).ip?.ip, "10.77.0.1");
  assert.is(await stop(first.child), 0, "Ctrl-C stops cleanly");

  const second = await launch(dir);
  const again = createServiceClient(IpamService, { baseUrl: `http://127.0.0.1:${basePort}`, token: readFileSync(join(dir, "admin-token"), "utf8"), protocol: "grpc" });
  assert.is((await again.acquireIP({ prefixCidr: "10.77.0.0/16" })).ip?.ip, "10.77.0.2", "the first address survived the restart");
  assert.is((await again.getPrefixUsage({ cidrs: ["10.0.0.0/16"] })).prefixes[0]?.acquiredPrefixes, 2n, "so did the walkthrough's networks");
  assert.is(await stop(second.child), 0);

  const reset = await launch(dir, ["--reset"]);
  const fresh = createServiceClient(IpamService, { baseUrl: `http://127.0.0.1:${basePort}`, token: readFileSync(join(dir, "admin-token"), "utf8"), protocol: "grpc" });
  assert.is((await fresh.listPrefixes({})).prefixes.length, 0, "--reset starts clean");
  assert.is(await stop(reset.child), 0);
});

test.run();
