// Makes the reconciler's agent-signing key pair in a directory unless it is already there:
//   pnpm --filter @bulkhead/reconciler keys /absolute/dir
// The reconciler reads <dir>/agent-signing.pem (BULKHEAD_AGENT_SIGNING_KEY_FILE); every agent gets
// <dir>/agent-signing.pub (BULKHEAD_JWT_PUBLIC_KEY_FILE).
import { isAbsolute } from "node:path";
import { agentSigningKeyPair } from "@bulkhead/service-kit";

const dir = process.argv[2];
if (!dir || !isAbsolute(dir)) {
  console.error("usage: pnpm --filter @bulkhead/reconciler keys <absolute directory>");
  process.exit(2);
}
const files = agentSigningKeyPair(dir);
console.log(`reconciler: BULKHEAD_AGENT_SIGNING_KEY_FILE=${files.privateKeyFile}\nagents:     BULKHEAD_JWT_PUBLIC_KEY_FILE=${files.publicKeyFile}`);
