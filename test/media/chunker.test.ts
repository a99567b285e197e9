// Chunker: runs of any length in, exact chunks out, in order, nothing lost or repeated.
import fc from "fast-check";
import { expect, it } from "vitest";
import { Chunker } from "../../src/media/chunker.js";

it("cuts any run lengths into exact chunks of the same samples in order; the tail goes out padded with silence", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 900 }), { maxLength: 30 }),
      fc.integer({ min: 1, max: 400 }),
      (runs, size) => {
        const chunks: Int16Array[] = [];
        const c = new Chunker(size, (chunk) => chunks.push(chunk.slice()));
        let next = 1;
        for (const n of runs) c.push(Int16Array.from({ length: n }, () => next++ % 32768));
        const total = next - 1;
        expect(chunks).toHaveLength(Math.floor(total / size));
        c.flushPadded();
        expect(chunks).toHaveLength(Math.ceil(total / size));
        const all = chunks.flatMap((k) => [...k]);
        expect(all.every((v, i) => (i < total ? v === (i + 1) % 32768 : v === 0))).toBe(true);
        c.flushPadded(); // nothing pending: no chunk
        expect(chunks).toHaveLength(Math.ceil(total / size));
      },
    ),
  );
});
