// The switch-OS rule: supported vendors and versions map to their flavour; anything else is named.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PORT_NAMES, switchFlavourOf } from "../src/switch-os.js";

test("SONiC 202111 and later, and Cumulus Linux 4.x and 5.x, map to their flavour", () => {
  for (const version of ["202111", "202411", "SONiC.202311.1234-abcdef", "202505.1"]) assert.equal(switchFlavourOf({ vendor: "SONiC", version }), { flavour: "sonic" }, version);
  for (const version of ["4.4.5", "5.9", "5.11.1"]) assert.equal(switchFlavourOf({ vendor: "Cumulus", version }), { flavour: "cumulus" }, version);
});

test("an unknown vendor, an old or unreadable version, or no OS at all is refused naming the field", () => {
  const refused = (os: { vendor: string; version: string } | undefined) => {
    const r = switchFlavourOf(os);
    return "field" in r ? `${r.field}: ${r.problem}` : "accepted";
  };
  assert.match(refused({ vendor: "EOS", version: "4.30" }), /^os\.vendor: EOS is not supported \(supported: SONiC 202111 or later/);
  assert.match(refused(undefined), /^os\.vendor: an unknown operating system is not supported/);
  assert.match(refused({ vendor: "sonic", version: "202411" }), /^os\.vendor/, "the vendor is spelled as the OS reports it");
  assert.match(refused({ vendor: "SONiC", version: "202012" }), /^os\.version: SONiC 202012 is not supported/);
  assert.match(refused({ vendor: "SONiC", version: "master" }), /^os\.version/);
  assert.match(refused({ vendor: "Cumulus", version: "3.7.16" }), /^os\.version: Cumulus Linux 3\.7\.16 is not supported/);
});

test("port names follow each flavour", () => {
  assert.ok(PORT_NAMES.sonic.test("Ethernet0") && PORT_NAMES.sonic.test("Ethernet124"));
  assert.not.ok(PORT_NAMES.sonic.test("swp1") || PORT_NAMES.sonic.test("Ethernet1/1"));
  assert.ok(PORT_NAMES.cumulus.test("swp1") && PORT_NAMES.cumulus.test("swp49s3"));
  assert.not.ok(PORT_NAMES.cumulus.test("Ethernet0") || PORT_NAMES.cumulus.test("eth0"));
});

test.run();
