// Every Bulkhead service with storage, started for the cross-service tests: the inventory's test
// fabric (ipam, network, inventory) plus peering, firewall-policy and the reconciler. Rate limits
// are off: these tests measure what the services do with input, not how fast they refuse it.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DescService } from "@bufbuild/protobuf";
import { bulkheadServices } from "@bulkhead/api";
import { firewallPolicyService } from "@bulkhead/firewall-policy";
import { startFabric, type Fabric } from "@bulkhead/inventory/testing";
import { peeringService } from "@bulkhead/peering";
import { reconcilerService } from "@bulkhead/reconciler";
import { agentSigningKeyPair, createServiceClient, type Protocol } from "@bulkhead/service-kit";
import { startTestService, type TestService } from "@bulkhead/testkit";

export interface Stack {
  f: Fabric;
  peering: TestService;
  policy: TestService;
  reconciler: TestService;
  /** The services the stack serves (the agents' AgentService aside). */
  services: DescService[];
  urlOf(service: DescService): string;
  stop(): Promise<void>;
}

const unlimited = { BULKHEAD_RATE_LIMIT_PER_SECOND: "0", BULKHEAD_RATE_LIMIT_ANONYMOUS_PER_SECOND: "0" };

export async function startStack(): Promise<Stack> {
  const f = await startFabric({ commonEnv: unlimited });
  const secret = f.inventory.tokens.secret;
  const clients = { BULKHEAD_NETWORK_URL: f.network.url, BULKHEAD_INVENTORY_URL: f.inventory.url, ...unlimited };
  const peering = await startTestService(peeringService, { secret, env: clients });
  const policy = await startTestService(firewallPolicyService, { secret, env: clients });
  const reconciler = await startTestService(reconcilerService, {
    secret,
    env: {
      ...clients,
      BULKHEAD_PEERING_URL: peering.url,
      BULKHEAD_FIREWALL_POLICY_URL: policy.url,
      BULKHEAD_FULL_RESYNC_MS: "3600000",
      BULKHEAD_AGENT_SIGNING_KEY_FILE: agentSigningKeyPair(mkdtempSync(join(tmpdir(), "bh-agent-key-"))).privateKeyFile,
    },
  });
  const byPackage = new Map(
    Object.entries({
      "bulkhead.ipam.v1": f.ipam.url,
      "bulkhead.network.v1": f.network.url,
      "bulkhead.inventory.v1": f.inventory.url,
      "bulkhead.peering.v1": peering.url,
      "bulkhead.firewall.v1": policy.url,
      "bulkhead.fabric.v1": reconciler.url,
      // Every service with storage serves its own audit log.
      "bulkhead.audit.v1": f.network.url,
    }),
  );
  const packageOf = (s: DescService) => s.typeName.slice(0, s.typeName.lastIndexOf("."));
  return {
    f,
    peering,
    policy,
    reconciler,
    services: bulkheadServices.filter((s) => byPackage.has(packageOf(s))),
    urlOf: (s) => byPackage.get(packageOf(s))!,
    async stop() {
      await reconciler.stop();
      await policy.stop();
      await peering.stop();
      await f.stop();
    },
  };
}

/** A client of `service` whose methods are looked up by name, for tests that call every method. */
export function anyMethodClient(service: DescService, baseUrl: string, token: string | undefined, protocol: Protocol): Record<string, (request: unknown) => Promise<unknown>> {
  return createServiceClient(service, { baseUrl, token, protocol }) as unknown as Record<string, (request: unknown) => Promise<unknown>>;
}
