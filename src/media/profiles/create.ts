// createProfile: the one place a profile becomes a pipeline assembly, and the one seam the media
// node uses (src/node/sessions/session-media.ts). The node hands in what the session negotiated
// and the objects the profile may use (its outgoing track as a PacketSink, the bridge's AppLink);
// it gets back a MediaSession. Whatever cannot be assembled throws MediaAssemblyError: the node
// refuses the session (503) rather than keep it without its media.
import { BlackHoleSession } from "./black-hole.js";
import { createBridgeSession } from "./bridge.js";
import { codecSpecOf, type NegotiatedCodec, sendsStereo } from "./codec.js";
import { createEchoSession } from "./echo.js";
import type { InboundAudio } from "./inbound.js";
import { createIngestSession } from "./ingest.js";
import { type Listener, listen } from "./listener.js";
import {
  MediaAssemblyError,
  type MediaSession,
  type ProfileContext,
  type ProfileKind,
} from "./media-session.js";
import { createRecordSession } from "./record.js";

export async function createProfile(kind: ProfileKind, ctx: ProfileContext): Promise<MediaSession> {
  try {
    return await assemble(kind, ctx);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new MediaAssemblyError(kind, `the ${kind} profile's media could not be set up: ${err.message}`, {
      cause: e,
    });
  }
}

async function assemble(kind: ProfileKind, ctx: ProfileContext): Promise<MediaSession> {
  // a WHEP listener receives nothing (its audio comes from its source: listenTo); "blackhole"
  // skips decoding altogether (the transport-only floor of the benchmark)
  if (!ctx.receives || kind === "blackhole") return new BlackHoleSession();
  const codec = codecSpecOf(ctx.codec);
  const log = ctx.log;
  switch (kind) {
    case "echo":
      if (ctx.out)
        return createEchoSession({
          codec,
          out: ctx.out,
          log,
          ...(ctx.echoComplexity !== undefined ? { encoderComplexity: ctx.echoComplexity } : {}),
        });
      break; // echo on a receive-only WHIP: decoded for listeners only
    case "record": {
      // a caller that says it sends stereo (sprop-stereo=1) is decoded and recorded in stereo:
      // a 2-channel WAV and an OpusHead of 2 channels; any other caller exactly as before
      const stereo = sendsStereo(ctx.codec);
      return createRecordSession({
        sessionId: ctx.sessionId,
        dir: ctx.recordingsDir,
        codec: stereo ? { ...codec, channels: 2 } : codec,
        ...(stereo ? { channels: 2 as const } : {}),
        rate: ctx.recordRate ?? 48000,
        log,
      });
    }
    case "bridge": {
      const app = ctx.app;
      if (!app) break; // no application to bridge to: decoded for listeners only
      const bridge = await createBridgeSession({
        codec,
        rate: app.rate,
        ...(app.bufferMs !== undefined ? { maxBufferMs: app.bufferMs } : {}),
        ...(ctx.echoComplexity !== undefined ? { encoderComplexity: ctx.echoComplexity } : {}),
        ...(ctx.bridgeRecord ? { record: { dir: ctx.recordingsDir, sessionId: ctx.sessionId } } : {}),
        ...(ctx.out ? { out: ctx.out } : {}),
        ...(ctx.ticks ? { ticks: ctx.ticks } : {}),
        ...(ctx.waitForPeer ? { waitForPeer: true } : {}),
        log,
        onPcm: (samples, pts) => app.sendFrame(samples, pts),
      });
      app.connect(bridge);
      return bridge;
    }
  }
  return createIngestSession({ codec });
}

/** A WHEP listener fed from its source's decoded audio, re-encoded for the listener's codec. */
export function listenTo(
  source: InboundAudio,
  listener: { sessionId: string; codec: NegotiatedCodec; out: ProfileContext["out"] & {} },
): Listener {
  return listen(source, {
    codec: codecSpecOf(listener.codec),
    out: listener.out,
    name: `whep-${listener.sessionId}`,
  });
}
