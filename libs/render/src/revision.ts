// The identity of a set of configuration files, shared by the reconciler (which stores and pushes
// revisions) and the agents (which check what they receive and report what runs).
import { createHash } from "node:crypto";

export interface RevisionFile {
  path: string;
  content: string;
}

/** sha256 over the files sorted by path, each as path NUL content NUL. */
export function revisionHash(files: readonly RevisionFile[]): string {
  const hash = createHash("sha256");
  for (const f of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) hash.update(f.path).update("\0").update(f.content).update("\0");
  return hash.digest("hex");
}
