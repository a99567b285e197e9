// Anchor: a werift server (pure-TypeScript WebRTC, from npm) doing the naive server's work with
// the same codec library: record = decode (@evan/opus WASM, 48 kHz) → linear 16 kHz → WAV;
// echo = decode → linear 16 kHz → linear 48 kHz → Opus encode (rtcgw's echo settings) → sent
// back through werift's RTP sender (which rewrites SSRC, sequence and timestamps itself).
//
//   MODE=echo|record [DIR=/tmp/x] tsx bench/anchors/werift.ts     (prints READY <port>)
import { join } from "node:path";
import { RTCPeerConnection, RTCRtpCodecParameters, RtpHeader, RtpPacket } from "werift";
import { LinearResampler, WavWriter } from "./audio.js";
import { Decoder, echoEncoder } from "./opus.js";
import { serveAnchor } from "./serve.js";

const MODE = process.env.MODE ?? "echo";
const DIR = process.env.DIR ?? "/tmp";

serveAnchor(async (offer, id) => {
  const pc = new RTCPeerConnection({
    codecs: {
      audio: [new RTCRtpCodecParameters({ mimeType: "audio/opus", clockRate: 48000, channels: 2 })],
      video: [],
    },
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ["127.0.0.1"],
  });
  const stats = { packetsIn: 0, packetsOut: 0, samplesIn: 0 };
  const decoder = new Decoder({ channels: 1, sample_rate: 48000 });
  const down = new LinearResampler(48000, 16000);
  const up = new LinearResampler(16000, 48000);
  const encoder = MODE === "echo" ? echoEncoder() : undefined;
  const wav = MODE === "record" ? new WavWriter(join(DIR, `${id}.wav`), 16000) : undefined;
  const pending = new Int16Array(4 * 960);
  let pendingLen = 0;
  let seq = 0;
  let ts = 0;
  // the track event fires inside setRemoteDescription: subscribed before it
  pc.onTrack.subscribe((track) => {
    const transceiver = pc.getTransceivers().find((t) => t.kind === "audio")!;
    track.onReceiveRtp.subscribe((rtp) => {
      stats.packetsIn++;
      const raw = decoder.decode(rtp.payload);
      const pcm16 = down.process(new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
      stats.samplesIn += pcm16.length;
      wav?.write(pcm16);
      if (!encoder) return;
      const pcm48 = up.process(pcm16);
      pending.set(pcm48, pendingLen);
      pendingLen += pcm48.length;
      if (pendingLen < 960) return;
      const payload = Buffer.from(encoder.encode(pending.subarray(0, 960)));
      pending.copyWithin(0, 960, pendingLen);
      pendingLen -= 960;
      const header = new RtpHeader({
        payloadType: rtp.header.payloadType,
        sequenceNumber: seq++ & 0xffff,
        timestamp: ts >>> 0,
      });
      ts += 960;
      void transceiver.sender.sendRtp(new RtpPacket(header, payload)).then(() => stats.packetsOut++);
    });
  });
  await pc.setRemoteDescription({ type: "offer", sdp: offer });
  pc.getTransceivers()
    .find((t) => t.kind === "audio")!
    .setDirection(MODE === "echo" ? "sendrecv" : "recvonly");
  await pc.setLocalDescription(await pc.createAnswer());
  while (pc.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 2));
  return {
    answer: pc.localDescription!.sdp,
    stats: () => stats,
    close: async () => {
      wav?.close();
      await pc.close();
    },
  };
});
