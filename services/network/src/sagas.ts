// Finishes sagas that a failure or a crash left half done.
import { compensate, type Logger } from "@bulkhead/service-kit";
import type { Ips } from "./ips.js";
import type { Networks } from "./networks.js";
import type { NetworkStore } from "./store/networks.js";

/**
 * Networks and IPs whose saga started before `stalledBefore` and did not end: allocations are
 * compensated, frees completed, updates finished (their added prefixes released unless the row
 * lists them, their removed ones released). A row is claimed before it is touched, so several instances never
 * work on one row.
 */
export function sweepNetworkSagas(store: NetworkStore, networks: Networks, ips: Ips, log: Logger) {
  return async (stalledBefore: Date): Promise<void> => {
    for (const row of await store.stalled(stalledBefore)) {
      if (!(await store.claim("networks", row.id, stalledBefore))) continue;
      log.info({ network: row.id, state: row.state }, "finishing an abandoned network saga");
      await compensate(log, `network ${row.id}`, () => (row.state === "freeing" ? networks.completeFree(row) : networks.compensateAllocation(row)));
    }
    for (const { row, saga } of await store.claimStalledUpdates(stalledBefore)) {
      log.info({ network: row.id, phase: saga.phase }, "finishing an abandoned network update");
      await compensate(log, `update of network ${row.id}`, () => networks.finishUpdate(row.id, saga));
    }
    for (const row of await store.stalledIps(stalledBefore)) {
      if (!(await store.claim("ips", row.uuid, stalledBefore))) continue;
      log.info({ ip: row.uuid, state: row.state }, "finishing an abandoned IP saga");
      await compensate(log, `ip ${row.uuid}`, () => (row.state === "freeing" ? ips.completeRelease(row) : ips.compensateAllocation(row)));
    }
  };
}
