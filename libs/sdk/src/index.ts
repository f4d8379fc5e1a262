// @bulkhead/sdk for Node: typed clients for every service from one factory, over gRPC (default)
// or Connect on HTTP/2, with TLS when the endpoints are https (`ca` for a private CA).
//
//   const bh = createBulkhead({ endpoints: localEndpoints(), token: process.env.TOKEN });
//   const { networks } = await bh.networks.listNetworks({ project });
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { buildBulkhead, callInterceptors, type Bulkhead, type BulkheadOptions } from "./clients.js";

export { SERVERS, localEndpoints, type Bulkhead, type BulkheadOptions, type Server } from "./clients.js";

export interface NodeOptions extends BulkheadOptions {
  protocol?: "grpc" | "connect";
  /** PEM certificates to trust for https endpoints (a private CA). */
  ca?: string | Buffer;
}

export function createBulkhead(options: NodeOptions): Bulkhead {
  const make = options.protocol === "connect" ? createConnectTransport : createGrpcTransport;
  return buildBulkhead(options, (baseUrl) =>
    make({ baseUrl, httpVersion: "2", interceptors: callInterceptors(options.token, options.onChanges), defaultTimeoutMs: options.timeoutMs ?? 30_000, nodeOptions: options.ca ? { ca: options.ca } : undefined }),
  );
}
