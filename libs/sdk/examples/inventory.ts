// A runnable SDK example: the partitions, switches and networks of an installation.
//   npm start                                  (in another terminal)
//   node --import tsx libs/sdk/examples/inventory.ts [path/to/cli.json]
// It reads the endpoints and the token from the file `npm start` writes (.bulkhead/cli.json).
import { readFileSync } from "node:fs";
import { createBulkhead } from "@bulkhead/sdk";

const { endpoints, token } = JSON.parse(readFileSync(process.argv[2] ?? ".bulkhead/cli.json", "utf8"));
const bh = createBulkhead({ endpoints, token });

for (const partition of (await bh.partitions.listPartitions({})).partitions) {
  const { switches } = await bh.switches.listSwitches({ partition: partition.id });
  const { networks } = await bh.networks.listNetworks({ partition: partition.id });
  console.log(`${partition.id}: ${switches.length} switches (${switches.map((s) => s.id).join(", ")}), ${networks.length} networks`);
  for (const n of networks) console.log(`  ${n.name.padEnd(24)} vrf ${String(n.vrf).padEnd(8)} ${n.prefixes.join(", ")}`);
}
