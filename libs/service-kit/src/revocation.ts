// Revoked tokens and principals, shared by every service through one Valkey hash and held in
// memory by each: checking a call costs no round trip, and a revocation reaches every service
// within one refresh interval. While Valkey is away the last list read stays in force.
import type { Redis } from "ioredis";
import { principalName, type Principal } from "./auth.js";
import { occasionalWarning, type Logger } from "./observability.js";

/** Revocations of single tokens are forgotten after the longest token lifetime. */
const MAX_TOKEN_LIFETIME_MS = 400 * 86_400_000;

export class Revocations {
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

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  isRevoked(principal: Principal): boolean {
    if (principal.tokenId && this.tokens.has(principal.tokenId)) return true;
    const before = this.principals.get(principalName(principal));
    return before !== undefined && (principal.issuedAt ?? 0) * 1000 < before;
  }

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
    } catch (error) {
      this.warn(error, "revocation list not refreshed: valkey does not answer; the last one read stays in force");
    }
  }
}
