// What `npm start` prints to try the demo fabric: the same steps with the `bulkhead` CLI and with
// `buf curl`, for the project in $PROJECT. The launcher test runs both exactly as printed; the
// README shows them for the default ports and data directory (a test keeps it so).

/** `bulkhead` commands, run from the repository's root (the CLI reads .bulkhead/cli.json). */
export function cliWalkthrough(dataDir: string): string[] {
  const project = "$PROJECT";
  const id = (path: string) => `| node -pe 'JSON.parse(require("fs").readFileSync(0)).${path}'`;
  return [
    `./bulkhead switch list`,
    `./bulkhead machine list --partition demo`,
    `WEB=$(./bulkhead network allocate --project ${project} --partition demo --name web -o json ${id("network.id")})`,
    `./bulkhead machine allocate --project ${project} --partition demo --machine m01 --hostname web-1 --network $WEB --network internet --wait`,
    `grep -A1 '^vrf vrf' ${dataDir}/devices/leaf01/frr/frr.conf`,
    `DB=$(./bulkhead network allocate --project ${project} --partition demo --name db --ipv4 -o json ${id("network.id")})`,
    `./bulkhead peering create --project ${project} --name web-db --network1 $WEB --network2 $DB --wait`,
    `./bulkhead firewall allocate --project ${project} --partition demo --machine fw01 --hostname fw01 --network $WEB --network internet --wait`,
    `./bulkhead policy apply -f deploy/local/examples/web-out.yaml --project ${project} --wait`,
    `grep web-out ${dataDir}/devices/fw01/nftables/bulkhead.nft`,
    `./bulkhead fabric status`,
    `./bulkhead fabric verify --partition demo`,
    `./bulkhead fabric lab --partition demo`,
  ];
}

/**
 * The same kind of calls with buf curl (`./buf`, the checkout's buf), for whoever prefers raw RPCs;
 * the token from `tokenFile`; `caFile` with --tls.
 */
export function bufCurlWalkthrough(urls: Record<string, string>, tokenFile: string, caFile?: string): string[] {
  const transport = caFile ? `--cacert ${caFile}` : "--http2-prior-knowledge";
  const call = (url: string, method: string, body: string) => `./buf curl ${transport} -H "Authorization: Bearer $TOKEN" -d '${body}' ${url}/${method}`;
  const capture = (variable: string, command: string, path: string) => `${variable}=$(${command} | node -pe 'JSON.parse(require("fs").readFileSync(0)).${path}')`;
  const network = urls.BULKHEAD_NETWORK_URL!;
  return [
    `export TOKEN=$(cat ${tokenFile})`,
    call(urls.BULKHEAD_INVENTORY_URL!, "bulkhead.inventory.v1.SwitchService/ListSwitches", '{"partition":"demo"}'),
    capture("APP", call(network, "bulkhead.network.v1.NetworkService/AllocateNetwork", `{"project":"'$PROJECT'","partition":"demo","name":"app"}`), "network.id"),
    call(network, "bulkhead.network.v1.NetworkService/GetNetwork", `{"id":"'$APP'"}`),
    call(urls.BULKHEAD_IPAM_URL!, "bulkhead.ipam.v1.IpamService/GetPrefixUsage", '{"cidrs":["10.0.0.0/16"]}'),
    call(urls.BULKHEAD_PEERING_URL!, "bulkhead.peering.v1.PeeringService/GetRouteLeakPlan", '{"partition":"demo"}'),
    call(urls.BULKHEAD_RECONCILER_URL!, "bulkhead.fabric.v1.DesiredStateService/ListDeviceStatuses", '{"partition":"demo"}'),
    call(urls.BULKHEAD_RECONCILER_URL!, "bulkhead.fabric.v1.DesiredStateService/VerifyPartition", '{"partition":"demo"}'),
  ];
}
