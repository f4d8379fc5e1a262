// Makes the key pairs of a deployment's tokens, keeping those already there:
//   pnpm --filter @bulkhead/service-kit keys <absolute dir> ipam network inventory peering firewall-policy reconciler
// Per service <dir>/<service>/key.pem (BULKHEAD_SERVICE_KEY_FILE of that service only) and
// <dir>/public/<service>.pub (<dir>/public is every service's BULKHEAD_SERVICE_KEYS_DIR); and the
// user-token issuer's pair <dir>/users/key.pem (kept by operators, never given to a service) and
// <dir>/users-public/key.pub (every service's BULKHEAD_JWT_PUBLIC_KEY_FILE). No service holds a key that can
// sign a user's token; `pnpm --filter @bulkhead/service-kit token` mints one with the issuer's key.
import { isAbsolute } from "node:path";
import { serviceKeyPair, serviceKeysDir, userIssuerKeyPair } from "./key-pairs.js";

const [dir, ...services] = process.argv.slice(2);
if (!dir || !isAbsolute(dir) || services.length === 0) {
  console.error("usage: pnpm --filter @bulkhead/service-kit keys <absolute directory> <service>…");
  process.exit(2);
}
for (const service of services) console.log(`${service}: BULKHEAD_SERVICE_KEY_FILE=${serviceKeyPair(dir, service).privateKeyFile}`);
const users = userIssuerKeyPair(dir);
console.log(`every service: BULKHEAD_SERVICE_KEYS_DIR=${serviceKeysDir(dir)} BULKHEAD_JWT_PUBLIC_KEY_FILE=${users.publicKeyFile}`);
console.log(`operators only: ${users.privateKeyFile} (pnpm --filter @bulkhead/service-kit token ${users.privateKeyFile} <user> --role admin)`);
