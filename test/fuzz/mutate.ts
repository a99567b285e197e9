// fast-check arbitraries that mutate real text: the inputs a broken client, a proxy that cuts a
// body short, or an attacker would send, near enough to the real thing to reach deep code.
import fc from "fast-check";

// deterministic in CI; FC_SEED=<n> replays a failure, FC_SEED=random explores new cases
export const FUZZ_SEED =
  process.env.FC_SEED === "random" ? Date.now() : Number(process.env.FC_SEED ?? 20261206);

const junk = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.constantFrom(
    "\r\n",
    "\n",
    "\r",
    "\0",
    " ",
    "=",
    ":",
    "/",
    "m=",
    "a=",
    "\uFFFD",
    "-1",
    "99999",
    "\u2028",
  ),
);

/** one edit of a list of lines */
const lineEdit = fc.oneof(
  fc.record({ op: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("duplicate" as const), at: fc.nat() }),
  fc.record({ op: fc.constant("swap" as const), at: fc.nat(), to: fc.nat() }),
  fc.record({ op: fc.constant("truncate-line" as const), at: fc.nat(), keep: fc.nat() }),
  fc.record({ op: fc.constant("insert-junk" as const), at: fc.nat(), pos: fc.nat(), junk }),
  fc.record({ op: fc.constant("replace-line" as const), at: fc.nat(), junk }),
  fc.record({ op: fc.constant("cut-body" as const), keep: fc.nat() }),
  fc.record({
    op: fc.constant("flip-char" as const),
    at: fc.nat(),
    pos: fc.nat(),
    code: fc.integer({ min: 0, max: 0xffff }),
  }),
);

type Edit = typeof lineEdit extends fc.Arbitrary<infer T> ? T : never;

function apply(lines: string[], e: Edit): string[] {
  const out = [...lines];
  if (out.length === 0) return out;
  switch (e.op) {
    case "delete":
      out.splice(e.at % out.length, 1);
      return out;
    case "duplicate":
      out.splice(e.at % out.length, 0, out[e.at % out.length]!);
      return out;
    case "swap": {
      const a = e.at % out.length;
      const b = e.to % out.length;
      [out[a], out[b]] = [out[b]!, out[a]!];
      return out;
    }
    case "truncate-line": {
      const i = e.at % out.length;
      out[i] = out[i]!.slice(0, e.keep % (out[i]!.length + 1));
      return out;
    }
    case "insert-junk": {
      const i = e.at % out.length;
      const p = e.pos % (out[i]!.length + 1);
      out[i] = out[i]!.slice(0, p) + e.junk + out[i]!.slice(p);
      return out;
    }
    case "replace-line":
      out[e.at % out.length] = e.junk;
      return out;
    case "cut-body": {
      const text = out.join("\r\n");
      return text.slice(0, e.keep % (text.length + 1)).split("\r\n");
    }
    case "flip-char": {
      const i = e.at % out.length;
      const line = out[i]!;
      if (line.length === 0) return out;
      const p = e.pos % line.length;
      out[i] = line.slice(0, p) + String.fromCharCode(e.code) + line.slice(p + 1);
      return out;
    }
  }
}

/** an SDP text (offer or fragment) with 1–4 edits, CRLF or LF line ends */
export function mutatedSdp(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc
    .tuple(fc.constantFrom(...seeds), fc.array(lineEdit, { minLength: 1, maxLength: 4 }), fc.boolean())
    .map(([seed, edits, lf]) => {
      let lines = seed.split("\r\n");
      for (const e of edits) lines = apply(lines, e);
      return lines.join(lf ? "\n" : "\r\n");
    });
}
