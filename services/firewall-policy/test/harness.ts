// The inventory's test fabric plus the firewall-policy service, with three firewalls:
//   fw-a  (project A): A's private network, the internet, B's DMZ
//   fw-a2 (project A): A's private network, the internet
//   fw-b  (project B): B's private network, the internet
import type { Client } from "@connectrpc/connect";
import { MachineService } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { NetworkPolicyService } from "@bulkhead/api/gen/bulkhead/firewall/v1/policy_pb.js";
import { AddressFamily } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import type { Network } from "@bulkhead/api/gen/bulkhead/network/v1/network_pb.js";
import { startFabric, type Fabric } from "@bulkhead/inventory/testing";
import { startTestService, type TestService } from "@bulkhead/testkit";
import { firewallPolicyService } from "../src/service.js";

export { failure } from "@bulkhead/testkit";

export interface PolicyWorld {
  f: Fabric;
  service: TestService;
  /** Admin client. */
  policies: Client<typeof NetworkPolicyService>;
  client(token: string): Client<typeof NetworkPolicyService>;
  editor(project: string): Promise<Client<typeof NetworkPolicyService>>;
  dmzB: Network;
  netB: Network;
  count(sql: string): Promise<number>;
  stop(): Promise<void>;
}

/** Allocates a firewall of `project` on a freshly registered machine cabled to leaf01/leaf02 `port`. */
export async function allocateFirewall(f: Fabric, id: string, port: string, project: string, networks: string[]): Promise<void> {
  await f.register(id, [["leaf01", port], ["leaf02", port]]);
  const editor = f.inventory.client(MachineService, await f.inventory.projectToken(project, "editor"));
  await editor.allocateFirewall({ project, partition: "fra1", machine: id, hostname: id, image: "ubuntu-24-04", networks: networks.map((network) => ({ network, autoAcquire: true })) });
}

export async function startPolicyWorld(): Promise<PolicyWorld> {
  const f = await startFabric();
  const dmzB = (await f.networks.allocateNetwork({ project: f.projectB, partition: "fra1", name: "dmz", dmz: true, addressFamily: AddressFamily.IPV4 })).network!;
  const netB = (await f.networks.allocateNetwork({ project: f.projectB, partition: "fra1", name: "b-net", addressFamily: AddressFamily.IPV4 })).network!;
  await allocateFirewall(f, "fw-a", "Eth1/1", f.projectA, [f.netA.id, "internet", dmzB.id]);
  await allocateFirewall(f, "fw-a2", "Eth1/2", f.projectA, [f.netA.id, "internet"]);
  await allocateFirewall(f, "fw-b", "Eth1/3", f.projectB, [netB.id, "internet"]);
  const service = await startTestService(firewallPolicyService, { secret: f.inventory.tokens.secret, env: { BULKHEAD_INVENTORY_URL: f.inventory.url, BULKHEAD_NETWORK_URL: f.network.url } });
  const client = (token: string) => service.client(NetworkPolicyService, token);
  return {
    f,
    service,
    policies: client(f.admin),
    client,
    editor: async (project) => client(await service.projectToken(project, "editor")),
    dmzB,
    netB,
    count: async (sql) => Number((await service.service.pool.query(sql)).rows[0].count),
    async stop() {
      await service.stop();
      await f.stop();
    },
  };
}
