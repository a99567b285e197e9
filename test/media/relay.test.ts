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
    let release: () => void = () => {};
    const slowSeen: number[] = [];
    const slow = relay.subscribe(
      {
        onFrame: (f) => {
          slowSeen.push(f.pts);
          return new Promise<void>((r) => {
            release = r;
          });
        },
      },
      { name: "slow" },
    );
    const fast: number[] = [];
    const fastSub = relay.subscribe({ onFrame: (f) => void fast.push(f.pts) }, { name: "fast" });
    clock.advance(2000); // 100 frames
    expect(fast).toHaveLength(100);
    expect(fast.every((p, i) => p === i * 960)).toBe(true);
    expect(slow.stats()).toMatchObject({ delivered: 1, queued: 10, dropped: 89 });
    // the slow consumer catches up from the newest 10 frames once it is unblocked
    const waiters: Array<() => void> = [];
    release();
    // each subsequent frame also returns a pending promise; release them one by one
    for (let i = 0; i < 10; i++) {
      await Promise.resolve();
      await Promise.resolve();
      waiters.push(release);
      release();
    }
    await new Promise((r) => setImmediate(r));
    expect(slowSeen.slice(1)).toEqual(Array.from({ length: 10 }, (_, i) => (90 + i) * 960));
    expect(slow.stats().dropped).toBe(89);
    expect(fastSub.stats().dropped).toBe(0);
  });
});
