// The reconciler's Ed25519 key pair for its calls to agents: it signs with the private half, each
// agent verifies with the public half. One home for where the pair lives and how it is made.
import { generateKeyPairSync } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface AgentSigningKeyFiles {
  privateKeyFile: string;
  publicKeyFile: string;
}

/** The pair in `dir` (agent-signing.pem, agent-signing.pub), made there if either is missing. */
export function agentSigningKeyPair(dir: string): AgentSigningKeyFiles {
  const privateKeyFile = join(dir, "agent-signing.pem");
  const publicKeyFile = join(dir, "agent-signing.pub");
  if (!existsSync(privateKeyFile) || !existsSync(publicKeyFile)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    writeFileSync(privateKeyFile, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
    writeFileSync(publicKeyFile, publicKey.export({ type: "spki", format: "pem" }), { mode: 0o644 });
  }
  return { privateKeyFile, publicKeyFile };
}
