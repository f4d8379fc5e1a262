// A machine's `frr.conf`: BGP unnumbered to both leaves announcing only its own routes, and an
// iBGP peer group for on-host BGP speakers (load balancers, CNI) that connect from the machine's
// own addresses. Pure and deterministic.
import { FRR_HEADER, addressFamily, familyOf, joinConfig, naturally, onlySelfOut, peerGroup, routeMap, unnumberedInterface } from "./frr.js";

export interface MachineFrrModel {
  hostname: string;
  asn: number;
  /** The NICs cabled to the leaves. */
  uplinks: string[];
  /** The machine's own addresses (of its networks). */
  addresses: string[];
}

/** Router id: the first IPv4 address; IPv6-only machines use a fixed link-local-range id. */
const routerIdOf = (addresses: readonly string[]) => [...addresses].filter((a) => familyOf(a) === 4).sort(naturally)[0] ?? "169.254.255.255";

export function renderMachineFrr(model: MachineFrrModel): string {
  const uplinks = [...model.uplinks].sort(naturally);
  const addresses = [...new Set(model.addresses)].sort(naturally);
  const toTor = ["redistribute connected", "redistribute kernel", "neighbor TOR route-map only-self-out out", "neighbor LOCAL route-map local-in in"];
  const listen = addresses.map((a) => ` bgp listen range ${a}/${familyOf(a) === 4 ? 32 : 128} peer-group LOCAL`);
  return joinConfig([
    ...FRR_HEADER,
    `hostname ${model.hostname}`,
    "log syslog informational",
    "service integrated-vtysh-config",
    "!",
    ...uplinks.flatMap((u) => unnumberedInterface(u)),
    `router bgp ${model.asn}`,
    ` bgp router-id ${routerIdOf(addresses)}`,
    " bgp bestpath as-path multipath-relax",
    ...peerGroup("TOR"),
    ...uplinks.map((u) => ` neighbor ${u} interface peer-group TOR`),
    ...peerGroup("LOCAL", "internal", "1 3"),
    ...listen,
    ...addressFamily("ipv4 unicast", toTor),
    ...addressFamily("ipv6 unicast", ["neighbor TOR activate", "neighbor LOCAL activate", ...toTor]),
    "exit",
    "!",
    ...onlySelfOut,
    // Routes from on-host speakers win over anything else the machine knows for them.
    ...routeMap("local-in", [{ action: "permit", set: ["weight 32768"] }]),
    "!",
    "line vty",
    "!",
  ]);
}
