// RFC 8866 line grammar: every real client's offer passes untouched; each kind of broken line is
// named (its number, its text, the form it should have) — the cut-short m= line above all, which
// a lenient parser takes for a missing one.
import { describe, expect, it } from "vitest";
import { sdpFragGrammarError, sdpGrammarError, sdpLineError } from "../../src/sdp/grammar.js";
import { CLIENT_OFFERS, clientOffer } from "../support/sdp-offers.js";

const fixture = clientOffer;

describe("RFC 8866 grammar", () => {
  it.each(CLIENT_OFFERS)("accepts the %s offer as captured, and with LF line ends", (name) => {
    const sdp = fixture(name);
    expect(sdpGrammarError(sdp)).toBeUndefined();
    expect(sdpGrammarError(sdp.replace(/\r\n/g, "\n"))).toBeUndefined();
  });

  it("names an m= line cut short, with its number", () => {
    const sdp = fixture("chromium.sdp");
    const cut = sdp.slice(0, sdp.indexOf("m=audio") + 5);
    expect(cut.endsWith("m=aud")).toBe(true);
    expect(sdpGrammarError(cut)).toBe(
      'line 8 "m=aud" is not "m=<media> <port>[/<number of ports>] <proto> <fmt> ..." (RFC 8866 §5.14)',
    );
  });

  it.each([
    ["m=audio 9 UDP/TLS/RTP/SAVPF", /m=<media>/], // no fmt
    ["m=audio x UDP/TLS/RTP/SAVPF 111", /m=<media>/],
    ["m=audio 70000 UDP/TLS/RTP/SAVPF 111", /port 70000, above 65535/],
    ["m=audio 9/ RTP/AVP 0", /m=<media>/],
    ["m=audio  9 RTP/AVP 0", /m=<media>/],
    ["c=IN IP4", /c=<nettype>/],
    ["t=0", /t=<start-time>/],
    ["b=AS", /b=<bwtype>:<bandwidth>/],
    ["o=- 1 IN IP4 127.0.0.1", /o=<username>/],
    ["a=", /a=<attribute-name>/],
    ["a=rtp map:111 opus/48000/2", /a=<attribute-name>/],
    ["v=1", /v=0/],
    ["x=whatever", /unknown type "x="/],
    ["A=foo", /one-letter type/],
    ["ab=foo", /one-letter type/],
    ["m", /one-letter type/],
    ["", /empty/],
  ])("refuses %j", (line, reason) => {
    expect(sdpLineError(line)).toMatch(reason);
  });

  it.each([
    "m=audio 9 UDP/TLS/RTP/SAVPF 111 0 8",
    "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
    "m=audio 49170/2 RTP/AVP 0",
    "a=msid-semantic: WMS",
    "a=rtcp-mux",
    "a=candidate:1 1 UDP 2122252543 127.0.0.1 50000 typ host",
    "s= ",
    "b=AS:64",
    "c=IN IP6 ff15::101/3",
  ])("accepts %j", (line) => {
    expect(sdpLineError(line)).toBeUndefined();
  });

  it("v=, o=, s= come first, in that order", () => {
    expect(sdpGrammarError("v=0\r\ns=-\r\no=- 1 1 IN IP4 0.0.0.0\r\n")).toMatch(
      /line 2 "s=-" should be the o= line/,
    );
    expect(sdpGrammarError("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\n")).toMatch(/before its s= line/);
  });

  it("says what is wrong where the quoted line would not show it: a trailing space, CR-only line ends, a stray CR past the quote, a byte-order mark", () => {
    const sdp = fixture("aiortc.sdp");
    expect(sdpGrammarError(sdp.replace("v=0\r\n", "v=0 \r\n"))).toMatch(/^line 1 "v=0 " is not "v=0"/);
    expect(sdpGrammarError(sdp.replaceAll("\r\n", "\r"))).toMatch(
      /^line 1 .* has a carriage return not followed by a line feed/,
    );
    // the offer's last line ends in CR alone, its CR beyond the 60 characters quoted
    const lastLf = sdp.lastIndexOf("\n");
    expect(sdpGrammarError(sdp.slice(0, lastLf))).toMatch(
      /has a carriage return not followed by a line feed/,
    );
    expect(sdpGrammarError(`\ufeff${sdp}`)).toMatch(/^line 1 .* starts with a byte-order mark/);
  });

  it("a blank line inside the description is named", () => {
    const sdp = fixture("aiortc.sdp").replace("t=0 0\r\n", "t=0 0\r\n\r\n");
    expect(sdpGrammarError(sdp)).toMatch(/^line 5 "" is empty/);
  });

  it("trickle fragments: each line checked, no session head required", () => {
    const frag =
      "a=ice-ufrag:abcd\r\na=ice-pwd:abcdefghijklmnopqrstuv\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=candidate:1 1 UDP 2122252543 127.0.0.1 5000 typ host\r\n";
    expect(sdpFragGrammarError(frag)).toBeUndefined();
    expect(sdpFragGrammarError(`${frag}a=cand`)).toBeUndefined(); // a bare attribute name is valid
    expect(sdpFragGrammarError(`${frag}m=aud`)).toMatch(/^line 6 "m=aud"/);
    expect(sdpFragGrammarError("candidate:1 1 UDP 1 127.0.0.1 5000 typ host")).toMatch(/one-letter type/);
  });

  it("quotes a long or binary line bounded and escaped", () => {
    const err = sdpGrammarError(`v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nm=\u0000${"x".repeat(500)}\r\n`);
    expect(err).toMatch(/^line 4 "m=\\u0000x+…"/);
    expect(err!.length).toBeLessThan(200);
  });
});
