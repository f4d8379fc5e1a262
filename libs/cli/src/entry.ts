// The entry point of the CLI's bundle (bin/bulkhead.mjs builds it): runs the command line.
import { runProcess } from "./main.js";

await runProcess();
