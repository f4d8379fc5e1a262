import { test } from "uvu";
import * as assert from "uvu/assert";
import { Code } from "@connectrpc/connect";
import { ViolationsSchema } from "@bulkhead/api/gen/buf/validate/validate_pb.js";
import { ResourceInfoSchema } from "@bulkhead/api/gen/bulkhead/common/v1/common_pb.js";
import { AlreadyExistsError, FailedPreconditionError, InvalidArgumentError, NotFoundError, ResourceExhaustedError, toConnectError } from "../src/errors.js";

test("domain errors keep their code and name the field or resource", () => {
  const invalid = toConnectError(new InvalidArgumentError("networks.0.network", "is not a network of the project")).error;
  assert.is(invalid.code, Code.InvalidArgument);
  assert.is(invalid.rawMessage, "networks.0.network: is not a network of the project");
  const [violations] = invalid.findDetails(ViolationsSchema);
  assert.equal(violations?.violations[0]?.field?.elements.map((e) => e.fieldName), ["networks", "0", "network"]);
  const missing = toConnectError(new NotFoundError("bulkhead.ipam.v1.Prefix", "10.0.0.0/8")).error;
  assert.is(missing.code, Code.NotFound);
  assert.is(missing.findDetails(ResourceInfoSchema)[0]?.resourceName, "10.0.0.0/8");
  assert.is(toConnectError(new AlreadyExistsError("x", "y")).error.code, Code.AlreadyExists);
  assert.is(toConnectError(new FailedPreconditionError("busy")).error.code, Code.FailedPrecondition);
  assert.is(toConnectError(new ResourceExhaustedError("full")).error.code, Code.ResourceExhausted);
  assert.not.ok(toConnectError(new ResourceExhaustedError("full")).internal);
});

test("database errors map to retryable codes, anything else to an opaque internal error", () => {
  const pgError = (code: string) => Object.assign(new Error("db said no"), { code, severity: "ERROR" });
  assert.is(toConnectError(pgError("40001")).error.code, Code.Aborted);
  assert.is(toConnectError(pgError("40P01")).error.code, Code.Aborted);
  assert.is(toConnectError(pgError("08006")).error.code, Code.Unavailable);
  const unknown = toConnectError(pgError("42P01"));
  assert.is(unknown.error.code, Code.Internal);
  assert.is(unknown.error.rawMessage, "internal error");
  assert.ok(unknown.internal);
});

test.run();
