// @bulkhead/sdk/web for browsers: the same clients over fetch, with the Connect protocol (default)
// or gRPC-Web. The servers answer both on their one port; a browser needs CORS in front of them.
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { buildBulkhead, callInterceptors, type Bulkhead, type BulkheadOptions } from "./clients.js";

export { SERVERS, localEndpoints, type Bulkhead, type BulkheadOptions, type Server } from "./clients.js";

export function createBulkhead(options: BulkheadOptions & { protocol?: "connect" | "grpc-web" }): Bulkhead {
  const make = options.protocol === "grpc-web" ? createGrpcWebTransport : createConnectTransport;
  return buildBulkhead(options, (baseUrl) => make({ baseUrl, interceptors: callInterceptors(options.token, options.onChanges), defaultTimeoutMs: options.timeoutMs ?? 30_000 }));
}
