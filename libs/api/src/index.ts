// Entry point of the generated contracts: lists every Bulkhead file and service, reads the
// descriptor set used for server reflection, and exposes the access method option.
import { readFileSync } from "node:fs";
import { createRegistry, fromBinary, getOption, hasOption, type DescMethod, type DescService, type Registry } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema, type FileDescriptorSet } from "@bufbuild/protobuf/wkt";
import type { GenFile } from "@bufbuild/protobuf/codegenv2";
import { file_bulkhead_auth_v1_token } from "./gen/bulkhead/auth/v1/token_pb.js";
import { file_bulkhead_audit_v1_audit } from "./gen/bulkhead/audit/v1/audit_pb.js";
import { file_bulkhead_agent_v1_agent } from "./gen/bulkhead/agent/v1/agent_pb.js";
import { file_bulkhead_common_v1_common } from "./gen/bulkhead/common/v1/common_pb.js";
import { access, file_bulkhead_common_v1_options, type Access } from "./gen/bulkhead/common/v1/options_pb.js";
import { file_bulkhead_common_v1_rules } from "./gen/bulkhead/common/v1/rules_pb.js";
import { file_bulkhead_fabric_v1_desired_state } from "./gen/bulkhead/fabric/v1/desired_state_pb.js";
import { file_bulkhead_firewall_v1_policy } from "./gen/bulkhead/firewall/v1/policy_pb.js";
import { file_bulkhead_inventory_v1_machine } from "./gen/bulkhead/inventory/v1/machine_pb.js";
import { file_bulkhead_inventory_v1_switch } from "./gen/bulkhead/inventory/v1/switch_pb.js";
import { file_bulkhead_ipam_v1_ipam } from "./gen/bulkhead/ipam/v1/ipam_pb.js";
import { file_bulkhead_network_v1_ip } from "./gen/bulkhead/network/v1/ip_pb.js";
import { file_bulkhead_network_v1_network } from "./gen/bulkhead/network/v1/network_pb.js";
import { file_bulkhead_network_v1_partition } from "./gen/bulkhead/network/v1/partition_pb.js";
import { file_bulkhead_network_v1_project } from "./gen/bulkhead/network/v1/project_pb.js";
import { file_bulkhead_peering_v1_peering } from "./gen/bulkhead/peering/v1/peering_pb.js";

/** Every generated file of the `bulkhead.*` packages. */
export const bulkheadFiles: readonly GenFile[] = [
  file_bulkhead_common_v1_common,
  file_bulkhead_common_v1_options,
  file_bulkhead_common_v1_rules,
  file_bulkhead_ipam_v1_ipam,
  file_bulkhead_network_v1_partition,
  file_bulkhead_network_v1_project,
  file_bulkhead_network_v1_network,
  file_bulkhead_network_v1_ip,
  file_bulkhead_inventory_v1_switch,
  file_bulkhead_inventory_v1_machine,
  file_bulkhead_peering_v1_peering,
  file_bulkhead_firewall_v1_policy,
  file_bulkhead_fabric_v1_desired_state,
  file_bulkhead_agent_v1_agent,
  file_bulkhead_audit_v1_audit,
  file_bulkhead_auth_v1_token,
];

/** Every service of the `bulkhead.*` packages. */
export const bulkheadServices: readonly DescService[] = bulkheadFiles.flatMap((f) => f.services);

/** A registry holding every Bulkhead type, extension and its dependencies. */
export function createApiRegistry(): Registry {
  return createRegistry(...bulkheadFiles);
}

/** Path of the binary FileDescriptorSet built by `buf build` (see `pnpm generate`). */
export const descriptorSetPath = new URL("../descriptors.binpb", import.meta.url);

/** Reads the descriptor set with all files and their imports, as server reflection needs. */
export function loadDescriptorSet(): FileDescriptorSet {
  return fromBinary(FileDescriptorSetSchema, readFileSync(descriptorSetPath));
}

const accessOf = new WeakMap<DescMethod, Access | undefined>();

/** The access option declared on a method, or undefined when the method declares none (read once per method). */
export function methodAccess(method: DescMethod): Access | undefined {
  if (!accessOf.has(method)) accessOf.set(method, hasOption(method, access) ? getOption(method, access) : undefined);
  return accessOf.get(method);
}

export { access };
