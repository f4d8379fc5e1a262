// Credentials the launcher makes on first start and keeps in the data directory: the reconciler's
// key for signing its calls to agents, and with --tls a local CA with a certificate per listener.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { agentSigningKeyPair, type AgentSigningKeyFiles } from "@bulkhead/service-kit";

/** The reconciler's key pair for its calls to agents, kept under the data directory. */
export function agentSigningKey(dataDir: string): AgentSigningKeyFiles {
  return agentSigningKeyPair(join(dataDir, "keys"));
}

export interface Certificate {
  certFile: string;
  keyFile: string;
}

/**
 * A local CA and, per name, a certificate for 127.0.0.1, localhost and the name signed by it (ECDSA P-256,
 * made with openssl once and reused). Returns the CA file and a function giving each name's pair.
 */
export function localCa(dataDir: string): { caFile: string; certificate(name: string): Certificate } {
  if (spawnSync("sh", ["-c", "command -v openssl"]).status !== 0) {
    throw new Error("--tls needs openssl to make the local CA: install it (e.g. sudo apt-get install openssl) or start without --tls");
  }
  const dir = join(dataDir, "tls");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, "ca.pem");
  const caKey = join(dir, "ca-key.pem");
  const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  if (!existsSync(caFile)) {
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "825", "-subj", "/CN=Bulkhead local CA", "-keyout", caKey, "-out", caFile]);
  }
  return {
    caFile,
    certificate(name) {
      const certFile = join(dir, `${name}.pem`);
      const keyFile = join(dir, `${name}-key.pem`);
      if (!existsSync(certFile)) {
        const csr = join(dir, `${name}.csr`);
        const ext = join(dir, `${name}.ext`);
        writeFileSync(ext, `subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:${name}\nextendedKeyUsage=serverAuth,clientAuth\n`);
        openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", `/CN=${name}`, "-keyout", keyFile, "-out", csr]);
        openssl(["x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial", "-days", "825", "-extfile", ext, "-out", certFile]);
      }
      return { certFile, keyFile };
    },
  };
}

/** The variables a listener serves TLS with. */
export function tlsEnv(caFile: string, cert: Certificate): Record<string, string> {
  return { BULKHEAD_TLS_CERT_FILE: cert.certFile, BULKHEAD_TLS_KEY_FILE: cert.keyFile, BULKHEAD_TLS_CA_FILE: caFile };
}
