// Mints a user's token with the user-token issuer's private key (see `keys`):
//   pnpm --filter @bulkhead/service-kit token <issuer key.pem> <user> [--role admin|viewer]… [--project <id>=owner|editor|viewer]… [--ttl 12h]
// Prints the token only (for `export TOKEN=$(…)`). Services verify it with the issuer's public key.
import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { signTokenWithKey, type PlatformRoleName, type ProjectRoleName } from "./auth.js";

const usage = "usage: pnpm --filter @bulkhead/service-kit token <issuer key.pem> <user> [--role admin|viewer]… [--project <id>=owner|editor|viewer]… [--ttl 12h]";
const fail = (message: string): never => {
  console.error(`${message}\n${usage}`);
  process.exit(2);
};

const { values, positionals } = (() => {
  try {
    return parseArgs({ allowPositionals: true, options: { role: { type: "string", multiple: true }, project: { type: "string", multiple: true }, ttl: { type: "string", default: "12h" } } });
  } catch (error) {
    return fail((error as Error).message);
  }
})();
const [keyFile, user] = positionals;
if (!keyFile || !user || positionals.length !== 2) fail("an issuer key and one user are required");
const roles = (values.role ?? []).map((r) => (r === "admin" || r === "viewer" ? (r as PlatformRoleName) : fail(`--role ${r}: must be admin or viewer`)));
const projects = Object.fromEntries(
  (values.project ?? []).map((p) => {
    const [id, role] = p.split("=");
    return id && (role === "owner" || role === "editor" || role === "viewer") ? [id, role as ProjectRoleName] : fail(`--project ${p}: must be <id>=owner|editor|viewer`);
  }),
);
if (!/^\d+[smhd]$/.test(values.ttl!)) fail(`--ttl ${values.ttl}: must be a number and one of s, m, h, d (e.g. 12h)`);
const key = createPrivateKey(readFileSync(keyFile!));
if (key.asymmetricKeyType !== "ed25519") fail(`${keyFile} is not an Ed25519 private key`);
const issuer = process.env.BULKHEAD_JWT_ISSUER || "bulkhead";
const audience = process.env.BULKHEAD_JWT_AUDIENCE || "bulkhead";
console.log(await signTokenWithKey({ secret: "", issuer, audience }, key, { kind: "user", subject: user!, roles, projects, expiresIn: values.ttl }));
