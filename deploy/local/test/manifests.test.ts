// The deployment manifests parse and hang together: every service of the launcher is deployed
// with health checks, reachable under the URL the others use, and given every variable it
// requires; the Kubernetes file is what deploy/local/k8s.ts generates.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parse, parseAllDocuments } from "yaml";
import { serviceRoleName } from "@bulkhead/db";
import { schemaOf, serviceConfigSpec } from "@bulkhead/service-kit";
import { NAMESPACE, SERVICES, render } from "../k8s.js";
import { services, urlVariable } from "../services.js";

const test = suite("deployment manifests");
const file = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8");
/** The variables a service refuses to start without. */
const required = (name: string) => {
  const definition = services.find((d) => d.name === name)!;
  return Object.entries(serviceConfigSpec(definition)).filter(([, v]) => !("default" in v)).map(([k]) => k);
};

test("every launcher service is in both manifests", () => {
  assert.equal(SERVICES.map((s) => s.name), services.map((d) => d.name));
});

test("kubernetes: generated, and per service a Deployment with gRPC probes, a Service and a PodDisruptionBudget", () => {
  const text = file("deploy/k8s/bulkhead.yaml");
  assert.is(text, render(), "deploy/k8s/bulkhead.yaml is stale: node --import tsx deploy/local/k8s.ts");
  const docs = parseAllDocuments(text).map((d) => d.toJS()) as Record<string, any>[];
  for (const d of docs) assert.ok(d.apiVersion && d.kind && d.metadata?.name, JSON.stringify(d).slice(0, 80));
  const of = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);
  const config = of("ConfigMap", "bulkhead-config")!.data as Record<string, string>;
  const secret = of("Secret", "bulkhead-secrets")!.stringData as Record<string, string>;
  assert.match(secret.BULKHEAD_SECRETS_KEY!, "CHANGE-ME", "the Secret is a template, never a real key");
  assert.not.ok("DATABASE_URL" in secret, "no database login shared by every service");
  assert.not.ok("BULKHEAD_JWT_SECRET" in secret, "no token secret shared by every service");
  const job = of("Job", "bulkhead-db-roles")!.spec.template.spec;
  assert.equal(job.containers[0].command.slice(0, 5), ["pnpm", "--filter", "@bulkhead/service-kit", "provision", "/etc/bulkhead/db"]);
  assert.equal(job.containers[0].command.slice(5), SERVICES.map((s) => s.name), "the Job provisions every service");
  for (const s of SERVICES) {
    const deployment = of("Deployment", s.name)!;
    assert.ok(deployment, `${s.name} has a Deployment`);
    assert.is(deployment.metadata.namespace, NAMESPACE);
    assert.equal(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels, `${s.name}: the selector matches its pods`);
    const container = deployment.spec.template.spec.containers[0];
    assert.is(container.ports[0].containerPort, s.port);
    for (const probe of ["readinessProbe", "livenessProbe", "startupProbe"]) assert.is(container[probe]?.grpc?.port, s.port, `${s.name} ${probe} is a gRPC health check`);
    assert.equal(container.command, ["pnpm", "--filter", `@bulkhead/${s.name}`, "start"]);
    const provided = new Set([...container.env.map((e: { name: string }) => e.name), ...Object.keys(config), ...Object.keys(secret)]);
    for (const name of required(s.name)) assert.ok(provided.has(name), `${s.name} gets ${name}`);
    const env = Object.fromEntries(container.env.map((e: { name: string; value: string }) => [e.name, e.value]));
    assert.is(new URL(env.DATABASE_URL).username, serviceRoleName(schemaOf(s.name)), `${s.name} logs in as its own role`);
    const volume = (name: string) => deployment.spec.template.spec.volumes.find((v: { name: string }) => v.name === name);
    assert.is(volume("db-password").secret.secretName, `bulkhead-db-${s.name}`, `${s.name} mounts only its own password`);
    assert.is(volume("service-key").secret.secretName, `bulkhead-service-key-${s.name}`, `${s.name} mounts only its own signing key`);
    assert.ok(env.BULKHEAD_SERVICE_KEY_FILE && env.BULKHEAD_SERVICE_KEYS_DIR && env.BULKHEAD_JWT_PUBLIC_KEY_FILE, `${s.name} signs with its key and verifies with public keys only`);
    assert.ok(of("ConfigMap", "bulkhead-service-keys")!.data[`${s.name}.pub`], `every service knows ${s.name}'s public key`);
    assert.match(of("Secret", `bulkhead-db-${s.name}`)!.stringData.password, "CHANGE-ME");
    const service = of("Service", s.name)!;
    assert.equal(service.spec.selector, deployment.spec.template.metadata.labels, `${s.name}: the Service selects its pods`);
    assert.is(service.spec.ports[0].port, s.port);
    assert.is(config[urlVariable(s.name)], `http://${s.name}.${NAMESPACE}.svc:${s.port}`, "the others find it under its Service");
    const pdb = of("PodDisruptionBudget", s.name)!;
    assert.equal(pdb.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
    assert.ok(deployment.spec.replicas > pdb.spec.minAvailable, `${s.name}: a node drain keeps one running`);
  }
});

test("compose: Postgres and Valkey with health checks; every service waits for them, has a health check and what it requires", () => {
  const compose = parse(file("deploy/compose.yaml"), { merge: true }) as { services: Record<string, any> };
  for (const infra of ["postgres", "valkey"]) assert.ok(compose.services[infra]?.healthcheck?.test, `${infra} has a health check`);
  assert.equal(compose.services["db-roles"].command.slice(5), SERVICES.map((s) => s.name), "db-roles provisions every service");
  assert.match(compose.services.keys.command.join(" "), `keys /keys/tokens ${SERVICES.map((s) => s.name).join(" ")}`, "the keys job makes every service's key");
  assert.match(compose.services.valkey.command.join(" "), "--maxmemory-policy noeviction", "queues are never evicted");
  for (const s of SERVICES) {
    const svc = compose.services[s.name];
    assert.ok(svc, `${s.name} is in compose.yaml`);
    assert.equal(svc.command, ["pnpm", "--filter", `@bulkhead/${s.name}`, "start"]);
    assert.match(svc.healthcheck.test.join(" "), `127.0.0.1:${s.port}/healthz`);
    const done = { condition: "service_completed_successfully" };
    assert.equal(svc.depends_on, { postgres: { condition: "service_healthy" }, valkey: { condition: "service_healthy" }, "db-roles": done, keys: done });
    assert.is(svc.environment.BULKHEAD_JWT_SECRET, undefined, `${s.name} holds no token secret`);
    const mounted = (target: string) => svc.volumes.find((v: { target?: string }) => v.target === target)?.volume?.subpath;
    assert.equal([mounted("/service-key"), mounted("/service-keys"), mounted("/user-issuer")], [`tokens/${s.name}`, "tokens/public", "tokens/users-public"], `${s.name} mounts its own key and public keys only`);
    assert.is(new URL(svc.environment.DATABASE_URL).username, serviceRoleName(schemaOf(s.name)), `${s.name} logs in as its own role`);
    const credentials = svc.volumes.find((v: { target?: string }) => v.target === "/db-credentials");
    assert.equal([credentials.source, credentials.volume.subpath, credentials.read_only], ["db-credentials", s.name, true], `${s.name} mounts only its own password`);
    assert.is(svc.environment.PORT, String(s.port));
    for (const name of required(s.name)) assert.ok(svc.environment[name] !== undefined, `${s.name} gets ${name}`);
    for (const other of SERVICES) assert.is(svc.environment[urlVariable(other.name)], `http://${other.name}:${other.port}`);
  }
});

test.run();
