import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { VirtualClock } from "../../src/media/clock.js";
import type { AudioFrame } from "../../src/media/frame.js";
import { Relay } from "../../src/media/relay.js";
import { ToneSource } from "../../src/media/sources/tone.js";
import { PushedTrack } from "../../src/media/track.js";

function frame(pts: number): AudioFrame {
  return { pts, rate: 48000, channels: 1, samples: new Int16Array(960) };
}

describe("relay fan-out and stop semantics", () => {
  it("delivers every frame to every consumer, in order", () => {
    const src = new PushedTrack(48000, 1);
    const relay = new Relay(src);
    const got: number[][] = [[], [], []];
    for (const g of got) relay.subscribe({ onFrame: (f) => void g.push(f.pts) });
    for (let i = 0; i < 10; i++) src.push(frame(i * 960));
    for (const g of got) expect(g).toEqual(Array.from({ length: 10 }, (_, i) => i * 960));
  });

  it("a stopped consumer gets nothing more; the others go on", () => {
    const src = new PushedTrack(48000, 1);
    const relay = new Relay(src);
    const a: number[] = [];
    const b: number[] = [];
    const subA = relay.subscribe({ onFrame: (f) => void a.push(f.pts) });
    relay.subscribe({ onFrame: (f) => void b.push(f.pts) });
    src.push(frame(0));
    subA.stop();
    subA.stop(); // idempotent
    src.push(frame(960));
    expect(a).toEqual([0]);
    expect(b).toEqual([0, 960]);
    expect(relay.attached).toBe(true);
  });

  it("the last stop unsubscribes the relay from its source", () => {
    const src = new PushedTrack(48000, 1);
    const relay = new Relay(src);
    const s1 = relay.subscribe({ onFrame: () => {} });
    const s2 = relay.subscribe({ onFrame: () => {} });
    expect(src.subscriberCount).toBe(1);
    expect(src.state).toBe("live");
    s1.stop();
    expect(src.state).toBe("live");
    s2.stop();
    expect(relay.attached).toBe(false);
    expect(src.subscriberCount).toBe(0);
    expect(src.state).toBe("idle");
    src.push(frame(0));
    expect(src.unconsumed).toBe(1);
    // a new consumer re-attaches
    const got: number[] = [];
    relay.subscribe({ onFrame: (f) => void got.push(f.pts) });
    src.push(frame(960));
    expect(got).toEqual([960]);
  });

  it("aiortc lesson: when the last consumer stops, a tone source stops its timer", () => {
    const clock = new VirtualClock();
    const tone = new ToneSource({ clock });
    const relay = new Relay(tone);
    expect(tone.timerRunning).toBe(false);
    expect(clock.pending).toBe(0);
    let a = 0;
    let b = 0;
    const sa = relay.subscribe({ onFrame: () => void a++ });
    const sb = relay.subscribe({ onFrame: () => void b++ });
    expect(tone.timerRunning).toBe(true);
    clock.advance(1000);
    expect(a).toBe(50);
    expect(b).toBe(50);
    sa.stop();
    clock.advance(1000);
    expect(a).toBe(50);
    expect(b).toBe(100);
    sb.stop();
    expect(tone.timerRunning).toBe(false);
    expect(clock.pending).toBe(0);
    const produced = tone.framesEmitted;
    clock.advance(60_000);
    expect(tone.framesEmitted).toBe(produced);
  });

  it("a throwing consumer is counted and never stops the source or the others", () => {
    const src = new PushedTrack(48000, 1);
    const relay = new Relay(src);
    const ok: number[] = [];
    const bad = relay.subscribe({
      onFrame: () => {
        throw new Error("boom");
      },
    });
    relay.subscribe({ onFrame: (f) => void ok.push(f.pts) });
    for (let i = 0; i < 5; i++) src.push(frame(i));
    expect(ok).toHaveLength(5);
    expect(bad.stats().errors).toBe(5);
  });

  it("source end reaches every consumer's onEnd and detaches", () => {
    const src = new PushedTrack(48000, 1);
    const relay = new Relay(src);
    const ends: string[] = [];
    relay.subscribe({ onFrame: () => {}, onEnd: (r) => void ends.push(`a:${r}`) });
    relay.subscribe({ onFrame: () => {}, onEnd: (r) => void ends.push(`b:${r}`) });
    src.end("peer closed");
    expect(ends).toEqual(["a:peer closed", "b:peer closed"]);
    expect(relay.attached).toBe(false);
    const late: string[] = [];
    relay.subscribe({ onFrame: () => {}, onEnd: (r) => void late.push(r) });
    expect(late).toEqual(["ended"]);
  });
});

describe("slow-consumer isolation", () => {
  it("a consumer stuck on a pending promise never stalls the others; its queue drops oldest, counted", async () => {
    const clock = new VirtualClock();
    const tone = new ToneSource({ clock });
    const relay = new Relay(tone, { queueFrames: 10 });
    const pending: Array<() => void> = [];
    const slowSeen: number[] = [];
    const slow = relay.subscribe(
      {
        onFrame: (f) => {
          slowSeen.push(f.pts);
          return new Promise<void>((resolve) => pending.push(resolve));
        },
      },
      { name: "slow" },
    );
    const fast: number[] = [];
    const fastSub = relay.subscribe({ onFrame: (f) => void fast.push(f.pts) }, { name: "fast" });
    clock.advance(2000); // 100 frames while the slow consumer sits on its first one
    expect(fast).toEqual(Array.from({ length: 100 }, (_, i) => i * 960));
    expect(slow.stats()).toMatchObject({ delivered: 1, queued: 10, dropped: 89 });
    // unblock it: it works through the newest 10 frames, one promise at a time
    while (pending.length > 0) {
      pending.shift()!();
      await new Promise((r) => setImmediate(r));
    }
    expect(slowSeen).toEqual([0, ...Array.from({ length: 10 }, (_, i) => (90 + i) * 960)]);
    expect(slow.stats()).toMatchObject({ delivered: 11, queued: 0, dropped: 89 });
    expect(fastSub.stats().dropped).toBe(0);
  });
});

describe("relay properties (fast-check)", () => {
  it("any interleaving of subscribe / stop / push: attached iff a consumer is live, each live consumer gets every frame in order", () => {
    type Op = { kind: "sub" } | { kind: "stop"; which: number } | { kind: "push" };
    const op = fc.oneof(
      fc.constant<Op>({ kind: "sub" }),
      fc.nat(20).map<Op>((which) => ({ kind: "stop", which })),
      fc.constant<Op>({ kind: "push" }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
        const src = new PushedTrack(48000, 1);
        const relay = new Relay(src);
        const consumers: Array<{ sub: ReturnType<Relay["subscribe"]>; got: number[]; want: number[] }> = [];
        let pts = 0;
        for (const o of ops) {
          if (o.kind === "sub") {
            const c = { got: [] as number[], want: [] as number[] } as (typeof consumers)[number];
            c.sub = relay.subscribe({ onFrame: (f) => void c.got.push(f.pts) });
            consumers.push(c);
          } else if (o.kind === "stop") {
            consumers[o.which % Math.max(1, consumers.length)]?.sub.stop();
          } else {
            src.push(frame(pts));
            for (const c of consumers) if (!c.sub.stopped) c.want.push(pts);
            pts += 960;
          }
          const live = consumers.filter((c) => !c.sub.stopped).length;
          if (relay.attached !== live > 0) return false;
          if (relay.consumerCount !== live) return false;
          if (src.subscriberCount !== (live > 0 ? 1 : 0)) return false;
        }
        return consumers.every(
          (c) => c.got.length === c.want.length && c.got.every((p, i) => p === c.want[i]),
        );
      }),
      { numRuns: 300 },
    );
  });
});

describe("typed track events", () => {
  it("start / frame / stop / ended fire in order; a throwing observer is counted, never fatal", () => {
    const clock = new VirtualClock();
    const tone = new ToneSource({ clock });
    const seen: string[] = [];
    tone.events.on("start", () => seen.push("start"));
    tone.events.on("stop", () => seen.push("stop"));
    tone.events.on("ended", (e) => seen.push(`ended:${e.reason}`));
    tone.events.once("frame", (f) => seen.push(`frame:${f.pts}`));
    tone.events.on("frame", () => {
      throw new Error("observer bug");
    });
    const off = tone.subscribe({ onFrame: () => {} });
    clock.advance(60);
    off();
    tone.subscribe({ onFrame: () => {} });
    tone.end("bye");
    expect(seen).toEqual(["start", "frame:0", "stop", "start", "stop", "ended:bye"]);
    expect(tone.events.listenerErrors).toBe(3);
    expect(tone.state).toBe("ended");
    expect(clock.pending).toBe(0);
  });
});
