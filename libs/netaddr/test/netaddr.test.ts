import { test } from "uvu";
import * as assert from "uvu/assert";
import { compact, contains, formatAddress, formatPrefix, overlaps, parseAddress, parsePrefix, prefixSize } from "../src/index.js";

const p = (s: string) => parsePrefix(s)!;
const fmt = (xs: ReturnType<typeof compact>) => xs.map(formatPrefix);

test("parses and formats IPv4 and IPv6 canonically", () => {
  assert.is(formatAddress(parseAddress("10.1.2.3")!), "10.1.2.3");
  for (const [input, canonical] of [
    ["2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    ["::", "::"],
    ["::1", "::1"],
    ["fe80::", "fe80::"],
    ["2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"],
    ["::ffff:10.0.0.1", "::ffff:a00:1"],
  ]) assert.is(formatAddress(parseAddress(input)!), canonical, input);
  assert.is(parseAddress("10.0.0.256"), undefined);
  assert.is(parseAddress("nonsense"), undefined);
});

test("prefixes: strict parsing rejects host bits, sizes work at any length", () => {
  assert.is(parsePrefix("10.0.0.1/8", { strict: true }), undefined);
  assert.is(formatPrefix(parsePrefix("10.0.0.1/8")!), "10.0.0.0/8");
  assert.is(parsePrefix("10.0.0.0/33"), undefined);
  assert.is(prefixSize(p("2001:db8::/48")), 1n << 80n);
  assert.is(prefixSize(p("10.0.0.0/16")), 65536n);
});

test("containment and overlap respect families", () => {
  assert.ok(contains(p("10.0.0.0/8"), p("10.1.0.0/16")));
  assert.not.ok(contains(p("10.1.0.0/16"), p("10.0.0.0/8")));
  assert.ok(contains(p("10.0.0.0/8"), parseAddress("10.255.255.255")!));
  assert.not.ok(contains(p("0.0.0.0/0"), parseAddress("::1")!));
  assert.ok(overlaps(p("10.0.0.0/8"), p("10.2.3.0/24")));
  assert.not.ok(overlaps(p("10.0.0.0/16"), p("10.1.0.0/16")));
});

test("compaction drops contained prefixes and merges sibling halves", () => {
  assert.equal(fmt(compact([p("10.0.0.0/25"), p("10.0.0.128/25"), p("10.0.1.0/24")])), ["10.0.0.0/23"]);
  assert.equal(fmt(compact([p("10.0.0.0/16"), p("10.0.3.4/32"), p("10.1.0.0/16")])), ["10.0.0.0/15"]);
  assert.equal(fmt(compact([p("10.0.0.1/32"), p("10.0.0.2/32")])), ["10.0.0.1/32", "10.0.0.2/32"]);
  assert.equal(fmt(compact([p("2001:db8::/65"), p("2001:db8:0:0:8000::/65"), p("10.0.0.0/8")])), ["10.0.0.0/8", "2001:db8::/64"]);
});

test.run();
