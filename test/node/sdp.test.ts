// Offer validation, the announced-address rewrite and sdpfrag parsing, on SDP text alone.
import { describe, expect, it } from "vitest";
import { OfferError } from "../../src/node/sessions/errors.js";
import { validateOffer } from "../../src/node/sessions/offer.js";
import {
  announceAddress,
  dropEmptyFmtp,
  fragmentUfrag,
  parseSdpFrag,
} from "../../src/node/sessions/sdp-rewrite.js";

const offer = (audio: string, extra = "") =>
  [
    "v=0",
    "o=- 1 1 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "a=fingerprint:sha-256 00:11",
    audio,
    "c=IN IP4 0.0.0.0",
    "a=mid:0",
    "a=ice-ufrag:abcd",
    "a=ice-pwd:0123456789012345678901",
    extra,
  ]
    .filter(Boolean)
    .join("\r\n") + "\r\n";

function refusal(sdp: string, kind: "session" | "whip" | "whep" = "session"): OfferError {
  try {
    validateOffer(sdp, kind);
  } catch (e) {
    if (e instanceof OfferError) return e;
    throw e;
  }
  throw new Error("the offer was accepted");
}

describe("validateOffer", () => {
  it("an offer cut short inside its m= line is 400 naming the line, not 422 'no audio m-line'", () => {
    const full = offer("m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=sendonly\r\na=rtpmap:111 opus/48000/2");
    const cut = full.slice(0, full.indexOf("m=audio") + "m=aud".length);
    const e = refusal(cut, "whip");
    expect(e.status).toBe(400);
    expect(e.code).toBe("malformed-sdp");
    expect(e.reason).toMatch(/line 7 "m=aud" is not "m=<media> <port>/);
  });

  it("accepts audio + video m-lines (OBS, WHIP clients): the video mids are listed as ignored", () => {
    const audio = offer("m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=sendonly\r\na=rtpmap:111 opus/48000/2");
    const video = (mid: string) =>
      `m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:${mid}\r\na=sendonly\r\na=rtpmap:96 H264/90000\r\n`;
    const v = validateOffer(audio + video("1") + video("2"), "whip");
    expect(v.audioMid).toBe("0");
    expect(v.ignoredMids).toEqual(["1", "2"]);
    expect(v.ignoredVideo[0]).toEqual({ mid: "1", codec: { payloadType: 96, name: "H264" } });
    // rtx is not a codec to answer with; the real one after it is taken
    const rtxFirst = validateOffer(
      audio +
        "m=video 9 UDP/TLS/RTP/SAVPF 97 98\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=98\r\na=rtpmap:98 VP8/90000\r\n",
      "whip",
    );
    expect(rtxFirst.ignoredVideo[0]!.codec).toEqual({ payloadType: 98, name: "VP8" });
    expect(v.answerDirection).toBe("recvonly");
    // a video m-line without a mid cannot be bundled: 400
    expect(refusal(audio + video("1").replace("a=mid:1\r\n", ""), "whip").status).toBe(400);
    // other media types stay refused, with the reason
    const text = "m=text 9 UDP/TLS/RTP/SAVPF 98\r\nc=IN IP4 0.0.0.0\r\na=mid:3\r\n";
    const e = refusal(audio + text, "whip");
    expect(e.status).toBe(422);
    expect(e.reason).toMatch(/offer has text/);
    // video without audio: 422, no audio m-line
    const videoOnly = audio.replace(/m=audio[\s\S]*$/, "") + video("0");
    expect(refusal(videoOnly, "whip").reason).toMatch(/no audio m-line/);
  });

  it("prefers Opus, keeps the offer's payload type and fmtp, answers per kind", () => {
    const sdp = offer(
      "m=audio 9 UDP/TLS/RTP/SAVPF 0 109 8",
      "a=sendrecv\r\na=rtpmap:109 opus/48000/2\r\na=fmtp:109 useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000",
    );
    const v = validateOffer(sdp, "session");
    expect(v.codec).toMatchObject({ name: "opus", payloadType: 109, fmtp: "useinbandfec=1" });
    expect(v.answerDirection).toBe("sendrecv");
    expect(validateOffer(sdp, "whip").answerDirection).toBe("recvonly");
    expect(validateOffer(sdp, "whep").answerDirection).toBe("sendonly");
  });

  it("falls back to PCMU then PCMA (static payload types without rtpmap)", () => {
    expect(validateOffer(offer("m=audio 9 UDP/TLS/RTP/SAVPF 8 0", "a=sendrecv"), "session").codec.name).toBe(
      "pcmu",
    );
    expect(validateOffer(offer("m=audio 9 UDP/TLS/RTP/SAVPF 8", "a=sendrecv"), "session").codec.name).toBe(
      "pcma",
    );
  });

  it("takes a preferred codec over the usual order when offered, and the usual order when not", () => {
    const both = offer("m=audio 9 UDP/TLS/RTP/SAVPF 111 0", "a=recvonly\r\na=rtpmap:111 opus/48000/2");
    expect(validateOffer(both, "whep").codec.name).toBe("opus");
    expect(validateOffer(both, "whep", "pcmu").codec).toMatchObject({ name: "pcmu", payloadType: 0 });
    expect(validateOffer(both, "whep", "pcma").codec.name).toBe("opus");
  });

  it("answers a sendonly two-way offer recvonly (RFC 3264 §6.1)", () => {
    const v = validateOffer(offer("m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=sendonly"), "session");
    expect(v.answerDirection).toBe("recvonly");
  });

  it("refuses with the right status and a reason", () => {
    expect(refusal("x").status).toBe(400);
    expect(refusal(offer("m=audio 9 UDP/TLS/RTP/SAVPF 9", "a=rtpmap:9 G722/8000")).status).toBe(422);
    expect(refusal(offer("m=audio 0 UDP/TLS/RTP/SAVPF 0")).reason).toMatch(/port 0/);
    expect(refusal(offer("m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=recvonly"), "whip").reason).toMatch(
      /sends audio/,
    );
    expect(refusal(offer("m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=sendonly"), "whep").status).toBe(422);
    expect(refusal(offer("m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=inactive")).status).toBe(422);
    expect(
      refusal(offer("m=audio 9 UDP/TLS/RTP/SAVPF 0").replace("a=fingerprint:sha-256 00:11\r\n", "")).reason,
    ).toMatch(/fingerprint/);
    expect(refusal(offer("m=audio 9 UDP/TLS/RTP/SAVPF 0").replace("a=mid:0\r\n", "")).reason).toMatch(/mid/);
    const big = offer("m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=x:".padEnd(70_000, "y"));
    expect(refusal(big).status).toBe(413);
    // the kind named as a person would ("a session session" before)
    expect(refusal(offer("m=audio 9 UDP/TLS/RTP/SAVPF 0", "a=inactive")).reason).toMatch(/^a session needs/);
  });

  it("refuses a payload type RTP cannot carry (0–127, RFC 3550): no packet could match it", () => {
    for (const pt of ["128", "200", "999"]) {
      const e = refusal(
        offer(`m=audio 9 UDP/TLS/RTP/SAVPF ${pt}`, `a=sendrecv\r\na=rtpmap:${pt} opus/48000/2`),
      );
      expect([e.status, e.reason]).toEqual([
        400,
        `the audio m-line lists payload type ${pt}: RTP payload types are 0–127 (RFC 3550)`,
      ]);
    }
    expect(
      validateOffer(offer("m=audio 9 UDP/TLS/RTP/SAVPF 127", "a=rtpmap:127 opus/48000/2"), "session").codec,
    ).toMatchObject({ name: "opus", payloadType: 127 });
  });

  it("answers telephone-event only when the m-line lists it (an a=rtpmap alone is not offered, RFC 3264 §6.1)", () => {
    const rtpmaps = "a=sendrecv\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:110 telephone-event/48000";
    expect(
      validateOffer(offer("m=audio 9 UDP/TLS/RTP/SAVPF 111 110", rtpmaps), "session").telephoneEvent,
    ).toEqual({
      payloadType: 110,
      clockRate: 48000,
    });
    expect(
      validateOffer(offer("m=audio 9 UDP/TLS/RTP/SAVPF 111", rtpmaps), "session").telephoneEvent,
    ).toBeUndefined();
  });
});

describe("announceAddress", () => {
  const answer = [
    "v=0",
    "m=audio 5000 UDP/TLS/RTP/SAVPF 111",
    "c=IN IP4 10.0.0.5",
    "a=candidate:1 1 UDP 2114977791 10.0.0.5 5000 typ host",
    "a=candidate:2 1 UDP 2114977535 172.17.0.1 5000 typ host",
    "a=candidate:3 1 UDP 2114977279 fe80::1 5000 typ host",
    "a=candidate:4 1 UDP 1677729535 198.51.100.9 5000 typ srflx raddr 10.0.0.5 rport 5000",
    "",
  ].join("\r\n");

  it("writes the public address into host candidates and c= lines, once per port", () => {
    const out = announceAddress(answer, "203.0.113.7");
    expect(out).toContain("c=IN IP4 203.0.113.7");
    expect(out.match(/typ host/g)).toHaveLength(1);
    expect(out).toContain("a=candidate:1 1 UDP 2114977791 203.0.113.7 5000 typ host");
    expect(out).toContain("typ srflx"); // server-reflexive candidates are left alone
    expect(out).not.toContain("fe80::1");
    expect(out.endsWith("\r\n")).toBe(true);
  });

  it("changes nothing without an announced address", () => {
    expect(announceAddress(answer, undefined)).toBe(answer);
  });
});

describe("parseSdpFrag", () => {
  it("reads ufrag, pwd, candidates with their mid, end-of-candidates (RFC 8840)", () => {
    const f = parseSdpFrag(
      "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\na=end-of-candidates\r\n",
    );
    expect(f.iceUfrag).toBe("EsAw");
    expect(f.icePwd).toBe("P2uYro0UCOQ4zxjKXaWCBui1");
    expect(f.candidates).toEqual([
      { candidate: "candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0", mid: "0" },
    ]);
    expect(f.endOfCandidates).toBe(true);
  });
});

describe("fragmentUfrag", () => {
  const frag = (line: string, ...ufrags: (string | undefined)[]) =>
    parseSdpFrag(
      `${line}a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\n` +
        ufrags
          .map(
            (u, i) =>
              `a=candidate:${i} 1 udp 2122260223 192.0.2.1 ${6000 + i} typ host generation 0${u ? ` ufrag ${u}` : ""}\r\n`,
          )
          .join(""),
    );
  it("goes by the ufrag the candidates carry when the a=ice-ufrag line is wrong (whip.js sends null)", () => {
    expect(fragmentUfrag(frag("a=ice-ufrag:null\r\n", "EsAw", "EsAw"))).toBe("EsAw");
  });
  it('a line that says "null" or "undefined" (a JavaScript client\'s unset value) is no ufrag: whip.js\'s end-of-candidates is a trickle, not a restart', () => {
    expect(fragmentUfrag(frag("a=ice-ufrag:null\r\n"))).toBeUndefined();
    expect(fragmentUfrag(frag("a=ice-ufrag:undefined\r\n"))).toBeUndefined();
    expect(fragmentUfrag(frag("a=ice-ufrag:null\r\n", undefined))).toBeUndefined();
  });
  it("falls back to the a=ice-ufrag line without candidates, without their ufrag, or when they disagree", () => {
    expect(fragmentUfrag(frag("a=ice-ufrag:NeW1\r\n"))).toBe("NeW1");
    expect(fragmentUfrag(frag("a=ice-ufrag:EsAw\r\n", undefined))).toBe("EsAw");
    expect(fragmentUfrag(frag("a=ice-ufrag:EsAw\r\n", "EsAw", "NeW1"))).toBe("EsAw");
    expect(fragmentUfrag(frag("", undefined))).toBeUndefined();
  });
});

describe("dropEmptyFmtp", () => {
  it("drops bare a=fmtp lines (a codec without parameters) and keeps the others", () => {
    const sdp = "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=fmtp:96 \r\na=fmtp:97 apt=96\r\na=inactive\r\n";
    expect(dropEmptyFmtp(sdp)).toBe(
      "m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=fmtp:97 apt=96\r\na=inactive\r\n",
    );
  });
});
