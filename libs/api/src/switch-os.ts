// Which switch operating systems Bulkhead configures, and how: the one home of the rule that maps a
// registered OS to a flavour and of the port names each flavour uses. The inventory refuses what
// this does not know; the reconciler renders and the verifier reads by the flavour it returns.

export type SwitchFlavour = "sonic" | "cumulus";

export const SUPPORTED_SWITCH_OS = "SONiC 202111 or later, Cumulus Linux 4.x or 5.x";

/** The oldest SONiC release supported: EVPN type-5 routes and VRF VNIs work from it on. */
const OLDEST_SONIC_RELEASE = 202111;

/** Port names as each operating system spells them. */
export const PORT_NAMES: Record<SwitchFlavour, RegExp> = {
  sonic: /^Ethernet\d+$/,
  cumulus: /^swp\d+(s\d+)?$/,
};

/** The flavour of a registered OS, or why it is not supported (naming the field). */
export function switchFlavourOf(os: { vendor: string; version: string } | undefined): { flavour: SwitchFlavour } | { field: "os.vendor" | "os.version"; problem: string } {
  if (os?.vendor === "SONiC") {
    const release = /^(?:SONiC\.)?(\d{6})(?:\b|\.|$)/.exec(os.version);
    if (!release || Number(release[1]) < OLDEST_SONIC_RELEASE) return { field: "os.version", problem: `SONiC ${os.version} is not supported (supported: ${SUPPORTED_SWITCH_OS})` };
    return { flavour: "sonic" };
  }
  if (os?.vendor === "Cumulus") {
    if (!/^[45]\.\d+(\.\d+)?$/.test(os.version)) return { field: "os.version", problem: `Cumulus Linux ${os.version} is not supported (supported: ${SUPPORTED_SWITCH_OS})` };
    return { flavour: "cumulus" };
  }
  return { field: "os.vendor", problem: `${os?.vendor || "an unknown operating system"} is not supported (supported: ${SUPPORTED_SWITCH_OS})` };
}
