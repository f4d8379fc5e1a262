// Every configuration variable of every service the launcher runs is documented in the README.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { serviceConfigSpec } from "@bulkhead/service-kit";
import { services } from "../services.js";

const test = suite("README");

test("documents every variable of every service", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  for (const definition of services) {
    for (const name of Object.keys(serviceConfigSpec(definition))) assert.ok(readme.includes(`| \`${name}\``), `${definition.name}: ${name} is in a README table`);
  }
});

test.run();
