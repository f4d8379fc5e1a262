// Where the reconciler may call an agent, and that it refuses to start without what makes its
// calls to agents safe: the signing key and parseable management networks.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { ConfigError, readConfig, serviceConfigSpec, type ConfigSpec, type ServiceDefinition } from "@bulkhead/service-kit";
import { agentEndpointVerdict, parseAgentNetworks } from "../src/endpoints.js";
import { reconcilerService } from "../src/service.js";

const test = suite("agent endpoints");
const networks = parseAgentNetworks("10.250.0.0/16, fd00:250::/48");

test("an address in the management networks is allowed, over http or https, v4 or v6", () => {
  for (const url of ["http://10.250.1.2:7100", "https://10.250.255.255/", "https://[fd00:250::7]:7101"]) assert.equal(agentEndpointVerdict(url, networks), { allowed: true }, url);
});

test("names, other addresses, other schemes and credentials are refused, saying why", () => {
  const problem = (url: string) => {
    const verdict = agentEndpointVerdict(url, networks);
    return verdict.allowed ? "allowed" : verdict.problem;
  };
  assert.is(problem("http://10.251.0.1:7100"), "outside");
  assert.is(problem("http://169.254.169.254/"), "outside");
  assert.is(problem("https://[fd00:251::1]/"), "outside");
  assert.is(problem("http://agent.example:7100"), "not_an_address");
  assert.is(problem("http://localhost:7100"), "not_an_address");
  assert.is(problem("ftp://10.250.0.1/"), "not_an_address");
  assert.is(problem("http://u:p@10.250.0.1/"), "not_an_address");
  assert.is(problem("not a url"), "not_an_address");
});

const env = { DATABASE_URL: "postgres://x@127.0.0.1/x", BULKHEAD_JWT_SECRET: "x".repeat(32), BULKHEAD_INVENTORY_URL: "http://127.0.0.1:1", BULKHEAD_NETWORK_URL: "http://127.0.0.1:1", BULKHEAD_PEERING_URL: "http://127.0.0.1:1", BULKHEAD_FIREWALL_POLICY_URL: "http://127.0.0.1:1" };
const problems = (source: Record<string, string>) => {
  try {
    readConfig(serviceConfigSpec(reconcilerService as ServiceDefinition<ConfigSpec>), source);
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

test("the reconciler does not start without its agent-signing key: no other token ever goes to an agent", () => {
  assert.ok(problems(env).some((p) => p.startsWith("BULKHEAD_AGENT_SIGNING_KEY_FILE is required")), problems(env).join("; "));
  assert.ok(problems({ ...env, BULKHEAD_AGENT_SIGNING_KEY_FILE: "/nonexistent/key.pem" }).some((p) => p.startsWith("BULKHEAD_AGENT_SIGNING_KEY_FILE must name a readable file")));
});

test("management networks must parse, with host bits zero, and name at least one", () => {
  for (const [text, message] of [
    ["10.250.0.1/16", '"10.250.0.1/16" is not a prefix'],
    ["agents", '"agents" is not a prefix'],
    [" , ", "names no network"],
  ]) {
    assert.throws(() => parseAgentNetworks(text!), (error: ConfigError) => error.problems.some((p) => p.startsWith("BULKHEAD_AGENT_NETWORKS: ") && p.includes(message!)), text);
  }
});

test.run();
