export { AGENT_VERSION, agentConfig, defineAgent, type AgentConfig, type AgentSpec } from "./agent.js";
export { ApplyEngine, type AgentState, type ApplyOutcome, type FileKind, type Store } from "./engine.js";
export { frrConfig, frrKind, interfacesConfig, interfacesKind } from "./frr.js";
export { parseLldp, type Neighbor } from "./lldp.js";
