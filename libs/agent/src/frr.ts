// The FRR configuration every agent manages (switches and firewalls alike).
import { vars } from "@bulkhead/service-kit";
import type { FileKind } from "./engine.js";

export const frrConfig = {
  BULKHEAD_FRR_VALIDATE: vars.string("Command that validates a candidate frr.conf ({file} is its path); empty: none", { default: "vtysh -C -f {file}" }),
  BULKHEAD_FRR_RELOAD: vars.string("Command that activates the written frr.conf ({file}); not run in simulate mode", { default: "/usr/lib/frr/frr-reload.py --reload {file}" }),
};

/** `frr/frr.conf` under the agent's root. */
export const frrKind = (c: { BULKHEAD_FRR_VALIDATE: string; BULKHEAD_FRR_RELOAD: string }): FileKind => ({ match: /^frr\//, validate: c.BULKHEAD_FRR_VALIDATE, reload: c.BULKHEAD_FRR_RELOAD });
