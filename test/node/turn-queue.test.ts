import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { TurnQueue } from "../../src/node/sessions/turn-queue.js";

describe("TurnQueue", () => {
  it("starts jobs in order and resolves each with its own result", async () => {
    const q = new TurnQueue();
    const order: number[] = [];
    const results = await Promise.all(
      [1, 2, 3].map((n) =>
        q.run(async () => {
          order.push(n);
          return n * 10;
        }),
      ),
    );
    expect(order).toEqual([1, 2, 3]);
    expect(results).toEqual([10, 20, 30]);
  });

  it("lets I/O that is ready run between two jobs of a burst", async () => {
    // a datagram to ourselves is readable on the next poll: it must be read before the 2nd job
    const sock = createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", r));
    const order: string[] = [];
    sock.on("message", () => order.push("packet"));
    const q = new TurnQueue();
    const sent = new Promise<void>((r) => {
      void q.run(() => {
        order.push("job 1");
        sock.send("x", sock.address().port, "127.0.0.1", () => r());
      });
    });
    const jobs = [2, 3, 4, 5].map((n) => q.run(() => order.push(`job ${n}`)));
    await sent;
    await Promise.all(jobs);
    await new Promise((r) => setTimeout(r, 20));
    sock.close();
    expect(order.indexOf("packet")).toBeGreaterThan(order.indexOf("job 1"));
    expect(order.indexOf("packet")).toBeLessThan(order.indexOf("job 5"));
  });

  it("rejects the job that throws, and runs the others", async () => {
    const q = new TurnQueue();
    const a = q.run(() => {
      throw new Error("bad offer");
    });
    const b = q.run(async () => Promise.reject(new Error("bad async offer")));
    const c = q.run(() => "ok");
    await expect(a).rejects.toThrow("bad offer");
    await expect(b).rejects.toThrow("bad async offer");
    await expect(c).resolves.toBe("ok");
  });

  it("runs idle tasks only once no job is queued, even jobs queued after the task", async () => {
    const q = new TurnQueue();
    const order: string[] = [];
    const a = q.run(() => order.push("answer 1"));
    q.whenIdle(() => order.push("registry write 1"));
    const b = q.run(() => {
      order.push("answer 2");
      // queued while the queue is draining: still ahead of the idle task
      void q.run(() => order.push("answer 3"));
    });
    await Promise.all([a, b]);
    await new Promise((r) => setTimeout(r, 20));
    expect(order).toEqual(["answer 1", "answer 2", "answer 3", "registry write 1"]);
  });
});
