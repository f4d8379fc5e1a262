import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { ConfigError, readConfig, vars } from "../src/config.js";
import { kitConfigSpec } from "../src/service.js";

test("values are parsed, defaults applied", () => {
  const config = readConfig(kitConfigSpec(7000), { DATABASE_URL: "postgres://h/db", BULKHEAD_JWT_SECRET: "x".repeat(32), PORT: "8080" });
  assert.is(config.PORT, 8080);
  assert.is(config.BULKHEAD_LISTEN_HOST, "127.0.0.1");
  assert.is(config.VALKEY_URL, "redis://127.0.0.1:6379");
  assert.is(readConfig(kitConfigSpec(7000), { DATABASE_URL: "postgres://h/db", BULKHEAD_JWT_SECRET: "x".repeat(32) }).PORT, 7000);
});

test("every problem is reported at once, and secrets are not echoed", () => {
  try {
    readConfig(kitConfigSpec(7000), { PORT: "http", DATABASE_URL: "mysql://x", BULKHEAD_JWT_SECRET: "short-secret", BULKHEAD_LOG_LEVEL: "loud" });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, ConfigError);
    const problems = (error as ConfigError).problems;
    assert.equal(problems.length, 4);
    assert.match(problems.join("\n"), 'PORT must be an integer between 0 and 65535 (got "http")');
    assert.match(problems.join("\n"), "DATABASE_URL must be a postgres or postgresql URL");
    assert.match(problems.join("\n"), "BULKHEAD_JWT_SECRET must be at least 32 characters");
    assert.not.match(problems.join("\n"), "short-secret");
    assert.not.match(problems.join("\n"), "mysql");
  }
});

test("required variables without a value are named with their description", () => {
  try {
    readConfig({ NEEDED: vars.string("what it is for") }, {});
    assert.unreachable();
  } catch (error) {
    assert.equal((error as ConfigError).problems, ["NEEDED is required: what it is for"]);
  }
});

test("the README documents every variable of the kit", () => {
  const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
  for (const name of Object.keys(kitConfigSpec(0))) assert.ok(readme.includes(`\`${name}\``), `${name} is documented in README.md`);
});

test.run();
