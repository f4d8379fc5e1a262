// Identities: people's tokens from an OIDC provider (JWKS through discovery), per-device agent
// tokens issued by an admin, revocation of a token or of a principal across replicas, and
// services that accept only tokens signed with a public key (agents).
import { createServer, type Server } from "node:http";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { exportJWK, SignJWT } from "jose";
import { TokenService } from "@bulkhead/api/gen/bulkhead/auth/v1/token_pb.js";
import { PartitionService } from "@bulkhead/api/gen/bulkhead/network/v1/partition_pb.js";
import { signToken, signTokenWithKey } from "@bulkhead/service-kit";
import { failure, freePort, startTestService, startValkey, type TestService } from "@bulkhead/testkit";
import { fixtureService } from "./fixture/service.js";

interface Ctx {
  idp: Server;
  issuer: string;
  idpKey: KeyObject;
  svc: TestService;
  replica: TestService;
}
const test = suite<Ctx>("identities and revocation", {} as never);

test.before(async (ctx) => {
  // A minimal OpenID provider: discovery document and JWKS.
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  ctx.idpKey = privateKey;
  const jwk = { ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  ctx.idp = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration") res.end(JSON.stringify({ issuer: ctx.issuer, jwks_uri: `${ctx.issuer}/keys` }));
    else if (req.url === "/keys") res.end(JSON.stringify({ keys: [jwk] }));
    else res.writeHead(404).end("{}");
  });
  await new Promise<void>((resolve) => ctx.idp.listen(0, "127.0.0.1", resolve));
  ctx.issuer = `http://127.0.0.1:${(ctx.idp.address() as { port: number }).port}`;
  ctx.svc = await startTestService(fixtureService, { env: { BULKHEAD_OIDC_ISSUER: ctx.issuer, BULKHEAD_OIDC_AUDIENCE: "bulkhead-cli" } });
  ctx.replica = await startTestService(fixtureService, { secret: ctx.svc.tokens.secret, env: { BULKHEAD_QUEUE_PREFIX: ctx.svc.queuePrefix } });
  await ctx.svc.client(PartitionService, await ctx.svc.adminToken()).createPartition({ id: "fra1", name: "Frankfurt" });
  await ctx.replica.client(PartitionService, await ctx.replica.adminToken()).createPartition({ id: "fra1", name: "Frankfurt" });
});
test.after(async (ctx) => {
  await ctx.replica?.stop();
  await ctx.svc?.stop();
  ctx.idp?.close();
});

const person = (ctx: Ctx, claims: Record<string, unknown>, options: { aud?: string; expiresAt?: number; key?: KeyObject; kid?: string } = {}) =>
  new SignJWT({ bulkhead_roles: [], bulkhead_projects: {}, ...claims })
    .setProtectedHeader({ alg: "RS256", kid: options.kid ?? "k1" })
    .setIssuer(ctx.issuer)
    .setAudience(options.aud ?? "bulkhead-cli")
    .setSubject("alice@example.org")
    .setIssuedAt()
    .setExpirationTime(options.expiresAt ?? Math.floor(Date.now() / 1000) + 300)
    .sign(options.key ?? ctx.idpKey);

const get = (svc: TestService, token: string) => svc.client(PartitionService, token).getPartition({ id: "fra1" });
const create = (svc: TestService, token: string, id: string) => svc.client(PartitionService, token).createPartition({ id, name: id });
const refused = async (call: Promise<unknown>) => {
  const error = await failure(call);
  return `${Code[error.code]}: ${error.rawMessage}`;
};

test("OIDC: the provider's signed claims make a person admin or project member; aud, expiry with skew and keys are checked", async (ctx) => {
  await create(ctx.svc, await person(ctx, { bulkhead_roles: ["admin"] }), "oidc-admin");
  assert.is(await refused(create(ctx.svc, await person(ctx, { bulkhead_projects: { p1: "owner" } }), "oidc-member")), "PermissionDenied: permission denied: CreatePartition is not permitted for user:alice@example.org");
  await get(ctx.svc, await person(ctx, {}));
  assert.is(await refused(get(ctx.svc, await person(ctx, {}, { aud: "someone-else" }))), 'Unauthenticated: token claim aud is not valid');
  const now = Math.floor(Date.now() / 1000);
  await get(ctx.svc, await person(ctx, {}, { expiresAt: now - 10 })); // within the 30 s skew
  assert.is(await refused(get(ctx.svc, await person(ctx, {}, { expiresAt: now - 120 }))), "Unauthenticated: token expired");
  const stranger = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
  assert.match(await refused(get(ctx.svc, await person(ctx, {}, { key: stranger }))), /^Unauthenticated: token is not valid/);
  assert.match(await refused(get(ctx.svc, await person(ctx, {}, { key: stranger, kid: "k2" }))), /^Unauthenticated: token is signed with a key the identity provider does not publish/);
  // Bulkhead's shared secret cannot mint a person of the provider (no algorithm confusion).
  const forged = await new SignJWT({ bulkhead_roles: ["admin"] }).setProtectedHeader({ alg: "HS256" }).setIssuer(ctx.issuer).setAudience("bulkhead-cli").setSubject("mallory").setExpirationTime("5m").sign(new TextEncoder().encode(ctx.svc.tokens.secret));
  assert.match(await refused(get(ctx.svc, forged)), /^Unauthenticated/);
});

test("OIDC provider unreachable: unavailable, not a caller error", async (ctx) => {
  const issuer = `http://127.0.0.1:${await freePort()}`;
  const lonely = await startTestService(fixtureService, { env: { BULKHEAD_OIDC_ISSUER: issuer } });
  try {
    const token = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(issuer).setAudience("bulkhead").setSubject("bob").setExpirationTime("5m").sign(ctx.idpKey);
    assert.match(await refused(get(lonely, token)), /^Unavailable: the token cannot be checked now/);
  } finally {
    await lonely.stop();
  }
});

test("OIDC discovery naming another issuer than the configured one: no token of it is accepted", async (ctx) => {
  const keys = await (await fetch(`${ctx.issuer}/keys`)).json();
  const liar = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    if (req.url === "/.well-known/openid-configuration") res.end(JSON.stringify({ issuer: "https://idp.example.org", jwks_uri: `http://127.0.0.1:${(liar.address() as { port: number }).port}/keys` }));
    else res.end(JSON.stringify(keys));
  });
  await new Promise<void>((resolve) => liar.listen(0, "127.0.0.1", resolve));
  const issuer = `http://127.0.0.1:${(liar.address() as { port: number }).port}`;
  const fooled = await startTestService(fixtureService, { env: { BULKHEAD_OIDC_ISSUER: issuer } });
  try {
    const token = await new SignJWT({ bulkhead_roles: ["admin"] }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(issuer).setAudience("bulkhead").setSubject("mallory").setExpirationTime("5m").sign(ctx.idpKey);
    assert.match(await refused(get(fooled, token)), /^Unavailable: the token cannot be checked now/);
  } finally {
    await fooled.stop();
    liar.close();
  }
});

test("an admin issues a per-device agent token; revoking it refuses it on every replica", async (ctx) => {
  const tokens = ctx.svc.client(TokenService, await ctx.svc.adminToken());
  const issued = await tokens.issueAgentToken({ device: "leaf01", ttlSeconds: 3600 });
  await get(ctx.replica, issued.token);
  assert.is(await refused(ctx.svc.client(TokenService, issued.token).issueAgentToken({ device: "leaf02" })), "PermissionDenied: permission denied: IssueAgentToken is not permitted for agent:leaf01");
  await tokens.revokeToken({ tokenId: issued.tokenId });
  assert.is(await refused(get(ctx.svc, issued.token)), "Unauthenticated: token revoked");
  let outcome = "";
  for (let i = 0; i < 100 && outcome !== "Unauthenticated: token revoked"; i++) {
    outcome = await get(ctx.replica, issued.token).then(() => "accepted", (e) => `${Code[e.code]}: ${e.rawMessage}`);
    if (outcome === "accepted") await new Promise((r) => setTimeout(r, 100));
  }
  assert.is(outcome, "Unauthenticated: token revoked", "the replica refuses it within its refresh interval");
  const other = await tokens.issueAgentToken({ device: "leaf02" });
  await get(ctx.svc, other.token);
});

test("revoking a principal refuses its tokens issued until then, not the ones issued afterwards", async (ctx) => {
  const settings = ctx.svc.tokens;
  const old = await signToken(settings, { kind: "user", subject: "carol", roles: ["viewer"] });
  await get(ctx.svc, old);
  await ctx.svc.client(TokenService, await ctx.svc.adminToken()).revokePrincipal({ principal: "user:carol" });
  assert.is(await refused(get(ctx.svc, old)), "Unauthenticated: token revoked");
  await new Promise((r) => setTimeout(r, 1100)); // iat has whole seconds
  await get(ctx.svc, await signToken(settings, { kind: "user", subject: "carol", roles: ["viewer"] }));
  assert.is((await failure(ctx.svc.client(TokenService, await ctx.svc.adminToken()).revokePrincipal({ principal: "carol" }))).code, Code.InvalidArgument);
});

test("a revoked token is refused from the first call after a restart", async (ctx) => {
  const settings = ctx.svc.tokens;
  const dave = await signToken(settings, { kind: "user", subject: "dave", roles: ["viewer"] });
  await ctx.svc.client(TokenService, await ctx.svc.adminToken()).revokePrincipal({ principal: "user:dave" });
  await ctx.replica.restart();
  assert.is(await refused(get(ctx.replica, dave)), "Unauthenticated: token revoked", "the first call after the port opens");
});

test("Valkey unreachable at start: people's and agents' calls are unavailable until the revocation list is read; services' calls work", async () => {
  const svc = await startTestService(fixtureService, { env: { VALKEY_URL: `redis://127.0.0.1:${await freePort()}` } });
  try {
    for (const token of [await svc.adminToken(), await svc.agentToken("leaf01")]) {
      const error = await failure(svc.client(PartitionService, token).getPartition({ id: "none" }));
      assert.is(error.code, Code.Unavailable);
      assert.match(error.rawMessage, "the revocation list has not been read yet");
    }
    assert.is((await failure(svc.client(PartitionService, await svc.serviceToken()).getPartition({ id: "none" }))).code, Code.NotFound, "a service's call reaches the handler");
  } finally {
    await svc.stop();
  }
});

test("a hung Valkey (SIGSTOP) does not hang the API: calls are answered within the command deadline", async () => {
  const port = await freePort();
  const valkey = await startValkey(port, mkdtempSync(join(tmpdir(), "bh-valkey-")));
  const svc = await startTestService(fixtureService, { env: { VALKEY_URL: `redis://127.0.0.1:${port}`, BULKHEAD_VALKEY_COMMAND_TIMEOUT_MS: "200" } });
  try {
    const admin = svc.client(PartitionService, await svc.adminToken());
    await admin.createPartition({ id: "hung", name: "before" });
    valkey.kill("SIGSTOP");
    // Rate limits go unenforced and the last revocation list holds: reads and writes go on.
    assert.is((await admin.getPartition({ id: "hung" }, { timeoutMs: 5_000 })).partition?.name, "before");
    await admin.createPartition({ id: "hung-2", name: "during" }, { timeoutMs: 5_000 });
    valkey.kill("SIGCONT");
    assert.is((await admin.getPartition({ id: "hung-2" })).partition?.name, "during");
  } finally {
    valkey.kill("SIGCONT");
    await svc.stop();
    valkey.kill("SIGKILL");
  }
});

test("a service configured with a public key accepts only tokens signed with its private half", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const dir = mkdtempSync(join(tmpdir(), "bh-key-"));
  writeFileSync(join(dir, "reconciler.pub"), publicKey.export({ type: "spki", format: "pem" }));
  const agent = await startTestService({ ...fixtureService, storage: "none" } as typeof fixtureService, { env: { BULKHEAD_JWT_SECRET: "", BULKHEAD_JWT_PUBLIC_KEY_FILE: join(dir, "reconciler.pub") } });
  try {
    const settings = { ...agent.tokens, secret: "" };
    const signed = await signTokenWithKey(settings, privateKey, { kind: "service", subject: "reconciler" });
    const error = await failure(get(agent, signed));
    assert.is.not(error.code, Code.Unauthenticated, error.rawMessage);
    assert.match(await refused(get(agent, await signToken(agent.tokens, { kind: "user", subject: "admin", roles: ["admin"] }))), /^Unauthenticated: token is not valid/);
    const stranger = generateKeyPairSync("ed25519").privateKey;
    assert.match(await refused(get(agent, await signTokenWithKey(settings, stranger, { kind: "service", subject: "reconciler" }))), /^Unauthenticated: token is not valid/);
  } finally {
    await agent.stop();
  }
});

test.run();
