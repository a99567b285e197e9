// Walks one packet of a real session (a node on loopback, a node-datachannel client sending a
// tone) and counts the hops it makes inside src/: every stack frame in src/ between the track's
// onMessage and the WAV writer (record), and between the track's onMessage and the packetizer
// that makes the echo's RTP. A packet reaches the jitter buffer on one stack and leaves it as a
// frame on the ticker's stack, so each walk is those two stacks added. docs/design.md quotes it.
//   npx tsx scripts/packet-hops.ts
import { RtpAudioReceiver } from "../src/media/receive/receiver.js";
import { RtpPacketizer } from "../src/media/send/packetizer.js";
import { WavWriter } from "../src/media/sinks/wav-writer.js";
import { startHarness } from "../test/node/harness.js";
import { ClientPeer } from "../test/support/client-peer.js";

Error.stackTraceLimit = 200;
const SRC = /\/src\/([^:)]+):\d+:\d+/;

function srcFrames(): string[] {
  const lines = (new Error().stack ?? "").split("\n").slice(2); // drop "Error" and the probe itself
  const out: string[] = [];
  for (const l of lines) {
    const m = SRC.exec(l);
    if (m)
      out.push(
        `${l
          .trim()
          .replace(/^at /, "")
          .replace(/ \(.*$/, "")} · ${m[1]}`,
      );
  }
  return out.reverse(); // outermost first
}

const probes: Record<string, string[] | undefined> = {};
function probe<T extends object>(
  proto: T,
  method: keyof T & string,
  name: string,
  when: (frames: string[]) => boolean,
) {
  const orig = proto[method] as unknown as (...a: unknown[]) => unknown;
  const wrapped = function (this: unknown, ...a: unknown[]) {
    if (probes[name] === undefined) {
      const frames = srcFrames();
      if (when(frames)) probes[name] = frames;
    }
    return orig.apply(this, a);
  };
  (proto as Record<string, unknown>)[method] = wrapped;
}
let profile = "";
probe(RtpAudioReceiver.prototype, "push", "in", () => true);
probe(WavWriter.prototype, "onFrame", "wav", () => profile === "record");
// node-datachannel's Track methods cannot be wrapped (read-only, not configurable): the walk
// ends where the echo's RTP packet is made; one more hop (the session's send) hands it to the track
probe(RtpPacketizer.prototype, "packetize", "rtp", () => profile === "echo");

const h = await startHarness();
async function walk(p: "record" | "echo", out: "wav" | "rtp") {
  profile = p;
  probes.in = undefined;
  probes[out] = undefined;
  const c = await ClientPeer.create({
    direction: p === "echo" ? "sendrecv" : "sendonly",
    dataChannel: false,
  });
  const r = await h.createSession(c.offer, { kind: p === "echo" ? "session" : "whip", profile: p });
  c.accept(r.json.answer);
  await c.connected(5000);
  const until = Date.now() + 5000;
  while ((!probes.in || !probes[out]) && Date.now() < until) await new Promise((res) => setTimeout(res, 50));
  await h.call("DELETE", `/internal/sessions/${r.sessionId}`);
  await c.close();
  const a: string[] = probes.in ?? [];
  const b: string[] = probes[out] ?? [];
  const files = new Set([...a, ...b].map((f) => f.split(" · ")[1]));
  console.log(`\n${p}: track.onMessage → jitter buffer (${a.length} hops)`);
  for (const f of a) console.log(`  ${f}`);
  console.log(
    `${p}: ticker → ${out === "wav" ? "WavWriter.onFrame" : "RtpPacketizer.packetize"} (${b.length} hops)`,
  );
  for (const f of b) console.log(`  ${f}`);
  console.log(`${p}: ${a.length + b.length} hops over ${files.size} files in src/`);
}
await walk("record", "wav");
await walk("echo", "rtp");
await h.close();
process.exit(0);
