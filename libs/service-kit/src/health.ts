// grpc.health.v1.Health: overall status under "" plus one status per served service.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status, HealthCheckResponseSchema } from "@bulkhead/api/gen/grpc/health/v1/health_pb.js";

export { Status as ServingStatus };

export class HealthState {
  private readonly statuses = new Map<string, Status>();
  private readonly waiters = new Set<() => void>();

  constructor(services: readonly string[] = []) {
    this.addServices(services);
  }

  /** Adds services, NOT_SERVING until set otherwise. */
  addServices(services: readonly string[]): void {
    for (const name of ["", ...services]) if (!this.statuses.has(name)) this.statuses.set(name, Status.NOT_SERVING);
  }

  /** Sets every service (and the overall status) at once. */
  setAll(status: Status): void {
    for (const name of this.statuses.keys()) this.statuses.set(name, status);
    this.notify();
  }

  get(service: string): Status | undefined {
    return this.statuses.get(service);
  }

  entries(): [string, Status][] {
    return [...this.statuses.entries()];
  }

  /** Resolves at the next change, or when `signal` aborts. */
  changed(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.waiters.add(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export function healthService(state: HealthState): ServiceImpl<typeof Health> {
  return {
    check(request) {
      const status = state.get(request.service);
      if (status === undefined) throw new ConnectError(`unknown service ${request.service}`, Code.NotFound);
      return create(HealthCheckResponseSchema, { status });
    },
    async *watch(request, context) {
      let last: Status | undefined;
      while (!context.signal.aborted) {
        const status = state.get(request.service) ?? Status.SERVICE_UNKNOWN;
        if (status !== last) yield create(HealthCheckResponseSchema, { status });
        last = status;
        await state.changed(context.signal);
      }
    },
    list() {
      return { statuses: Object.fromEntries(state.entries().map(([name, status]) => [name, create(HealthCheckResponseSchema, { status })])) };
    },
  };
}
