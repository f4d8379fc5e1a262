// SONiC's FRR text in the names the checks use. SONiC only binds VRFs named `Vrf<N>` and names its
// loopback `Loopback0`; Cumulus uses `vrf<N>` and `lo`. The text is rewritten line for line (line
// numbers stay), and a Cumulus-style VRF name on SONiC is reported: SONiC would create no VRF for it.
export function sonicFrr(text: string): { text: string; unknown: { line: number; text: string }[] } {
  const unknown: { line: number; text: string }[] = [];
  const lines = text.split("\n").map((line, i) => {
    const foreign = /\bvrf\d+\b/.exec(line);
    if (foreign) unknown.push({ line: i + 1, text: `${line.trim()} (SONiC names VRFs Vrf<N>: ${foreign[0]} is no VRF there)` });
    return line.replace(/\bVrf(\d+)\b/g, "vrf$1").replace(/^(\s*match interface )Loopback0$/, "$1lo");
  });
  return { text: lines.join("\n"), unknown };
}
