// `import { mintClientToken } from "rtcgw/token"`: what an application's backend calls to give a
// browser a short-lived, single-use token for one call (see docs/signaling.md, "Client tokens").
export type { ClientTokenClaims, MintProfile } from "../signaling/client-token.js";
export { DEFAULT_CLIENT_TOKEN_TTL_S, MAX_CLIENT_TOKEN_TTL_S } from "../signaling/client-token.js";
export {
  ClientTokenOptionsError,
  type MintedClientToken,
  type MintOptions,
  mintClientToken,
} from "../signaling/client-token-mint.js";
