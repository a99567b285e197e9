// The Twilio `media` message is written as text (50 a second per call: cheaper than
// JSON.stringify of a fresh object); it must be exactly the JSON that stringify would write —
// the same keys in the same order, strings where Twilio sends strings, the stream id escaped.
import { describe, expect, it } from "vitest";
import { decodeUlaw } from "../../src/media/index.js";
import { TwilioProtocol } from "../../src/node/bridge/twilio.js";

describe("twilio media, written as text", () => {
  it("is the JSON of the documented message, key for key, for ordinary and odd stream ids", () => {
    for (const streamId of [`MZ${"ab".repeat(16)}`, 'MZ"quoted\\id\u2028']) {
      const p = new TwilioProtocol();
      p.opening({ sessionId: "CA1", streamId, rate: 8000, params: {}, resumed: false, sendsBack: true });
      const frame = Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin(i / 3)));
      for (let k = 0; k < 3; k++) {
        const text = p.audio(frame, k * 20 + 0.4) as string;
        const msg = JSON.parse(text);
        expect(text).toBe(
          JSON.stringify({
            event: "media",
            sequenceNumber: String(k + 2), // "1" was start
            media: {
              track: "inbound",
              chunk: String(k + 1),
              timestamp: String(k * 20),
              payload: msg.media.payload,
            },
            streamSid: streamId,
          }),
        );
        const back = decodeUlaw(Buffer.from(msg.media.payload, "base64"));
        expect(back.length).toBe(160);
        expect(Math.abs(back[5]! - frame[5]!)).toBeLessThan(300); // μ-law of the frame itself
      }
    }
  });
});
