// Applying a revision on a device: check its hash, validate every file with the device's own
// tools (and the agent's own checks), then kind by kind in the revision's order write the files
// atomically keeping a backup and reload; if a write or reload fails, everything written is put
// back. A kind may keep its content somewhere other than a file (a store: SONiC's CONFIG_DB).
// What was applied survives restarts (a state file next to the configuration).
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { FailedPreconditionError, InvalidArgumentError, type Logger } from "@bulkhead/service-kit";
import { revisionHash, type RevisionFile } from "@bulkhead/render";

const exec = promisify(execFile);

/** How files of one kind are checked and activated. Commands run with `sh -c`; `{file}` is the file's path. */
export interface FileKind {
  /** Which paths this kind covers, e.g. /^frr\// */
  match: RegExp;
  /** Validates a candidate file; a non-zero exit rejects the revision. Empty or `none`: no validation. */
  validate: string;
  /** Activates the written file; a non-zero exit rolls the revision back. Empty or `none`: nothing to do. */
  reload: string;
  /** The agent's own check of a candidate: why it is refused, or undefined. */
  check?: (content: string) => string | undefined;
  /** Where the content lives when it is not the file at its path. */
  store?: Store;
}

/** Content kept outside the file system, read back in the rendered form (so drift shows). */
export interface Store {
  read(): Promise<string>;
  /** Makes `content` current; resolves to what puts back the content it replaced. */
  write(content: string): Promise<() => Promise<void>>;
}

/** What an operator sets a command variable to for no command (an empty variable means its default). */
const NO_COMMAND = "none";
const commandOf = (command: string) => (command === NO_COMMAND ? "" : command);

export interface AgentState {
  appliedGeneration: number;
  appliedHash: string;
  lastApplyAt: string | null;
  lastError: string;
  /** The paths the last applied revision wrote. */
  paths: string[];
}

export type ApplyOutcome = "applied" | "unchanged";

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

async function run(command: string, file: string, timeoutMs: number): Promise<void> {
  try {
    await exec("sh", ["-c", command.replaceAll("{file}", quote(file))], { timeout: timeoutMs, maxBuffer: 4 << 20 });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error((e.stderr || e.stdout || e.message).trim().slice(0, 2000));
  }
}

export class ApplyEngine {
  private state: AgentState;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly stateFile: string;
  private readonly kinds: readonly FileKind[];

  constructor(
    /** Directory the revision's relative paths are written under. */
    private readonly root: string,
    kinds: readonly FileKind[],
    private readonly log: Logger,
    private readonly commandTimeoutMs = 60_000,
  ) {
    this.kinds = kinds.map((k) => ({ ...k, validate: commandOf(k.validate), reload: commandOf(k.reload) }));
    this.stateFile = join(root, ".bulkhead", "state.json");
    mkdirSync(join(root, ".bulkhead"), { recursive: true });
    this.state = existsSync(this.stateFile) ? (JSON.parse(readFileSync(this.stateFile, "utf8")) as AgentState) : { appliedGeneration: 0, appliedHash: "", lastApplyAt: null, lastError: "", paths: [] };
  }

  get current(): Readonly<AgentState> {
    return this.state;
  }

  /** The managed files as they are now (on disk, or in their store): sha256 each, and the revision hash over them. */
  async onDisk(): Promise<{ files: { path: string; sha256: string }[]; runningHash: string }> {
    const files = await Promise.all(
      this.state.paths.map(async (path) => {
        const store = this.kindOf(path)?.store;
        const content = store ? await store.read() : existsSync(join(this.root, path)) ? readFileSync(join(this.root, path), "utf8") : undefined;
        return { path, content };
      }),
    );
    return {
      files: files.map((f) => ({ path: f.path, sha256: f.content !== undefined ? createHash("sha256").update(f.content).digest("hex") : "" })),
      runningHash: files.length > 0 ? revisionHash(files.map((f) => ({ path: f.path, content: f.content ?? "" }))) : "",
    };
  }

  private kindOf(path: string): FileKind | undefined {
    return this.kinds.find((k) => k.match.test(path));
  }

  /** Applies one revision at a time, in call order. */
  apply(generation: number, files: readonly RevisionFile[], hash: string): Promise<ApplyOutcome> {
    const next = this.queue.then(() => this.applyNow(generation, files, hash));
    this.queue = next.catch(() => {});
    return next;
  }

  private async applyNow(generation: number, files: readonly RevisionFile[], hash: string): Promise<ApplyOutcome> {
    if (revisionHash(files) !== hash) throw new InvalidArgumentError("hash", "does not match the files: the revision was altered or truncated");
    // The same generation again is a no-op — unless the files were changed behind our back (drift).
    if (generation === this.state.appliedGeneration && hash === this.state.appliedHash && (await this.onDisk()).runningHash === hash) return "unchanged";
    for (const [i, f] of files.entries()) if (!this.kindOf(f.path)) throw new InvalidArgumentError(`files.${i}.path`, `this agent does not manage ${f.path}`);
    for (const [i, f] of files.entries()) {
      const refused = this.kindOf(f.path)!.check?.(f.content);
      if (refused) {
        this.fail(`generation ${generation}: ${f.path} refused: ${refused}`);
        throw new InvalidArgumentError(`files.${i}.content`, `${f.path} is refused by the agent: ${refused}`);
      }
    }

    // Validate candidates with the device's tools before touching anything.
    const staging = join(this.root, ".bulkhead", "staging");
    rmSync(staging, { recursive: true, force: true });
    try {
      for (const [i, f] of files.entries()) {
        const candidate = join(staging, f.path);
        mkdirSync(dirname(candidate), { recursive: true });
        writeFileSync(candidate, f.content);
        const kind = this.kindOf(f.path)!;
        if (kind.validate) {
          await run(kind.validate, candidate, this.commandTimeoutMs).catch((error: Error) => {
            this.fail(`generation ${generation}: ${f.path} rejected by validation: ${error.message}`);
            throw new InvalidArgumentError(`files.${i}.content`, `${f.path} fails validation on the device: ${error.message}`);
          });
        }
      }
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }

    // Kind by kind, in the order the revision lists them: write (keeping what ran before), then
    // reload. A failure puts back everything written and reloads what was reloaded.
    const kinds = [...new Set(files.map((f) => this.kindOf(f.path)!))];
    const restores: (() => Promise<void>)[] = [];
    const reloaded: FileKind[] = [];
    const reload = (kind: FileKind) => run(kind.reload, join(this.root, files.find((f) => kind.match.test(f.path))!.path), this.commandTimeoutMs);
    try {
      for (const kind of kinds) {
        for (const f of files.filter((x) => this.kindOf(x.path) === kind)) restores.push(kind.store ? await kind.store.write(f.content) : this.replace(f));
        if (kind.reload) {
          reloaded.push(kind);
          await reload(kind);
        }
      }
    } catch (error) {
      for (const restore of restores.reverse()) await restore().catch((e: Error) => this.log.error({ err: e }, "restoring the previous configuration failed"));
      for (const kind of reloaded) await reload(kind).catch(() => {});
      const message = `generation ${generation}: ${reloaded.length > 0 ? "reload" : "write"} failed, the previous configuration was restored: ${(error as Error).message}`;
      this.fail(message);
      throw new FailedPreconditionError(message);
    }
    this.state = { appliedGeneration: generation, appliedHash: hash, lastApplyAt: new Date().toISOString(), lastError: "", paths: files.map((f) => f.path).sort() };
    this.save();
    this.log.info({ generation, hash }, "revision applied");
    return "applied";
  }

  /** Writes one file through a temporary file and rename; returns how to put the old one back. */
  private replace(file: RevisionFile): () => Promise<void> {
    const target = join(this.root, file.path);
    const backup = join(this.root, ".bulkhead", "backup", file.path);
    mkdirSync(dirname(target), { recursive: true });
    mkdirSync(dirname(backup), { recursive: true });
    const existed = existsSync(target);
    if (existed) writeFileSync(backup, readFileSync(target));
    writeAtomically(target, file.content);
    return async () => {
      if (existed) {
        writeAtomically(target, readFileSync(backup));
      } else {
        rmSync(target, { force: true });
      }
    };
  }

  private fail(message: string): void {
    this.log.warn({ error: message }, "revision not applied");
    this.state = { ...this.state, lastError: message };
    this.save();
  }

  private save(): void {
    writeFileSync(`${this.stateFile}.tmp`, JSON.stringify(this.state, null, 2));
    renameSync(`${this.stateFile}.tmp`, this.stateFile);
  }
}

/** The file holds either its old or its new content, also after a power loss. */
function writeAtomically(path: string, content: string | Buffer): void {
  const fd = openSync(`${path}.tmp`, "w");
  try {
    writeSync(fd, typeof content === "string" ? Buffer.from(content) : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.tmp`, path);
}
