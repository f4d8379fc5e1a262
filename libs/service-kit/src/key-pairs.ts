// Ed25519 key pairs Bulkhead signs tokens with: the reconciler's for its calls to agents, and each
// service's own for its calls to other services. One home for where they live and how they are made.
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface KeyPairFiles {
  privateKeyFile: string;
  publicKeyFile: string;
}
export type AgentSigningKeyFiles = KeyPairFiles;

/** The pair at these paths, made there if either is missing (private 0600, public 0644). */
function keyPair(files: KeyPairFiles): KeyPairFiles {
  if (!existsSync(files.privateKeyFile) || !existsSync(files.publicKeyFile)) {
    for (const file of Object.values(files)) mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    writeFileSync(files.privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    writeFileSync(files.publicKeyFile, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644 });
  }
  return files;
}

/** The reconciler's pair in `dir` (agent-signing.pem, agent-signing.pub). */
export function agentSigningKeyPair(dir: string): AgentSigningKeyFiles {
  return keyPair({ privateKeyFile: join(dir, "agent-signing.pem"), publicKeyFile: join(dir, "agent-signing.pub") });
}

/**
 * A service's pair under `dir`: `<service>/key.pem` (mounted into that service alone as
 * BULKHEAD_SERVICE_KEY_FILE) and `public/<service>.pub` (the `public` directory is every
 * service's BULKHEAD_SERVICE_KEYS_DIR).
 */
export function serviceKeyPair(dir: string, service: string): KeyPairFiles {
  return keyPair({ privateKeyFile: join(dir, service, "key.pem"), publicKeyFile: join(serviceKeysDir(dir), `${service}.pub`) });
}

/** The directory of every service's public key under `dir`. */
export const serviceKeysDir = (dir: string) => join(dir, "public");

/**
 * The user-token issuer's pair under `dir`: `users/key.pem` (operators only) and
 * `users-public/key.pub` (every service's BULKHEAD_JWT_PUBLIC_KEY_FILE; a directory of its own, so
 * it can be mounted without the private half).
 */
export function userIssuerKeyPair(dir: string): KeyPairFiles {
  return keyPair({ privateKeyFile: join(dir, "users", "key.pem"), publicKeyFile: join(dir, "users-public", "key.pub") });
}
