// Tokens signed with a service's own key: the service itself or an agent it issued a token to,
// never a user; and a service holding only its own key cannot sign as another service.
import { generateKeyPairSync } from "node:crypto";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { SignJWT } from "jose";
import { signServiceToken, signToken, verifyToken, type TokenSettings } from "../src/auth.js";

const pair = () => generateKeyPairSync("ed25519");
const network = pair();
const ipam = pair();
const secret = "s".repeat(40);
/** What every service knows: the services' public keys; no shared secret. */
const verifier: TokenSettings = { secret: "", issuer: "bulkhead", audience: "bulkhead", serviceKeys: new Map([["network", network.publicKey], ["ipam", ipam.publicKey]]) };
const asNetwork: TokenSettings = { ...verifier, serviceKey: { name: "network", privateKey: network.privateKey } };

const refusal = (token: string, settings = verifier) => verifyToken(settings, token).then(() => "accepted", (error: Error) => error.message);
/** A token a compromised service could forge with its own key: any claims, its kid. */
const forged = (claims: Record<string, unknown>, subject: string, kid = "network", key = network.privateKey) =>
  new SignJWT(claims).setProtectedHeader({ alg: "EdDSA", kid }).setSubject(subject).setIssuer("bulkhead").setAudience("bulkhead").setIssuedAt().setExpirationTime("1h").sign(key);

test("a service's token is verified with its own public key and carries no roles", async () => {
  const principal = await verifyToken(verifier, await signServiceToken(asNetwork, { kind: "service", subject: "network" }));
  assert.equal([principal.kind, principal.subject, [...principal.platformRoles], [...principal.projects]], ["service", "network", [], []]);
});

test("an agent token a service issued is an agent's, for its device only", async () => {
  const principal = await verifyToken(verifier, await signServiceToken(asNetwork, { kind: "agent", subject: "leaf01", device: "leaf01" }));
  assert.equal([principal.kind, principal.device], ["agent", "leaf01"]);
  assert.match(await refusal(await forged({ kind: "agent", device: "leaf02" }, "leaf01")), "service and agent tokens");
});

test("a service key never signs a user's token, an admin's role, or another service's identity", async () => {
  assert.match(await refusal(await forged({ kind: "user", roles: ["admin"] }, "alice")), "signs only service and agent tokens");
  assert.match(await refusal(await forged({ kind: "service", roles: ["admin"] }, "reconciler")), "only its own service's tokens");
  // Roles in a service's own token are ignored, not honoured.
  const principal = await verifyToken(verifier, await forged({ kind: "service", roles: ["admin"], projects: { p1: "owner" } }, "network"));
  assert.equal([[...principal.platformRoles], [...principal.projects]], [[], []]);
  // Signed with network's key but naming ipam's: the signature does not match.
  assert.match(await refusal(await forged({ kind: "service" }, "ipam", "ipam", network.privateKey)), "not valid");
  assert.match(await refusal(await forged({ kind: "service" }, "ghost", "ghost")), "does not know");
  await signServiceToken(asNetwork, { kind: "service", subject: "reconciler" }).then(
    () => assert.unreachable("network signed as the reconciler"),
    (error: Error) => assert.match(error.message, "cannot sign a token of service reconciler"),
  );
});

test("without its own key a service signs with the shared secret (development), which a key-only verifier refuses", async () => {
  const dev: TokenSettings = { secret, issuer: "bulkhead", audience: "bulkhead" };
  const token = await signServiceToken(dev, { kind: "service", subject: "network" });
  assert.is((await verifyToken(dev, token)).subject, "network");
  assert.match(await refusal(token, { ...verifier, secret: "" }), "not valid");
  assert.match(await refusal(await signToken(dev, { kind: "user", subject: "root", roles: ["admin"] })), "not valid");
});

test.run();
