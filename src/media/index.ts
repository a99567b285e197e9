// The public face of the audio pipeline for the media node (src/node). Everything here is
// transport-free: the node hands in whole RTP datagrams with their arrival time, drives time with
// tick(nowMs) from its shared 20 ms ticker (same clock for both), and gives a `send` callback
// (node-datachannel's track.sendMessageBinary) where audio goes out. See docs/pipeline.md.
//
//   const rec = await createRecordSession({ sessionId, dir: RECORDINGS_DIR, codec, rate: 16000, log });
//   track.onMessage((buf) => rec.pushRtp(buf, Date.now()));   ticker.subscribe((now) => rec.tick(now));
//   …  rec.close(Date.now())  → { wav, ogg }
//
//   const echo = await createEchoSession({ codec, ssrc, send: (p) => track.sendMessageBinary(Buffer.from(p)) });
//   const l = listen(echo.inbound /* or rec.inbound / ingest */, { codec, ssrc, send });  l.stop();

// G.711 μ-law both ways: the twilio bridge protocol's wire format (src/node/bridge/twilio.ts)
export { decodeUlaw, encodeUlaw } from "../audio/codecs/g711.js";
// where this process runs its Opus encoders now (the last choice made: one per process)
export { opusEncoderBackend as currentOpusEncoder } from "../audio/codecs/opus-encoder-state.js";
export type { CodecSpec } from "../audio/codecs/types.js";
export { type Clock, realClock, VirtualClock } from "./clock.js";
export type { AudioFrame } from "./frame.js";
export {
  checkMediaRuntime,
  checkOpusEncoder,
  checkRecordingsDir,
  MediaPreflightError,
  preflightMedia,
} from "./preflight.js";
export { BlackHoleSession } from "./profiles/black-hole.js";
export {
  type AppAudioPeer,
  type AppLink,
  BRIDGE_FRAME_MS,
  BRIDGE_FRAME_SAMPLES,
  BRIDGE_OUT_BUFFER_MS,
  BRIDGE_RATE,
  BRIDGE_RATES,
  type BridgeRate,
  BridgeSession,
  type BridgeSessionOptions,
  type BridgeStats,
  createBridgeSession,
} from "./profiles/bridge.js";
export { codecSpecOf, type NegotiatedCodec, sendsStereo } from "./profiles/codec.js";
export { createProfile, listenTo } from "./profiles/create.js";
export {
  createEchoSession,
  ECHO_OPUS_COMPLEXITY,
  EchoSession,
  type EchoSessionOptions,
} from "./profiles/echo.js";
export {
  InboundAudio,
  type InboundOptions,
  type PacketConsumer,
  type PcmSubscribeOptions,
} from "./profiles/inbound.js";
export { createIngestSession, IngestSession, type IngestSessionOptions } from "./profiles/ingest.js";
export { type Listener, type ListenerOptions, listen } from "./profiles/listener.js";
export {
  MediaAssemblyError,
  type MediaSession,
  type ProfileContext,
  type ProfileKind,
} from "./profiles/media-session.js";
export {
  CLEAR_FADE_MS,
  createPcmOut,
  type MarkOutcome,
  PcmOut,
  type PcmOutOptions,
} from "./profiles/pcm-out.js";
export {
  createRecordSession,
  type RecordingResult,
  type RecordRate,
  RecordSession,
  type RecordSessionOptions,
} from "./profiles/record.js";
export type { PipelineStats } from "./profiles/stats.js";
export { Relay, type RelayConsumerStats, type RelaySubscription } from "./relay.js";
export { ResampleStage } from "./resample-stage.js";
export { isRtcp, restamp, rtcpHasBye } from "./rtp/packet.js";
export {
  AudioSender,
  type AudioSenderOptions,
  type AudioSenderStats,
  type PacketSink,
} from "./send/audio-sender.js";
export { Pacer, type PacerOptions } from "./send/pacer.js";
export { RtpPacketizer } from "./send/packetizer.js";
export { BlackHoleSink } from "./sinks/black-hole.js";
export * from "./sinks/errors.js";
export type { LimitEvent, RecordingLimits } from "./sinks/limits.js";
export { OggOpusWriter } from "./sinks/ogg-opus-writer.js";
export { assertSessionId, recordingPath, SESSION_ID_RE } from "./sinks/paths.js";
export { WavWriter } from "./sinks/wav-writer.js";
export { PcmPushSource, type PcmPushSourceOptions } from "./sources/pcm-push.js";
export { type ToneOptions, ToneSource } from "./sources/tone.js";
export { SpanGate } from "./span-gate.js";
export { type AudioSource, type FrameConsumer, PushedTrack, SourceTrack, type TrackEvents } from "./track.js";
export { type WarmResult, warmMedia } from "./warm.js";
