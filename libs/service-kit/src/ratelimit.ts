// Per-principal rate limits: a token bucket per principal in Valkey, so that every replica of a
// service draws from the same bucket. Valkey's clock decides, not the replicas'.
import type { Redis } from "ioredis";

// KEYS[1] bucket; ARGV rate (tokens/s), burst. Returns {allowed 0|1, milliseconds until a token}.
const TAKE = `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return {allowed, wait}
`;

export interface RateLimit {
  /** Sustained calls per second per principal. */
  perSecond: number;
  /** Calls a principal may make at once after being idle. */
  burst: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly limit: RateLimit,
    private readonly keyPrefix: string,
  ) {}

  /** Takes one call from the principal's bucket. Throws when Valkey cannot answer. */
  async take(principal: string): Promise<RateDecision> {
    const [allowed, wait] = (await this.redis.eval(TAKE, 1, `${this.keyPrefix}:ratelimit:${principal}`, this.limit.perSecond, this.limit.burst)) as [number, number];
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs: wait };
  }
}
