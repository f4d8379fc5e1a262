// Our reduced proto/buf/validate/validate.proto must agree, name for name and number for number,
// with the descriptor protovalidate itself evaluates rules with; otherwise rules would be read
// from the wrong fields without any error.
import { test } from "uvu";
import * as assert from "uvu/assert";
import type { DescEnum, DescField, DescMessage } from "@bufbuild/protobuf";
import { file_buf_validate_validate as upstream } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { file_buf_validate_validate as reduced } from "../src/gen/buf/validate/validate_pb.js";

function describeField(field: DescField): string {
  const type = field.fieldKind === "scalar" ? `scalar:${field.scalar}` : field.fieldKind === "list" ? `list:${field.listKind}:${field.scalar ?? field.message?.typeName ?? field.enum?.typeName}` : field.fieldKind === "map" ? `map:${field.mapKey}` : `${field.fieldKind}:${field.message?.typeName ?? field.enum?.typeName}`;
  return `${field.name}=${field.number} ${type} oneof:${field.oneof?.name ?? "-"} label:${field.proto.label}`;
}

const byName = <T extends { name: string }>(items: readonly T[]) => new Map(items.map((i) => [i.name, i]));

test("every message of the reduced copy exists upstream with identical fields", () => {
  const upstreamMessages = byName(upstream.messages);
  assert.ok(reduced.messages.length >= 20, "the reduced copy keeps the rule messages");
  for (const message of reduced.messages) {
    const original: DescMessage | undefined = upstreamMessages.get(message.name);
    assert.ok(original, `buf.validate.${message.name} exists upstream`);
    const originalFields = byName(original!.fields);
    for (const field of message.fields) {
      const counterpart = originalFields.get(field.name);
      assert.ok(counterpart, `buf.validate.${message.name}.${field.name} exists upstream`);
      assert.is(describeField(field), describeField(counterpart!), `buf.validate.${message.name}.${field.name}`);
    }
    assert.equal(
      message.proto.extensionRange.map((r) => [r.start, r.end]),
      original!.proto.extensionRange.map((r) => [r.start, r.end]),
      `extension ranges of buf.validate.${message.name}`,
    );
  }
});

test("every enum value of the reduced copy has the upstream number", () => {
  const upstreamEnums = byName(upstream.enums);
  for (const e of reduced.enums) {
    const original: DescEnum | undefined = upstreamEnums.get(e.name);
    assert.ok(original, `buf.validate.${e.name} exists upstream`);
    for (const value of e.values) assert.is(original!.values.find((v) => v.name === value.name)?.number, value.number, `${e.name}.${value.name}`);
  }
});

test("the option extensions use the upstream numbers and extendees", () => {
  const describe = (x: { name: string; number: number; extendee: DescMessage }) => `${x.name}=${x.number} on ${x.extendee.typeName}`;
  assert.equal(reduced.extensions.map(describe).sort(), upstream.extensions.map(describe).sort());
});
test.run();
