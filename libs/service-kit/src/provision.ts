// Gives every named service its own database role, owning its schema and nothing else:
//   BULKHEAD_DATABASE_ADMIN_URL=postgres://admin@db/bulkhead \
//     pnpm --filter @bulkhead/service-kit provision <absolute passwords dir> ipam network inventory peering firewall-policy reconciler
// Each role's password is kept in <dir>/<service>/password (made on the first run unless a secret
// store put it there, mode 0600); the service then runs with
// DATABASE_URL=postgres://bulkhead_<schema>@db/bulkhead and BULKHEAD_DATABASE_PASSWORD_FILE set to
// that file (a directory per service, so each can be mounted alone). Running it again rotates
// nothing and hands over to the service's role what a shared role created before.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { provisionServiceRoles, serviceRoleName } from "@bulkhead/db";
import { schemaOf } from "./service.js";

/** Where the password of a service's role is kept under `dir`. */
export const servicePasswordFile = (dir: string, service: string) => join(dir, service, "password");

/** The password of a service's role, made on first use and kept under `dir`. */
export function servicePassword(dir: string, service: string): string {
  const file = servicePasswordFile(dir, service);
  if (!existsSync(file)) {
    mkdirSync(join(dir, service), { recursive: true, mode: 0o700 });
    writeFileSync(file, randomBytes(24).toString("base64url"), { mode: 0o600 });
  }
  return readFileSync(file, "utf8").trim();
}

/** Provisions the roles of `services`; returns each one's role and password file. */
export async function provisionServices(adminUrl: string, dir: string, services: readonly string[]): Promise<{ service: string; role: string; passwordFile: string }[]> {
  await provisionServiceRoles(adminUrl, services.map((service) => ({ schema: schemaOf(service), password: servicePassword(dir, service) })));
  return services.map((service) => ({ service, role: serviceRoleName(schemaOf(service)), passwordFile: servicePasswordFile(dir, service) }));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, ...services] = process.argv.slice(2);
  const adminUrl = process.env.BULKHEAD_DATABASE_ADMIN_URL;
  if (!dir || !isAbsolute(dir) || services.length === 0 || !adminUrl) {
    console.error("usage: BULKHEAD_DATABASE_ADMIN_URL=<postgres url of a role that may create roles> pnpm --filter @bulkhead/service-kit provision <absolute passwords dir> <service>…");
    process.exit(2);
  }
  try {
    for (const made of await provisionServices(adminUrl, dir, services)) console.log(`${made.service}: role ${made.role}, password in ${made.passwordFile}`);
  } catch (error) {
    console.error(`provisioning failed: ${(error as Error).message}`);
    process.exit(1);
  }
}
