// Profile → the assembly that consumes a session's audio. The only place the node chooses what
// happens to media; everything else in src/node/ is transport and lifecycle.
import type { PeerSession } from "./peer-session.js";
import { BlackHole, type MediaContext, RtpReflector, type SessionMedia } from "./session-media.js";

export function createSessionMedia(ctx: MediaContext, session: PeerSession): SessionMedia {
  if (session.kind === "whep") return new BlackHole(); // a listener's media comes from its source
  if (ctx.profile === "echo" && ctx.send) return new RtpReflector(ctx);
  return new BlackHole();
}
