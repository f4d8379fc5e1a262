// A Valkey (redis-server) of a test's own, to kill, stop or restart it: durable (AOF, fsync always)
// as production runs it. Only the process started here is ever signalled.
import { spawn, type ChildProcess } from "node:child_process";

/** Starts redis-server on `port` with its data in `dir`; resolves once it answers PING. */
export async function startValkey(port: number, dir: string): Promise<ChildProcess> {
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--dir", dir], { stdio: "ignore" });
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    const ok = await new Promise<boolean>((resolve) => {
      const probe = spawn("redis-cli", ["-p", String(port), "ping"], { stdio: "ignore" });
      probe.on("exit", (code) => resolve(code === 0));
      probe.on("error", () => resolve(false));
    });
    if (ok) return child;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server did not start on port ${port}`);
}
