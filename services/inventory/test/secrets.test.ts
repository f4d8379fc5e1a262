// BMC credentials: stored encrypted, rotatable, and never in a response, a log line, an event or
// the audit log.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { toJsonString } from "@bufbuild/protobuf";
import { GetMachineResponseSchema, ListMachinesResponseSchema, RegisterMachineResponseSchema, SetBmcCredentialsResponseSchema } from "@bulkhead/api/gen/bulkhead/inventory/v1/machine_pb.js";
import { SecretBox } from "../src/secrets.js";
import { failure, startFabric, type Fabric } from "./harness.js";

const test = suite<{ f: Fabric }>("BMC credentials", {} as never);
test.before(async (ctx) => {
  ctx.f = await startFabric();
});
test.after(async (ctx) => ctx.f?.stop());

const first = "first-Pa55word-7c1e";
const second = "second-Pa55word-92ab";
const refused = "refused-Pa55word-0d4f";

test("credentials are sealed at rest, rotatable, and appear in no response, log line, event or audit record", async ({ f }) => {
  const registered = await f.register("m-bmc", [["leaf01", "Eth1/1"], ["leaf02", "Eth1/1"]], { address: "10.1.0.5:623", username: "ADMIN", password: first });
  assert.equal([registered.machine?.bmc?.address, registered.machine?.bmc?.username, registered.machine?.bmc?.credentialsSet], ["10.1.0.5:623", "ADMIN", true]);
  const responses = [toJsonString(RegisterMachineResponseSchema, registered)];

  const rotated = await f.machines.setBmcCredentials({ id: "m-bmc", credentials: { address: "10.1.0.6", username: "ADMIN", password: second } });
  assert.equal([rotated.machine?.bmc?.address, rotated.machine?.bmc?.credentialsSet], ["10.1.0.6", true]);
  assert.ok(rotated.machine?.bmc?.rotatedAt);
  responses.push(toJsonString(SetBmcCredentialsResponseSchema, rotated));
  responses.push(toJsonString(GetMachineResponseSchema, await f.machines.getMachine({ id: "m-bmc" })));
  responses.push(toJsonString(ListMachinesResponseSchema, await f.machines.listMachines({})));

  const tooLong = await failure(f.machines.setBmcCredentials({ id: "m-bmc", credentials: { address: "10.1.0.6", username: "ADMIN", password: refused.repeat(20) } }));
  assert.is(tooLong.code, Code.InvalidArgument);
  responses.push(tooLong.message);
  const unknown = await failure(f.machines.setBmcCredentials({ id: "m-nope", credentials: { address: "10.1.0.7", username: "ADMIN", password: refused } }));
  assert.is(unknown.code, Code.NotFound);
  responses.push(unknown.message);

  // Sealed with the service's key, bound to the machine: the latest password, and only that.
  const stored = (await f.inventory.service.pool.query("SELECT bmc_secret FROM machines WHERE id = 'm-bmc'")).rows[0].bmc_secret as Buffer;
  const box = new SecretBox(f.secretsKey);
  assert.is(box.open(stored, "bmc:m-bmc"), second);
  assert.throws(() => box.open(stored, "bmc:m-other"), "a sealed secret moved to another machine does not open");
  assert.not.ok(stored.includes(second), "not stored in plaintext");

  // The audit log is written in batches: wait for both calls to be recorded.
  const audit = async () => (await f.inventory.service.pool.query("SELECT * FROM audit_log")).rows;
  for (let i = 0; i < 50 && !(await audit()).some((r) => r.method.endsWith("SetBmcCredentials") && r.outcome !== "ok"); i++) await new Promise((r) => setTimeout(r, 100));
  assert.ok((await audit()).filter((r) => r.method.endsWith("SetBmcCredentials")).length >= 2, "the rotations are audited");

  const everything = {
    responses: responses.join("\n"),
    logs: f.inventory.logs(),
    audit: JSON.stringify(await audit()),
    events: JSON.stringify((await f.inventory.service.pool.query("SELECT * FROM outbox")).rows),
    machineRow: JSON.stringify((await f.inventory.service.pool.query("SELECT nics, problems, bmc_address, bmc_username FROM machines")).rows),
  };
  assert.match(everything.logs, "SetBmcCredentials", "the calls were logged (at trace level)");
  for (const [where, text] of Object.entries(everything)) {
    for (const secret of [first, second, refused]) assert.not.ok(text.includes(secret), `the password shows up in ${where}`);
  }
});

test("a machine agent re-registering without credentials keeps the stored ones", async ({ f }) => {
  const again = await f.register("m-bmc", [["leaf01", "Eth1/1"], ["leaf02", "Eth1/1"]]);
  assert.equal([again.machine?.bmc?.address, again.machine?.bmc?.credentialsSet], ["10.1.0.6", true]);
});

test.run();
