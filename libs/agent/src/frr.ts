// The files every agent manages (switches and firewalls alike): FRR's configuration and the
// ifupdown2 interfaces file.
import { vars } from "@bulkhead/service-kit";
import type { FileKind } from "./engine.js";

export const frrConfig = {
  BULKHEAD_FRR_VALIDATE: vars.string("Command that validates a candidate frr.conf ({file} is its path); `none`: no validation", { default: "vtysh -C -f {file}" }),
  BULKHEAD_FRR_RELOAD: vars.string("Command that activates the written frr.conf ({file}); not run in simulate mode", { default: "/usr/lib/frr/frr-reload.py --reload {file}" }),
};

/** `frr/frr.conf` under the agent's root. */
export const frrKind = (c: { BULKHEAD_FRR_VALIDATE: string; BULKHEAD_FRR_RELOAD: string }): FileKind => ({ match: /^frr\//, validate: c.BULKHEAD_FRR_VALIDATE, reload: c.BULKHEAD_FRR_RELOAD });

export const interfacesConfig = {
  BULKHEAD_INTERFACES_VALIDATE: vars.string("Command that validates a candidate interfaces file ({file}); empty or `none`: no validation", { default: "" }),
  BULKHEAD_INTERFACES_RELOAD: vars.string("Command that activates the written interfaces file; not run in simulate mode", { default: "ifreload -a" }),
};

/** `network/interfaces` under the agent's root. */
export const interfacesKind = (c: { BULKHEAD_INTERFACES_VALIDATE: string; BULKHEAD_INTERFACES_RELOAD: string }): FileKind => ({ match: /^network\//, validate: c.BULKHEAD_INTERFACES_VALIDATE, reload: c.BULKHEAD_INTERFACES_RELOAD });
