// Calling Bulkhead services: a bearer-token interceptor and a token source for service principals.
import type { DescService } from "@bufbuild/protobuf";
import type { PeerCertificate } from "node:tls";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { signServiceToken, type TokenSettings } from "./auth.js";

export type Protocol = "connect" | "grpc" | "grpc-web";

/** Adds `authorization: Bearer <token>` to every call. */
export function bearerAuth(token: string | (() => Promise<string>)): Interceptor {
  return (next) => async (req) => {
    req.header.set("authorization", `Bearer ${typeof token === "string" ? token : await token()}`);
    return next(req);
  };
}

/** Tokens for a service principal, re-signed shortly before they expire. */
export function serviceTokenSource(tokens: TokenSettings, service: string): () => Promise<string> {
  let current: { token: string; renewAt: number } | undefined;
  return async () => {
    if (!current || Date.now() >= current.renewAt) {
      current = { token: await signServiceToken(tokens, { kind: "service", subject: service, expiresIn: "1h" }), renewAt: Date.now() + 50 * 60_000 };
    }
    return current.token;
  };
}

export interface ClientOptions {
  baseUrl: string;
  token?: string | (() => Promise<string>);
  protocol?: Protocol;
  /** HTTP version for Connect and gRPC-Web (gRPC always uses HTTP/2). */
  httpVersion?: "1.1" | "2";
  timeoutMs?: number;
  /** PEM certificates to trust for an https baseUrl, in addition to the system's. */
  ca?: string | Buffer;
  /** Interceptors run after the bearer token is added (outermost first). */
  interceptors?: Interceptor[];
  /**
   * For an https baseUrl: the name the peer's certificate must carry (a DNS subject alternative
   * name), whatever address the URL names — e.g. the device an agent runs on.
   */
  peerName?: string;
}

let trustedCa: Buffer | undefined;

/**
 * The CA certificates this process's clients trust for https URLs when a client names none: set
 * once at start from BULKHEAD_TLS_CA_FILE, so every call to another service or an agent verifies
 * its peer against the installation's CA.
 */
export function trustCa(ca: Buffer | undefined): void {
  trustedCa = ca;
}

/** A typed client for one service over the chosen protocol. */
export function createServiceClient<T extends DescService>(service: T, options: ClientOptions): Client<T> {
  const interceptors = [...(options.token ? [bearerAuth(options.token)] : []), ...(options.interceptors ?? [])];
  const ca = options.ca ?? trustedCa;
  const checkServerIdentity = options.peerName === undefined ? undefined : certificateNames(options.peerName);
  const nodeOptions = ca || checkServerIdentity ? { ...(ca ? { ca } : {}), ...(checkServerIdentity ? { checkServerIdentity } : {}) } : undefined;
  // Answers come uncompressed: services and agents talk within a data center, where gzipping
  // every answer (the default for those over 1 KiB) cost more CPU than the bytes it saved.
  const common = { baseUrl: options.baseUrl, interceptors, defaultTimeoutMs: options.timeoutMs ?? 30_000, nodeOptions, acceptCompression: [] };
  const transport =
    options.protocol === "grpc"
      ? createGrpcTransport(common)
      : options.protocol === "grpc-web"
        ? createGrpcWebTransport({ ...common, httpVersion: options.httpVersion ?? "1.1" })
        : createConnectTransport({ ...common, httpVersion: options.httpVersion ?? "2" });
  return createClient(service, transport);
}

/** A TLS identity check: the certificate must name `name` as a DNS subject alternative name. */
function certificateNames(name: string): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const names = (cert.subjectaltname ?? "").split(", ");
    return names.includes(`DNS:${name}`) ? undefined : new Error(`the peer's certificate does not name ${name} (it names ${cert.subjectaltname || "nothing"})`);
  };
}
