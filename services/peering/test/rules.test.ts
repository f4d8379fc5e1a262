// The pure rule functions, on their own.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { InvalidArgumentError } from "@bulkhead/service-kit";
import { checkExternalBgp } from "../src/bgp.js";
import { NetworkType, type NetworkFacts } from "../src/directory.js";
import { automaticPairs, overlapsOf } from "../src/rules.js";

const test = suite("peering rules");

const refusal = (f: () => void): string => {
  try {
    f();
  } catch (error) {
    if (error instanceof InvalidArgumentError) return error.field;
    throw error;
  }
  return "";
};

test("BGP links: /31 and /127 use both addresses, /30 and /126 not their first (nor a /30's last)", () => {
  const session = (local: string, remote: string) => () => checkExternalBgp({ asn: 4200000001, address: local }, { asn: 65001, address: remote });
  assert.is(refusal(session("172.16.0.0/31", "172.16.0.1/31")), "");
  assert.is(refusal(session("2001:db8::/127", "2001:db8::1/127")), "");
  assert.is(refusal(session("172.16.0.1/30", "172.16.0.2/30")), "");
  assert.is(refusal(session("172.16.0.0/30", "172.16.0.1/30")), "bgp.local.address", "a /30's network address");
  assert.is(refusal(session("2001:db8::1/126", "2001:db8::/126")), "bgp.remote.address", "a /126's subnet-router anycast address");
  assert.is(refusal(session("172.16.0.1/30", "2001:db8::1/126")), "bgp.remote.address", "families differ");
  assert.is(refusal(session("172.16.0.1/30", "172.16.0.2/31")), "bgp.remote.address", "lengths differ");
  assert.is(refusal(() => checkExternalBgp({ asn: 65540, address: "172.16.0.0/31" }, { asn: 65001, address: "172.16.0.1/31" })), "bgp.local.asn");
  assert.is(refusal(() => checkExternalBgp({ asn: 100000, address: "172.16.0.0/31" }, { asn: 65001, address: "172.16.0.1/31" })), "bgp.local.asn", "IANA reserved");
});

test("automatic pairs: same project and partition, private only, never overlapping", () => {
  const n = (id: string, prefixes: string[], o: Partial<NetworkFacts> = {}): NetworkFacts => ({ id, type: NetworkType.CHILD, project: "p", partition: "fra1", prefixes, destinationPrefixes: [], vrf: 1, ...o });
  const networks = [
    n("c", ["10.0.2.0/24"]),
    n("a", ["10.0.0.0/24"]),
    n("b", ["10.0.1.0/24"], { type: NetworkType.CHILD_SHARED }),
    n("overlaps-a", ["10.0.0.128/25"]),
    n("far", ["10.8.0.0/24"], { partition: "fra2" }),
    n("other", ["10.0.9.0/24"], { project: "q" }),
    n("internet", ["185.1.2.0/24"], { type: NetworkType.EXTERNAL, project: "" }),
  ];
  assert.equal(automaticPairs(networks, "p"), [["a", "b"], ["a", "c"], ["b", "c"], ["b", "overlaps-a"], ["c", "overlaps-a"]]);
  assert.equal(overlapsOf(["10.0.0.0/24", "2001:db8::/64"], ["2001:db8::/48"]), ["2001:db8::/64 ∩ 2001:db8::/48"]);
});

test.run();
