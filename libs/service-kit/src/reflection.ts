// gRPC server reflection (v1 and v1alpha), answered from the descriptor set built by buf, so that
// `buf curl --list-methods` and calls without --schema work.
import { create, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, type DescriptorProto, type FileDescriptorProto, type FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import * as v1 from "@bulkhead/api/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "@bulkhead/api/gen/grpc/reflection/v1alpha/reflection_pb.js";

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/** Index of the descriptor set by file name and by fully-qualified symbol. */
export class DescriptorIndex {
  private readonly files = new Map<string, FileDescriptorProto>();
  private readonly symbols = new Map<string, string>();

  constructor(set: FileDescriptorSet) {
    for (const file of set.file) {
      this.files.set(file.name, file);
      const prefix = file.package ? `${file.package}.` : "";
      const addMessages = (messages: DescriptorProto[], scope: string) => {
        for (const message of messages) {
          const name = scope + message.name;
          this.symbols.set(name, file.name);
          for (const e of message.enumType) this.symbols.set(`${name}.${e.name}`, file.name);
          addMessages(message.nestedType, `${name}.`);
        }
      };
      addMessages(file.messageType, prefix);
      for (const e of file.enumType) this.symbols.set(prefix + e.name, file.name);
      for (const x of file.extension) this.symbols.set(prefix + x.name, file.name);
      for (const service of file.service) {
        this.symbols.set(prefix + service.name, file.name);
        for (const method of service.method) this.symbols.set(`${prefix}${service.name}.${method.name}`, file.name);
      }
    }
  }

  fileBySymbol(symbol: string): string | undefined {
    return this.symbols.get(symbol);
  }

  /** The file and all files it imports, transitively, serialized; undefined if unknown. */
  serializedWithDependencies(fileName: string): Uint8Array[] | undefined {
    if (!this.files.has(fileName)) return undefined;
    const order: string[] = [];
    const visit = (name: string) => {
      if (order.includes(name)) return;
      order.push(name);
      for (const dep of this.files.get(name)?.dependency ?? []) visit(dep);
    };
    visit(fileName);
    return order.map((name) => toBinary(FileDescriptorProtoSchema, create(FileDescriptorProtoSchema, this.files.get(name)!)));
  }
}

type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

function answer(index: DescriptorIndex, services: readonly string[], request: ReflectionRequest) {
  const base = { validHost: request.host, originalRequest: request as never };
  const files = (name: string | undefined) => {
    const fileDescriptorProto = name ? index.serializedWithDependencies(name) : undefined;
    return fileDescriptorProto
      ? { ...base, messageResponse: { case: "fileDescriptorResponse" as const, value: { fileDescriptorProto } } }
      : { ...base, messageResponse: { case: "errorResponse" as const, value: { errorCode: NOT_FOUND, errorMessage: "not found" } } };
  };
  switch (request.messageRequest.case) {
    case "listServices":
      return { ...base, messageResponse: { case: "listServicesResponse" as const, value: { service: services.map((name) => ({ name })) } } };
    case "fileByFilename":
      return files(request.messageRequest.value);
    case "fileContainingSymbol":
      return files(index.fileBySymbol(request.messageRequest.value));
    default:
      return { ...base, messageResponse: { case: "errorResponse" as const, value: { errorCode: UNIMPLEMENTED, errorMessage: "extension queries are not supported" } } };
  }
}

export function reflectionServiceV1(index: DescriptorIndex, services: readonly string[]): ServiceImpl<typeof v1.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield create(v1.ServerReflectionResponseSchema, answer(index, services, request));
    },
  };
}

export function reflectionServiceV1alpha(index: DescriptorIndex, services: readonly string[]): ServiceImpl<typeof v1alpha.ServerReflection> {
  return {
    async *serverReflectionInfo(requests) {
      for await (const request of requests) yield create(v1alpha.ServerReflectionResponseSchema, answer(index, services, request));
    },
  };
}
