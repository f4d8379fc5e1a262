// The calls the network service makes to the peering service, when one is configured: before a
// network is deleted (its peerings must be gone) and after a project's private networks or labels
// change (automatic peerings follow at once instead of at the peering service's next sweep).
import type { Client } from "@connectrpc/connect";
import type { PeeringService } from "@bulkhead/api/gen/bulkhead/peering/v1/peering_pb.js";
import type { Logger } from "@bulkhead/service-kit";

export class PeeringPort {
  constructor(
    private readonly peering: Client<typeof PeeringService>,
    private readonly log: Logger,
  ) {}

  /** Removes the network's automatic peerings; fails while other peerings use it. */
  async releaseNetwork(network: string, owner: string | null): Promise<void> {
    await this.peering.releaseNetwork({ network, owner: owner ?? "" });
  }

  /** Asks for the project's automatic peerings to be brought in line now; never fails the caller. */
  syncProject(project: string): void {
    this.peering.syncAutoPeerings({ project }).catch((error) => this.log.warn({ err: error, project }, "automatic peerings not synchronized; the peering service's sweep will"));
  }
}
