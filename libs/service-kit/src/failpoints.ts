// Failpoints let tests stop a process at a named step, to prove that what a crash leaves behind
// is cleaned up. They are off unless BULKHEAD_FAILPOINTS names them, e.g.
// `BULKHEAD_FAILPOINTS=network.allocate.after-prefixes=exit`. Actions: `exit` kills the process
// on the spot (SIGKILL, like a power cut), `error` throws.
const configured = new Map(
  (process.env.BULKHEAD_FAILPOINTS ?? "")
    .split(",")
    .map((entry) => entry.trim().split("="))
    .filter(([name, action]) => name && (action === "exit" || action === "error"))
    .map(([name, action]) => [name!, action as "exit" | "error"]),
);

export function failpoint(name: string): void {
  const action = configured.get(name);
  if (action === "exit") process.kill(process.pid, "SIGKILL");
  if (action === "error") throw new Error(`failpoint ${name}`);
}
