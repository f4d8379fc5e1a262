// bulkhead.auth.v1.TokenService: per-device agent credentials and revocation (admins only).
import { timestampFromDate, timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { TokenService } from "@bulkhead/api/gen/bulkhead/auth/v1/token_pb.js";
import { signServiceToken, type TokenSettings } from "./auth.js";
import { UnavailableError } from "./errors.js";
import type { Revocations } from "./revocation.js";

const DEFAULT_AGENT_TOKEN_TTL_S = 30 * 86_400;

async function inValkey<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new UnavailableError(`the revocation list in valkey cannot be written: ${(error as Error).message}`);
  }
}

export function tokenService(tokens: TokenSettings, revocations: Revocations): ServiceImpl<typeof TokenService> {
  return {
    async issueAgentToken(req) {
      const ttl = req.ttlSeconds || DEFAULT_AGENT_TOKEN_TTL_S;
      const token = await signServiceToken(tokens, { kind: "agent", subject: req.device, device: req.device, expiresIn: `${ttl}s` });
      const { jti, exp } = decodeJwt(token);
      return { token, tokenId: jti, expiresAt: timestampFromMs(exp! * 1000) };
    },
    async revokeToken(req) {
      await inValkey(() => revocations.revokeToken(req.tokenId));
      return {};
    },
    async revokePrincipal(req) {
      return { revokedBefore: timestampFromDate(await inValkey(() => revocations.revokePrincipal(req.principal))) };
    },
  };
}
