// Revoked tokens and principals, shared by every service through one Valkey hash and held in
// memory by each: checking a call costs no round trip, and a revocation reaches every service
// within one refresh interval. While Valkey is away the last list read stays in force; until the
// first list is read nobody can tell a revoked token, so the service refuses people's and agents'
// tokens until then (`verdict` says "unknown").
import type { Redis } from "ioredis";
import { principalName, type Principal } from "./auth.js";
import { occasionalWarning, type Logger } from "./observability.js";

/** Revocations of single tokens are forgotten after the longest token lifetime. */
const MAX_TOKEN_LIFETIME_MS = 400 * 86_400_000;

export type RevocationVerdict = "valid" | "revoked" | "unknown";

export class Revocations {
  private loaded = false;
  private firstRead!: () => void;
  private readonly read = new Promise<void>((resolve) => (this.firstRead = resolve));
  private tokens = new Map<string, number>();
  private principals = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private readonly warn: ReturnType<typeof occasionalWarning>;

  constructor(
    private readonly redis: Redis,
    /** The hash: fields `token:<jti>` → forget-after ms, `principal:<name>` → revoked-before ms. */
    private readonly key: string,
    logger: Logger,
    private readonly refreshMs = 2_000,
  ) {
    this.warn = occasionalWarning(logger, 30_000);
  }

  /** Starts refreshing; resolves once the first list is read, or after `waitMs` if Valkey does not answer. */
  async start(waitMs: number): Promise<void> {
    // A (re)connected Valkey is read at once rather than at the next tick.
    this.redis.on("ready", this.refreshNow);
    this.timer = setInterval(this.refreshNow, this.refreshMs);
    this.timer.unref();
    // Not yet connected: the `ready` event reads it (a read now would only fail and warn).
    if (this.redis.status === "ready") this.refreshNow();
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.read, new Promise<void>((resolve) => (timeout = setTimeout(resolve, waitMs)))]);
    clearTimeout(timeout);
  }

  stop(): void {
    clearInterval(this.timer);
    this.redis.off("ready", this.refreshNow);
  }

  verdict(principal: Principal): RevocationVerdict {
    if (!this.loaded) return "unknown";
    if (principal.tokenId && this.tokens.has(principal.tokenId)) return "revoked";
    const before = this.principals.get(principalName(principal));
    return before !== undefined && (principal.issuedAt ?? 0) * 1000 < before ? "revoked" : "valid";
  }

  private readonly refreshNow = () => void this.refresh();

  async revokeToken(tokenId: string): Promise<void> {
    const now = Date.now();
    const write = this.redis.multi().hset(this.key, `token:${tokenId}`, String(now + MAX_TOKEN_LIFETIME_MS));
    // Revocations of tokens that have expired by now are no longer needed.
    const expired = [...this.tokens].filter(([, until]) => until < now).map(([id]) => `token:${id}`);
    if (expired.length > 0) write.hdel(this.key, ...expired);
    await write.exec();
    await this.refresh();
  }

  /** Revokes every token of the principal issued until now; returns that moment. */
  async revokePrincipal(name: string): Promise<Date> {
    const before = Date.now();
    await this.redis.hset(this.key, `principal:${name}`, String(before));
    await this.refresh();
    return new Date(before);
  }

  private async refresh(): Promise<void> {
    try {
      const all = await this.redis.hgetall(this.key);
      const tokens = new Map<string, number>();
      const principals = new Map<string, number>();
      for (const [field, value] of Object.entries(all)) {
        if (field.startsWith("token:")) tokens.set(field.slice(6), Number(value));
        else if (field.startsWith("principal:")) principals.set(field.slice(10), Number(value));
      }
      this.tokens = tokens;
      this.principals = principals;
      this.loaded = true;
      this.firstRead();
    } catch (error) {
      this.warn(error, "revocation list not refreshed: valkey does not answer; the last one read stays in force");
    }
  }
}
