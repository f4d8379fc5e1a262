export { unifiedDiff } from "./diff.js";
export * from "./firewall-model.js";
export { LOG_ACCEPTED, LOG_FORWARD_DROPPED, LOG_INPUT_DROPPED, TABLE, compileFirewall, policyProblems } from "./nftables.js";
