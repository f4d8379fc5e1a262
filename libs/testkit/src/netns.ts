// Network namespaces for tests that run nft and real packets. Needs root and iproute2; a missing
// tool fails the test (CI installs them), it is never skipped.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Runs a command on the host; rejects with its stderr when it fails. */
export async function sh(command: string, ...args: string[]): Promise<string> {
  try {
    return (await run(command, args, { maxBuffer: 16 << 20 })).stdout;
  } catch (error) {
    const e = error as { stderr?: string; message: string };
    throw new Error(`${command} ${args.join(" ")}: ${e.stderr?.trim() || e.message}`);
  }
}

/** Runs a command inside a namespace. */
export const inNs = (ns: string, command: string, ...args: string[]) => sh("ip", "netns", "exec", ns, command, ...args);

/** Creates namespaces with a common random prefix; `remove()` deletes them all. */
export async function namespaces<const N extends string>(...names: N[]): Promise<{ [K in N]: string } & { remove(): Promise<void> }> {
  const prefix = `bh${randomBytes(3).toString("hex")}`;
  const created: string[] = [];
  const result = {} as Record<string, string>;
  const remove = async () => {
    for (const ns of created) await sh("ip", "netns", "del", ns).catch(() => {});
  };
  try {
    for (const name of names) {
      const ns = `${prefix}-${name}`;
      await sh("ip", "netns", "add", ns);
      created.push(ns);
      await inNs(ns, "ip", "link", "set", "lo", "up");
      result[name] = ns;
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return Object.assign(result, { remove }) as { [K in N]: string } & { remove(): Promise<void> };
}
