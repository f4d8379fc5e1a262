// One database role per service: each service logs in as a role that owns its schema and holds
// no rights on any other service's schema. An administrator connection creates the roles and
// schemas once (idempotently); the services then migrate and run as their own roles.
import pg from "pg";
import { assertIdentifier } from "./pool.js";

export interface ServiceRole {
  /** The service's schema, e.g. `firewall_policy`. */
  schema: string;
  /** The role's login password. */
  password: string;
}

/** The login role of the service whose schema is `schema`. */
export const serviceRoleName = (schema: string) => `bulkhead_${assertIdentifier(schema, "schema")}`;

/**
 * Creates or updates each service's login role (its password set to the given one) and its schema,
 * owned by the role, with every object already in it handed over (a database that ran every
 * service as one role moves over), and no rights for anybody else. Also installs the extensions
 * the migrations need, which a service role may not create.
 */
export async function provisionServiceRoles(adminUrl: string, services: readonly ServiceRole[]): Promise<void> {
  const roles = services.map(({ schema, password }) => ({ schema, password, role: serviceRoleName(schema) }));
  const admin = new pg.Client({ connectionString: adminUrl, application_name: "bulkhead-provision" });
  await admin.connect();
  try {
    await admin.query("SELECT pg_advisory_lock(hashtext('bulkhead.provision'))");
    await admin.query("CREATE EXTENSION IF NOT EXISTS btree_gist SCHEMA public");
    // Nobody but an owner creates objects in public (the default before PostgreSQL 15 allowed it).
    await admin.query("REVOKE CREATE ON SCHEMA public FROM PUBLIC");
    for (const { schema, password, role } of roles) {
      const exists = (await admin.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [role])).rowCount === 1;
      // DDL takes no bind parameters: the password goes in as an escaped literal.
      await admin.query(`${exists ? "ALTER" : "CREATE"} ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD ${admin.escapeLiteral(password)}`);
      await admin.query(`CREATE SCHEMA IF NOT EXISTS ${schema} AUTHORIZATION ${role}`);
      await admin.query(`ALTER SCHEMA ${schema} OWNER TO ${role}`);
      await admin.query(
        `DO $$ DECLARE o record; BEGIN
           FOR o IN SELECT c.relname AS name, CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE 'TABLE' END AS kind
                    FROM pg_class c WHERE c.relnamespace = '${schema}'::regnamespace AND c.relkind IN ('r', 'p', 'S', 'v', 'm')
                      AND c.relowner <> '${role}'::regrole AND NOT (c.relkind = 'S' AND EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))) LOOP
             EXECUTE format('ALTER %s %I.%I OWNER TO ${role}', o.kind, '${schema}', o.name);
           END LOOP;
           FOR o IN SELECT p.oid::regprocedure AS signature FROM pg_proc p WHERE p.pronamespace = '${schema}'::regnamespace AND p.proowner <> '${role}'::regrole LOOP
             EXECUTE format('ALTER ROUTINE %s OWNER TO ${role}', o.signature);
           END LOOP;
         END $$`,
      );
      await admin.query(`REVOKE ALL ON SCHEMA ${schema} FROM PUBLIC`);
    }
  } finally {
    await admin.end();
  }
}
