// Profile → the assembly that consumes a session's audio. The only place the node chooses what
// happens to media; everything else in src/node/ is transport and lifecycle.
import type { PeerSession } from "./peer-session.js";
import { createPipelineMedia } from "./pipeline-media.js";
import { BlackHole, type MediaContext, RtpReflector, type SessionMedia } from "./session-media.js";

export async function createSessionMedia(
  ctx: MediaContext,
  session: PeerSession,
  onDegraded: () => void,
): Promise<SessionMedia> {
  // a WHEP listener receives nothing; its audio comes from its source (see SessionTable.listen)
  if (session.kind === "whep") return new BlackHole();
  try {
    const pipeline = await createPipelineMedia(ctx);
    if (pipeline) return pipeline;
  } catch (e) {
    // e.g. the WASM resampler is not built: keep the session up and say why, loudly
    ctx.log.error(
      { err: (e as Error).message, profile: ctx.profile },
      "pipeline unavailable; degraded media",
    );
    onDegraded();
    if (ctx.profile === "echo" && ctx.send) return new RtpReflector(ctx);
  }
  // profiles without an assembly here (blackhole, bridge) still consume every packet (rule 2)
  return new BlackHole();
}
