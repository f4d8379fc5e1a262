// Writes deploy/k8s/bulkhead.yaml: per service a Deployment (gRPC health probes), a Service and a
// PodDisruptionBudget, plus the namespace, the ConfigMap of service URLs, the Secret templates and
// the Job that gives every service its own database role.
// `node --import tsx deploy/local/k8s.ts` after changing it; a test checks the file is fresh.
import { writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { serviceRoleName } from "@bulkhead/db";
import { schemaOf } from "@bulkhead/service-kit";
import { urlVariable } from "./services.js";

export const NAMESPACE = "bulkhead";
/** Service, port, replicas. The reconciler's workers scale by replicas (BullMQ shares the jobs). */
export const SERVICES = [
  { name: "ipam", port: 7001, replicas: 2 },
  { name: "network", port: 7002, replicas: 2 },
  { name: "inventory", port: 7003, replicas: 2 },
  { name: "peering", port: 7004, replicas: 2 },
  { name: "firewall-policy", port: 7005, replicas: 2 },
  { name: "reconciler", port: 7006, replicas: 3 },
];
const KEYS = "/etc/bulkhead/keys";
const DB_PASSWORD_DIR = "/etc/bulkhead/db";
const DB_HOST = `postgres-rw.${NAMESPACE}.svc:5432/bulkhead`;
const SERVICE_KEY_DIR = "/etc/bulkhead/service-key";
const SERVICE_KEYS_DIR = "/etc/bulkhead/service-keys";
const USER_ISSUER_DIR = "/etc/bulkhead/user-issuer";
/** The Secret holding a service's own token-signing key. */
const keySecret = (name: string) => `bulkhead-service-key-${name}`;
/** The Secret holding the password of a service's own database role. */
const dbSecret = (name: string) => `bulkhead-db-${name}`;
const labels = (name: string) => ({ "app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "bulkhead" });

export function manifests(): object[] {
  const docs: object[] = [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: NAMESPACE } },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "bulkhead-config", namespace: NAMESPACE },
      data: { BULKHEAD_LISTEN_HOST: "0.0.0.0", ...Object.fromEntries(SERVICES.map((s) => [urlVariable(s.name), `http://${s.name}.${NAMESPACE}.svc:${s.port}`])) },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "bulkhead-secrets", namespace: NAMESPACE },
      type: "Opaque",
      // Replace before applying (or manage with your secret store): see docs/running-at-scale.md.
      stringData: { VALKEY_URL: "redis://valkey.bulkhead.svc:6379", BULKHEAD_SECRETS_KEY: "CHANGE-ME-32-random-bytes-base64" },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "bulkhead-agent-signing", namespace: NAMESPACE },
      type: "Opaque",
      // The reconciler's Ed25519 key for its calls to agents (openssl genpkey -algorithm ed25519);
      // the agents get its public half (openssl pkey -pubout) as BULKHEAD_JWT_PUBLIC_KEY_FILE.
      stringData: { "agent-signing.pem": "CHANGE-ME: PEM PKCS#8 Ed25519 private key" },
    },
    // Token keys (pnpm --filter @bulkhead/service-kit keys <dir> <service>…): each service signs with its
    // own private key and knows every service's public key; users' tokens come from OIDC or from the
    // user-token issuer, whose private key stays with the operators. No shared secret.
    ...SERVICES.map((s) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: keySecret(s.name), namespace: NAMESPACE },
      type: "Opaque",
      stringData: { "key.pem": "CHANGE-ME: PEM PKCS#8 Ed25519 private key of this service" },
    })),
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "bulkhead-service-keys", namespace: NAMESPACE },
      data: Object.fromEntries(SERVICES.map((s) => [`${s.name}.pub`, "CHANGE-ME: PEM SPKI Ed25519 public key"])),
    },
    {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "bulkhead-user-issuer", namespace: NAMESPACE },
      data: { "key.pub": "CHANGE-ME: PEM SPKI Ed25519 public key of the user-token issuer (or configure BULKHEAD_OIDC_ISSUER)" },
    },
    {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "bulkhead-db-admin", namespace: NAMESPACE },
      type: "Opaque",
      // Used only by the bulkhead-db-roles Job: a role that may create roles and schemas.
      stringData: { BULKHEAD_DATABASE_ADMIN_URL: `postgres://postgres:CHANGE-ME@${DB_HOST}` },
    },
    ...SERVICES.map((s) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: dbSecret(s.name), namespace: NAMESPACE },
      type: "Opaque",
      // The password of the role bulkhead_<schema>, which owns the service's schema and nothing else.
      stringData: { password: "CHANGE-ME-random-password" },
    })),
    {
      // Makes each service's role and schema (idempotent): run it before the services, and again after an upgrade.
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "bulkhead-db-roles", namespace: NAMESPACE },
      spec: {
        backoffLimit: 10,
        template: {
          spec: {
            restartPolicy: "OnFailure",
            securityContext: { runAsNonRoot: true, runAsUser: 1000 },
            volumes: [{ name: "passwords", projected: { sources: SERVICES.map((s) => ({ secret: { name: dbSecret(s.name), items: [{ key: "password", path: `${s.name}/password` }] } })) } }],
            containers: [
              {
                name: "provision",
                image: "bulkhead:latest",
                command: ["pnpm", "--filter", "@bulkhead/service-kit", "provision", DB_PASSWORD_DIR, ...SERVICES.map((s) => s.name)],
                envFrom: [{ secretRef: { name: "bulkhead-db-admin" } }],
                volumeMounts: [{ name: "passwords", mountPath: DB_PASSWORD_DIR, readOnly: true }],
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
              },
            ],
          },
        },
      },
    },
  ];
  for (const s of SERVICES) {
    docs.push(
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: s.name, namespace: NAMESPACE, labels: labels(s.name) },
        spec: {
          replicas: s.replicas,
          selector: { matchLabels: labels(s.name) },
          template: {
            metadata: { labels: labels(s.name) },
            spec: {
              terminationGracePeriodSeconds: 30,
              securityContext: { runAsNonRoot: true, runAsUser: 1000 },
              volumes: [
                { name: "db-password", secret: { secretName: dbSecret(s.name), defaultMode: 0o400 } },
                { name: "service-key", secret: { secretName: keySecret(s.name), defaultMode: 0o400 } },
                { name: "service-keys", configMap: { name: "bulkhead-service-keys" } },
                { name: "user-issuer", configMap: { name: "bulkhead-user-issuer" } },
                ...(s.name === "reconciler" ? [{ name: "agent-signing", secret: { secretName: "bulkhead-agent-signing", defaultMode: 0o400 } }] : []),
              ],
              containers: [
                {
                  name: s.name,
                  image: "bulkhead:latest",
                  command: ["pnpm", "--filter", `@bulkhead/${s.name}`, "start"],
                  ports: [{ name: "grpc", containerPort: s.port }],
                  env: [
                    { name: "PORT", value: String(s.port) },
                    { name: "DATABASE_URL", value: `postgres://${serviceRoleName(schemaOf(s.name))}@${DB_HOST}` },
                    { name: "BULKHEAD_DATABASE_PASSWORD_FILE", value: `${DB_PASSWORD_DIR}/password` },
                    { name: "BULKHEAD_SERVICE_KEY_FILE", value: `${SERVICE_KEY_DIR}/key.pem` },
                    { name: "BULKHEAD_SERVICE_KEYS_DIR", value: SERVICE_KEYS_DIR },
                    { name: "BULKHEAD_JWT_PUBLIC_KEY_FILE", value: `${USER_ISSUER_DIR}/key.pub` },
                    ...(s.name === "reconciler" ? [{ name: "BULKHEAD_AGENT_SIGNING_KEY_FILE", value: `${KEYS}/agent-signing.pem` }] : []),
                  ],
                  volumeMounts: [
                    { name: "db-password", mountPath: DB_PASSWORD_DIR, readOnly: true },
                    { name: "service-key", mountPath: SERVICE_KEY_DIR, readOnly: true },
                    { name: "service-keys", mountPath: SERVICE_KEYS_DIR, readOnly: true },
                    { name: "user-issuer", mountPath: USER_ISSUER_DIR, readOnly: true },
                    ...(s.name === "reconciler" ? [{ name: "agent-signing", mountPath: KEYS, readOnly: true }] : []),
                  ],
                  envFrom: [{ configMapRef: { name: "bulkhead-config" } }, { secretRef: { name: "bulkhead-secrets" } }],
                  readinessProbe: { grpc: { port: s.port }, periodSeconds: 5 },
                  livenessProbe: { grpc: { port: s.port }, periodSeconds: 10, failureThreshold: 6 },
                  startupProbe: { grpc: { port: s.port }, periodSeconds: 2, failureThreshold: 60 },
                  resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
                  securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: false, capabilities: { drop: ["ALL"] } },
                },
              ],
            },
          },
        },
      },
      { apiVersion: "v1", kind: "Service", metadata: { name: s.name, namespace: NAMESPACE, labels: labels(s.name) }, spec: { selector: labels(s.name), ports: [{ name: "grpc", port: s.port, targetPort: s.port, appProtocol: "kubernetes.io/h2c" }] } },
      { apiVersion: "policy/v1", kind: "PodDisruptionBudget", metadata: { name: s.name, namespace: NAMESPACE }, spec: { minAvailable: 1, selector: { matchLabels: labels(s.name) } } },
    );
  }
  return docs;
}

export const render = () => `# Generated by deploy/local/k8s.ts: do not edit.\n${manifests().map((d) => stringify(d)).join("---\n")}`;

if (import.meta.url === `file://${process.argv[1]}`) writeFileSync(new URL("../k8s/bulkhead.yaml", import.meta.url), render());
