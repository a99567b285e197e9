// Fuzzing the SDP boundary, bounded: 10 000 mutations of real client offers (Chromium, aiortc,
// GStreamer webrtcbin, node-datachannel) through the signaling's checks and the node's validator,
// and 10 000 trickle fragments through the signaling's check and the node's parser. Each input is
// either accepted or refused with a 4xx that has a reason — nothing else is thrown, nothing hangs.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MediaNodeError } from "../../src/node/sessions/errors.js";
import { validateOffer } from "../../src/node/sessions/offer.js";
import { parseSdpFrag } from "../../src/node/sessions/sdp-rewrite.js";
import { HttpError } from "../../src/signaling/errors.js";
import { checkOffer, checkSdpFrag } from "../../src/signaling/sdp-checks.js";
import { CLIENT_OFFERS, clientOffer } from "../support/sdp-offers.js";
import { FUZZ_SEED, mutatedSdp } from "./mutate.js";

const RUNS = 10_000;
const offers = CLIENT_OFFERS.map(clientOffer);

/** a refusal must be a 4xx with a reason; anything else (a TypeError, a 5xx) is a bug */
function refusedProperly(e: unknown): void {
  const ok = e instanceof HttpError || e instanceof MediaNodeError;
  if (!ok) throw e;
  expect(e.status).toBeGreaterThanOrEqual(400);
  expect(e.status).toBeLessThan(500);
  expect((e as { reason: string }).reason.length).toBeGreaterThan(0);
}

const fragments = offers.map((o) => {
  // the ICE lines and candidates of each offer, as a client would trickle them (RFC 8840)
  const lines = o
    .split("\r\n")
    .filter((l) => /^a=(ice-ufrag|ice-pwd|candidate|end-of-candidates|mid)|^m=/.test(l));
  return `${lines.join("\r\n")}\r\n`;
});

describe("SDP fuzzing", () => {
  it("every seed offer passes both checks unchanged", () => {
    for (const o of offers) {
      checkOffer(o);
      validateOffer(o, "session");
    }
  });

  it(`${RUNS} mutated offers: accepted, or a 4xx with a reason, by the signaling and by the node`, () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(mutatedSdp(offers), fc.constantFrom("whip", "session", "whep" as const), (sdp, kind) => {
        let signalingOk = true;
        try {
          checkOffer(sdp);
        } catch (e) {
          refusedProperly(e);
          signalingOk = false;
        }
        try {
          validateOffer(sdp, kind);
          accepted++;
        } catch (e) {
          refusedProperly(e);
          refused++;
          // what the node refuses as malformed, the signaling must not have let through as fine:
          // a line-grammar error is caught by both
          if (signalingOk && e instanceof MediaNodeError && /not valid SDP/.test(e.reason))
            throw new Error(`the node found a grammar error the signaling did not: ${e.reason}`);
        }
      }),
      { numRuns: RUNS, seed: FUZZ_SEED },
    );
    expect(accepted + refused).toBe(RUNS);
    // the mutations reach both outcomes (a generator that only makes garbage would prove little)
    expect(accepted).toBeGreaterThan(RUNS / 50);
    expect(refused).toBeGreaterThan(RUNS / 5);
  });

  it(`${RUNS} mutated trickle fragments: parsed, or refused with a 4xx and a reason`, () => {
    fc.assert(
      fc.property(mutatedSdp(fragments), (frag) => {
        try {
          checkSdpFrag(frag);
        } catch (e) {
          refusedProperly(e);
        }
        try {
          const f = parseSdpFrag(frag);
          expect(Array.isArray(f.candidates)).toBe(true);
        } catch (e) {
          refusedProperly(e);
        }
      }),
      { numRuns: RUNS, seed: FUZZ_SEED },
    );
  });
});
