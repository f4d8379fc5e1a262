// The `keys` and `token` commands: the layout services are configured with, and user tokens
// that the issuer's public key verifies.
import { spawnSync } from "node:child_process";
import { createPublicKey } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { verifyToken } from "../src/auth.js";
import { tokenSettings } from "../src/identity.js";

const command = (name: string, args: string[]) => spawnSync(process.execPath, ["--import", "tsx", new URL(`../src/${name}.ts`, import.meta.url).pathname, ...args], { encoding: "utf8", timeout: 60_000 });
const dir = mkdtempSync(join(tmpdir(), "bh-keys-"));

test.after(() => rmSync(dir, { recursive: true, force: true }));

test("keys makes each service's pair and the user-token issuer's, and keeps them on a second run", () => {
  const made = command("keys", [dir, "ipam", "network"]);
  assert.is(made.status, 0, made.stderr);
  for (const file of ["ipam/key.pem", "network/key.pem", "users/key.pem"]) assert.is(statSync(join(dir, file)).mode & 0o777, 0o600, file);
  for (const file of ["public/ipam.pub", "public/network.pub", "users-public/key.pub"]) assert.ok(existsSync(join(dir, file)), file);
  assert.not.ok(existsSync(join(dir, "public", "users.pub")), "the issuer's key is no service key");
  const before = readFileSync(join(dir, "public/ipam.pub"), "utf8");
  assert.is(command("keys", [dir, "ipam"]).status, 0);
  assert.is(readFileSync(join(dir, "public/ipam.pub"), "utf8"), before);
  assert.is(command("keys", ["relative", "ipam"]).status, 2);
});

test("token mints a user's token that services verify with the issuer's public key, and refuses bad flags", async () => {
  const minted = command("token", [join(dir, "users/key.pem"), "alice", "--role", "admin", "--project", "p1=owner", "--ttl", "10m"]);
  assert.is(minted.status, 0, minted.stderr);
  const settings = { secret: "", issuer: "bulkhead", audience: "bulkhead", publicKey: createPublicKey(readFileSync(join(dir, "users-public/key.pub"))) };
  const principal = await verifyToken(settings, minted.stdout.trim());
  assert.equal([principal.kind, principal.subject, [...principal.platformRoles], [...principal.projects]], ["user", "alice", ["admin"], [["p1", "owner"]]]);
  for (const bad of [["--role", "root"], ["--project", "p1=god"], ["--ttl", "forever"], ["--unknown"]]) {
    const refused = command("token", [join(dir, "users/key.pem"), "alice", ...bad]);
    assert.is(refused.status, 2, bad.join(" "));
    assert.match(refused.stderr, "usage:");
  }
});

test("a service configured with the keys loads every public key and refuses a key that is not Ed25519", () => {
  const config = { BULKHEAD_JWT_SECRET: "", BULKHEAD_JWT_PUBLIC_KEY_FILE: join(dir, "users-public/key.pub"), BULKHEAD_SERVICE_KEY_FILE: join(dir, "ipam/key.pem"), BULKHEAD_SERVICE_KEYS_DIR: join(dir, "public"), BULKHEAD_JWT_ISSUER: "bulkhead", BULKHEAD_JWT_AUDIENCE: "bulkhead", BULKHEAD_JWT_CLOCK_SKEW_S: 30, BULKHEAD_OIDC_ISSUER: undefined, BULKHEAD_OIDC_AUDIENCE: "bulkhead", BULKHEAD_OIDC_JWKS_URL: undefined, BULKHEAD_OIDC_ROLES_CLAIM: "r", BULKHEAD_OIDC_PROJECTS_CLAIM: "p" };
  const settings = tokenSettings(config, "ipam");
  assert.equal([...settings.serviceKeys!.keys()].sort(), ["ipam", "network"]);
  assert.is(settings.serviceKey?.name, "ipam");
  assert.throws(() => tokenSettings({ ...config, BULKHEAD_SERVICE_KEYS_DIR: undefined }, "ipam"), /BULKHEAD_SERVICE_KEYS_DIR: required with BULKHEAD_SERVICE_KEY_FILE/);
  assert.throws(() => tokenSettings({ ...config, BULKHEAD_SERVICE_KEY_FILE: join(dir, "public/ipam.pub") }, "ipam"));
  assert.throws(() => tokenSettings({ ...config, BULKHEAD_JWT_PUBLIC_KEY_FILE: undefined, BULKHEAD_SERVICE_KEYS_DIR: undefined, BULKHEAD_SERVICE_KEY_FILE: undefined }, "ipam"), /BULKHEAD_JWT_SECRET: required/);
});

test.run();
