// Warm-up at node start. The first bridged call after a start used to be slower than the rest
// (issue 15: +25–60 ms; bench:bridge saw the first agent → caller burst of a cold process take
// 344 ms against 2–50 ms later, at load 20): V8 compiles WebAssembly functions lazily (libopus'
// decoder and encoder, the resampler are compiled on their first call, not at instantiation) and
// JITs the JavaScript of the packet path on first use. So the node runs one short synthetic
// bridged call per agent rate through the real classes before it registers: Opus encoded and
// decoded, the receive timeline, the relay and framer, the PCM queue, resampler, pacer, encoder,
// packetizer, a mark and a clear. Virtual clock, no sockets, nothing kept; a few tens of ms.
import { OpusEncoder } from "../audio/codecs/opus.js";
import type { CodecSpec } from "../audio/codecs/types.js";
import { loadResampler } from "../audio/resampler/index.js";
import { VirtualClock } from "./clock.js";
import { type BridgeRate, BridgeSession } from "./profiles/bridge.js";
import { buildRtp } from "./rtp/packet.js";

const OPUS: CodecSpec = { codec: "opus", payloadType: 111, clockRate: 48000, channels: 1 };
/** the bridge rates agents use most: rtcgw's default and Twilio's */
const WARM_RATES: BridgeRate[] = [16000, 8000];

function tone(rate: number, ms: number): Int16Array {
  return Int16Array.from({ length: (rate * ms) / 1000 }, (_, i) =>
    Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / rate)),
  );
}

/** what the warm-up went through: each rate's frames to the "agent" and RTP packets out */
export interface WarmResult {
  ms: number;
  rates: Array<{ rate: BridgeRate; framesToAgent: number; packetsOut: number }>;
}

let warmed: Promise<WarmResult> | undefined;

/**
 * One synthetic bridged call per rate, once per process (what it warms is per process: a second
 * node started in the same process, as tests do, finds it warm). Resolves to how long it took.
 */
export function warmMedia(): Promise<WarmResult> {
  warmed ??= warm();
  return warmed;
}

async function warm(): Promise<WarmResult> {
  const t0 = performance.now();
  await loadResampler();
  const enc = new OpusEncoder({ channels: 1 });
  const pcm48 = tone(48000, 20);
  const packets: Uint8Array[] = [];
  for (let i = 0; i < 25; i++)
    packets.push(
      buildRtp({
        payloadType: 111,
        sequenceNumber: i,
        timestamp: i * 960,
        ssrc: 1,
        payload: enc.encode(pcm48),
      }),
    );
  enc.destroy();
  const rates: WarmResult["rates"] = [];
  for (const rate of WARM_RATES) {
    const clock = new VirtualClock(0);
    const r = { rate, framesToAgent: 0, packetsOut: 0 };
    rates.push(r);
    const bridge = new BridgeSession({
      codec: OPUS,
      rate,
      onPcm: () => {
        r.framesToAgent++;
      },
      out: {
        ssrc: 2,
        send: () => {
          r.packetsOut++;
        },
      },
      clock,
      startMs: 0,
    });
    for (let i = 0; i < packets.length; i++) {
      bridge.pushRtp(packets[i]!, i * 20);
      bridge.tick(i * 20);
    }
    bridge.pushPcm(tone(rate, 200));
    bridge.mark(() => {});
    clock.advance(100);
    bridge.clear();
    bridge.pushPcm(tone(rate, 60));
    clock.advance(100);
    bridge.close(clock.now());
  }
  return { ms: performance.now() - t0, rates };
}
