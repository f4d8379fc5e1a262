// One launcher per data directory: a lock file holding the owner's pid. A second launcher is
// told who holds it and touches nothing; a lock whose process is gone is taken over.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export const LOCK_FILE = "launcher.pid";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Takes the lock of `dir` for this process; returns the pid of the live process holding it otherwise. */
export function lockDataDir(dir: string): { release(): void } | { heldBy: number } {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: "wx", mode: 0o600 });
      return {
        release() {
          if (readFileSync(file, "utf8").trim() === String(process.pid)) rmSync(file, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(file, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) return { heldBy: holder };
      rmSync(file, { force: true }); // stale: its launcher is gone
    }
  }
  throw new Error(`could not take the lock ${file}`);
}
