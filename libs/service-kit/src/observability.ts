// JSON logs (pino) and Prometheus metrics shared by every service.
import { pino, type DestinationStream, type Logger } from "pino";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type { DestinationStream, Logger };

export function createLogger(service: string, level: string, destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    // Defence in depth: these keys never reach a log line even if someone logs a request.
    redact: { paths: ["password", "*.password", "*.*.password", "secret", "*.secret", "authorization", "*.authorization", "token", "*.token"], censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * A warning logged at most once per interval: for a dependency that fails on every call (Valkey
 * down) one line every few seconds says it, a line per call would drown the log.
 */
export function occasionalWarning(logger: Logger, everyMs: number): (error: unknown, message: string) => void {
  let warnedAt = 0;
  return (error, message) => {
    if (Date.now() - warnedAt < everyMs) return;
    warnedAt = Date.now();
    logger.warn({ err: error }, message);
  };
}

export interface RpcMetrics {
  registry: Registry;
  requests: Counter<"service" | "method" | "code">;
  duration: Histogram<"service" | "method">;
}

export function createMetrics(service: string): RpcMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ bulkhead_service: service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: "bulkhead_rpc_requests_total",
      help: "RPCs handled, by service, method and result code",
      labelNames: ["service", "method", "code"],
      registers: [registry],
    }),
    duration: new Histogram({
      name: "bulkhead_rpc_duration_seconds",
      help: "RPC handling time, by service and method",
      labelNames: ["service", "method"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
  };
}
