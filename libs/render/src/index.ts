export { unifiedDiff } from "./diff.js";
export { firewallLeaks, renderFirewallFrr, type FirewallFrrModel, type Leak } from "./firewall-frr.js";
export * from "./firewall-model.js";
export { renderMachineFrr, type MachineFrrModel } from "./machine.js";
export { LOG_ACCEPTED, LOG_FORWARD_DROPPED, LOG_INPUT_DROPPED, TABLE, compileFirewall, policyProblems } from "./nftables.js";
export { PXE_VLAN, PXE_VNI, renderSwitch, type ExternalSessionModel, type RenderedSwitch, type SwitchModel, type SwitchPortModel, type SwitchPortRole, type SwitchVrfModel } from "./switch.js";
export { TENANT_VLANS, VlansExhausted, assignVlans } from "./vlans.js";
export { revisionHash, type RevisionFile } from "./revision.js";
export { firewallFrrModelOf, firewallNetworksOf, projectsOf, switchModelOf } from "./from-api.js";
