// A relay in a process of its own, so a test can SIGKILL it mid-way.
import { Redis } from "ioredis";
import { OutboxRelay, createPool } from "../../src/index.js";

const pool = createPool({ url: process.env.DATABASE_URL!, schema: process.env.SCHEMA! });
const connection = new Redis(process.env.VALKEY_URL!, { maxRetriesPerRequest: null });
const relay = new OutboxRelay({ pool, schema: process.env.SCHEMA!, connection, queuePrefix: process.env.PREFIX, batchSize: Number(process.env.BATCH ?? 5) });
await relay.start();
process.stdout.write("started\n");
