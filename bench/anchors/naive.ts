// Anchor: the naive node-datachannel server — the floor of "just doing it" with the libraries
// rtcgw itself uses (node-datachannel, @evan/opus WASM), no jitter buffer, no pacing, no repair:
// each packet is handled the moment it arrives.
//   floor-recv  receive and count RTP (what a record session's transport costs)
//   floor-echo  receive and send every RTP packet straight back under our SSRC (no decode)
//   record      decode (48 kHz) → linear resample to 16 kHz → append to a WAV file
//   echo        decode → linear 16 kHz → linear 48 kHz → Opus encode (the settings of rtcgw's echo:
//               32 kbps voip, complexity 1, FEC) → send back
//
//   MODE=echo [DIR=/tmp/x] tsx bench/anchors/naive.ts     (prints READY <port>)
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import nodeDataChannel from "node-datachannel";
import { parse } from "sdp-transform";
import { LinearResampler, WavWriter } from "./audio.js";
import { Decoder, echoEncoder } from "./opus.js";
import { serveAnchor } from "./serve.js";

const MODE = process.env.MODE ?? "echo";
const DIR = process.env.DIR ?? "/tmp";
const rtc = {
  iceServers: [],
  bindAddress: "127.0.0.1",
  enableIceUdpMux: true,
  portRangeBegin: Number(process.env.UDP_PORT),
  portRangeEnd: Number(process.env.UDP_PORT),
  disableAutoNegotiation: true,
};

serveAnchor(async (offer, id) => {
  const m = parse(offer).media.find((x) => x.type === "audio")!;
  const pt = m.rtp.find((r) => r.codec.toLowerCase() === "opus")!.payload;
  const sends = MODE === "echo" || MODE === "floor-echo";
  const ssrc = randomBytes(4).readUInt32BE(0) || 1;
  const pc = new nodeDataChannel.PeerConnection(id, rtc);
  pc.setRemoteDescription(offer, "offer");
  const audio = new nodeDataChannel.Audio(String(m.mid), sends ? "SendRecv" : "RecvOnly");
  audio.addOpusCodec(pt, "minptime=10;useinbandfec=1");
  if (sends) audio.addSSRC(ssrc, "naive", "naive", "audio");
  const track = pc.addTrack(audio);
  const stats = { packetsIn: 0, packetsOut: 0, samplesIn: 0 };
  const decoding = MODE === "echo" || MODE === "record";
  const decoder = decoding ? new Decoder({ channels: 1, sample_rate: 48000 }) : undefined;
  const down = new LinearResampler(48000, 16000);
  const up = new LinearResampler(16000, 48000);
  const encoder = MODE === "echo" ? echoEncoder() : undefined;
  const wav = MODE === "record" ? new WavWriter(join(DIR, `${id}.wav`), 16000) : undefined;
  const pending = new Int16Array(4 * 960);
  let pendingLen = 0;
  let seq = 0;
  let ts = 0;
  const send = (payload: Uint8Array) => {
    const rtp = Buffer.allocUnsafe(12 + payload.length);
    rtp[0] = 0x80;
    rtp[1] = pt;
    rtp.writeUInt16BE(seq++ & 0xffff, 2);
    rtp.writeUInt32BE(ts >>> 0, 4);
    ts += 960;
    rtp.writeUInt32BE(ssrc, 8);
    rtp.set(payload, 12);
    if (track.sendMessageBinary(rtp)) stats.packetsOut++;
  };
  track.onMessage((b) => {
    if (b.length < 12 || (b[1]! >= 192 && b[1]! <= 223)) return; // RTCP
    stats.packetsIn++;
    const payload = b.subarray(12 + (b[0]! & 0x0f) * 4);
    if (!decoder) {
      // the floors decode nothing: a packet received counts as its 20 ms (320 samples at 16 kHz)
      stats.samplesIn += 320;
      if (MODE === "floor-echo") send(payload);
      return;
    }
    const raw = decoder.decode(payload);
    const pcm16 = down.process(new Int16Array(raw.buffer, raw.byteOffset, raw.byteLength / 2));
    stats.samplesIn += pcm16.length;
    wav?.write(pcm16);
    if (!encoder) return;
    // 16 → 48 kHz gives 958 samples for the first frame, then 960: encode whole 20 ms frames
    const pcm48 = up.process(pcm16);
    pending.set(pcm48, pendingLen);
    pendingLen += pcm48.length;
    if (pendingLen >= 960) {
      send(encoder.encode(pending.subarray(0, 960)));
      pending.copyWithin(0, 960, pendingLen);
      pendingLen -= 960;
    }
  });
  pc.setLocalDescription();
  while (pc.gatheringState() !== "complete") await new Promise((r) => setTimeout(r, 2));
  return {
    answer: pc.localDescription()!.sdp,
    stats: () => stats,
    close: () => {
      wav?.close();
      try {
        track.close();
        pc.close();
      } catch {}
    },
  };
});
