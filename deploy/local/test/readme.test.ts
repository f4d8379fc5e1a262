// Every configuration variable of every service and agent is documented in the README.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { serviceConfigSpec } from "@bulkhead/service-kit";
import { commands } from "@bulkhead/cli";
import { agents, serviceUrls, services } from "../services.js";
import { bufCurlWalkthrough, cliWalkthrough } from "../walkthrough.js";

const test = suite("README");

test("documents every variable of every service and agent", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  for (const definition of [...services, ...agents]) {
    for (const name of Object.keys(serviceConfigSpec(definition))) assert.ok(readme.includes(`| \`${name}\``), `${definition.name}: ${name} is in a README table`);
  }
});

test("shows the walkthroughs npm start prints, for the default ports and data directory", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  for (const line of [...cliWalkthrough(".bulkhead"), ...bufCurlWalkthrough(serviceUrls(7001), ".bulkhead/admin-token")]) assert.ok(readme.includes(`\n${line}\n`), `README shows: ${line}`);
});

test("names every CLI command", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  const section = readme.slice(readme.indexOf("## The `bulkhead` CLI"), readme.indexOf("## SDK"));
  for (const c of commands) for (const word of c.path) assert.ok(section.includes(word), `the CLI section names ${c.path.join(" ")}`);
});

test.run();
