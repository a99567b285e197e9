// If-Match evaluation (RFC 9110 §13.1.1), SDP content checks, profile parsing and Bearer parsing.
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { describe, expect, it } from "vitest";
import type { HttpError } from "../../src/signaling/errors.js";
import { ifMatchMatches, quoteEtag } from "../../src/signaling/etag.js";
import { profileFor } from "../../src/signaling/profile.js";
import { basePath, bearerToken, requestBearer } from "../../src/signaling/request.js";
import { checkOffer, sdpBody } from "../../src/signaling/sdp-checks.js";

const ev = (o: Partial<APIGatewayProxyEventV2>) =>
  ({ headers: {}, rawPath: "/v1/whip", isBase64Encoded: false, ...o }) as APIGatewayProxyEventV2;
const status = (f: () => unknown) => {
  try {
    f();
    return 0;
  } catch (e) {
    return (e as HttpError).status;
  }
};

describe("If-Match", () => {
  it("matches *, the quoted tag, a list containing it; not others or weak tags", () => {
    expect(quoteEtag("abc")).toBe('"abc"');
    expect(ifMatchMatches("*", "abc")).toBe(true);
    expect(ifMatchMatches('"abc"', "abc")).toBe(true);
    expect(ifMatchMatches('"x", "abc"', "abc")).toBe(true);
    expect(ifMatchMatches('"abd"', "abc")).toBe(false);
    expect(ifMatchMatches('W/"abc"', "abc")).toBe(false); // strong comparison
  });
});

describe("sdpBody / checkOffer", () => {
  it("415 for other types, 413 over 64 KB, base64 bodies decoded", () => {
    expect(
      status(() =>
        sdpBody(ev({ headers: { "content-type": "text/plain" }, body: "v=0" }), "application/sdp"),
      ),
    ).toBe(415);
    expect(
      status(() =>
        sdpBody(
          ev({ headers: { "content-type": "application/sdp" }, body: "x".repeat(65 * 1024) }),
          "application/sdp",
        ),
      ),
    ).toBe(413);
    const b64 = ev({
      headers: { "content-type": "application/sdp" },
      body: Buffer.from("v=0\r\n").toString("base64"),
      isBase64Encoded: true,
    });
    expect(sdpBody(b64, "application/sdp")).toBe("v=0\r\n");
  });

  it("a PATCH of another type is 415 naming what it takes in Accept-Patch (RFC 5789 §2.2), a POST in Accept", () => {
    const refusal = (type: "application/sdp" | "application/trickle-ice-sdpfrag") => {
      try {
        sdpBody(ev({ headers: { "content-type": "application/sdp+x" }, body: "a=x" }), type);
      } catch (e) {
        return e as HttpError;
      }
      throw new Error("accepted");
    };
    const patch = refusal("application/trickle-ice-sdpfrag");
    expect(patch.status).toBe(415);
    expect(patch.headers["accept-patch"]).toBe("application/trickle-ice-sdpfrag");
    const post = refusal("application/sdp");
    expect(post.status).toBe(415);
    expect(post.headers.accept).toBe("application/sdp");
    expect(post.headers["accept-patch"]).toBeUndefined();
  });

  it("400 for malformed, 422 for unsupported, nothing for a good audio offer", () => {
    const head = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n";
    expect(status(() => checkOffer("nope"))).toBe(400);
    expect(status(() => checkOffer(head))).toBe(400);
    expect(status(() => checkOffer(`${head}m=audio 9 RTP/AVP 0\r\n`))).toBe(0); // static PCMU
    expect(status(() => checkOffer(`${head}m=audio 9 RTP/AVP 8\r\n`))).toBe(0); // static PCMA
    expect(status(() => checkOffer(`${head}m=audio 9 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n`))).toBe(422);
    expect(status(() => checkOffer(`${head}m=audio 0 RTP/AVP 0\r\n`))).toBe(422); // disabled
    expect(status(() => checkOffer(`${head}m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n`))).toBe(422);
  });
});

describe("profileFor", () => {
  const q = (s: Record<string, string>) => ev({ queryStringParameters: s });
  it("defaults per kind, validates the choice and the rate", () => {
    expect(profileFor(q({}), "whip").profile).toBe("record");
    expect(profileFor(q({}), "session").profile).toBe("echo");
    expect(profileFor(q({}), "whep").profile).toBe("blackhole");
    expect(profileFor(q({ profile: "record", rate: "16000" }), "session")).toEqual({
      profile: "record",
      recordRate: 16000,
    });
    expect(status(() => profileFor(q({ profile: "blackhole" }), "session"))).toBe(400);
    expect(status(() => profileFor(q({ rate: "44100" }), "session"))).toBe(400);
    expect(status(() => profileFor(q({ profile: "bridge" }), "session"))).toBe(400);
    expect(profileFor(q({ profile: "bridge", bridge: "wss://app.example/pcm" }), "session").bridgeUrl).toBe(
      "wss://app.example/pcm",
    );
    // a repeated ?bridge= arrives comma-joined: refused whole, never cut to its first half
    for (const bad of [
      "wss://a.example/,wss://b.example/",
      "wss://a.example/#x",
      "wss://u@a.example/",
      "https://a.example/",
    ])
      expect(
        status(() => profileFor(q({ profile: "bridge", bridge: bad }), "session")),
        bad,
      ).toBe(400);
  });
});

describe("profileFor: options the profile would ignore, repeats", () => {
  const q = (s: Record<string, string>) => ev({ queryStringParameters: s });
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as HttpError;
    }
    return undefined;
  };
  it("refuses each option given with a profile it does not apply to, saying which and to which profile", () => {
    const cases: [Record<string, string>, "whip" | "session", RegExp][] = [
      [{ profile: "echo", record: "1" }, "session", /\?record applies to the bridge profile only, not echo/],
      [
        { profile: "record", record: "1" },
        "whip",
        /\?record applies to the bridge profile only, not record.*records without it/,
      ],
      [{ profile: "echo", rate: "8000" }, "session", /\?rate applies to the record profile only, not echo/],
      [{ rate: "8000" }, "session", /not echo \(this route's default\).*profile=record/],
      [
        { profile: "bridge", bridge: "wss://app.example/pcm", rate: "8000" },
        "session",
        /\?rate .* not bridge.*bridge_rate/,
      ],
      [
        { profile: "echo", bridge: "ws://x" },
        "session",
        /\?bridge applies to the bridge profile only, not echo/,
      ],
      [
        { profile: "record", bridge_protocol: "twilio" },
        "whip",
        /\?bridge_protocol applies to the bridge profile only/,
      ],
      [{ profile: "echo", bridge_rate: "16000" }, "session", /\?bridge_rate applies/],
      [{ profile: "echo", bridge_param_lang: "fr" }, "session", /\?bridge_param_lang applies/],
    ];
    for (const [query, kind, reason] of cases) {
      const e = refusal(() => profileFor(q(query), kind));
      expect(e?.status, JSON.stringify(query)).toBe(400);
      expect(e?.code).toBe("option-not-for-profile");
      expect(e?.reason).toMatch(reason);
    }
    // what each option is for still works
    expect(profileFor(q({ profile: "record", rate: "8000" }), "whip").recordRate).toBe(8000);
    expect(profileFor(q({ rate: "24000" }), "whip").recordRate).toBe(24000); // /v1/whip's default: record
    expect(
      profileFor(q({ profile: "bridge", bridge: "wss://app.example/pcm", record: "1" }), "session")
        .bridgeRecord,
    ).toBe(true);
  });

  it("refuses a parameter no offer route reads (400 unknown-parameter, the near one named) instead of ignoring it", () => {
    for (const [query, kind, reason] of [
      [
        { profile: "record", rat: "8000" },
        "whip",
        /\?rat is not a parameter of this route \(did you mean \?rate\?\)/,
      ],
      [{ porfile: "echo" }, "session", /did you mean \?profile\?/],
      [
        { profile: "bridge", bridge: "wss://app.example/pcm", bridgeprotocol: "twilio" },
        "session",
        /did you mean \?bridge_protocol\?/,
      ],
      [
        { profile: "bridge", bridge: "wss://app.example/pcm", bridge_params_x: "1" },
        "session",
        /did you mean \?bridge_param_<name>\?/,
      ],
      [
        { profile: "echo", token: "abc" },
        "session",
        /\?token is not a parameter of this route: it takes profile, rate/,
      ],
      [{ x: "1" }, "whip", /\?x is not a parameter/],
    ] as const) {
      const e = refusal(() => profileFor(q(query), kind));
      expect(e?.status, JSON.stringify(query)).toBe(400);
      expect(e?.code).toBe("unknown-parameter");
      expect(e?.reason).toMatch(reason);
    }
    // the known ones and any bridge_param_<name> pass
    expect(
      profileFor(
        q({
          profile: "bridge",
          bridge: "wss://app.example/pcm",
          bridge_param_lang: "fr",
          bridge_rate: "24000",
        }),
        "session",
      ).bridgeParams,
    ).toEqual({ lang: "fr" });
  });

  it("refuses a repeated or listed one-value parameter (comma-joined by the gateway) instead of taking its first", () => {
    for (const [query, code] of [
      [{ profile: "echo,record" }, "bad-profile"],
      [{ profile: "record,echo" }, "bad-profile"],
      [{ profile: "record", rate: "8000,48000" }, "bad-rate"],
      [{ profile: "bridge", bridge: "wss://app.example/pcm", record: "1,0" }, "bad-record"],
      [
        { profile: "bridge", bridge: "wss://app.example/pcm", bridge_protocol: "rtcgw,twilio" },
        "bad-bridge-protocol",
      ],
    ] as const) {
      const e = refusal(() => profileFor(q(query), "session"));
      expect(e?.status, JSON.stringify(query)).toBe(400);
      expect(e?.code).toBe(code);
      expect(e?.reason).toMatch(/takes one value, given once/);
    }
  });

  it("a WHEP listener takes none of them: its profile is fixed", () => {
    const queries: Record<string, string>[] = [
      { profile: "record" },
      { rate: "8000" },
      { record: "1" },
      { bridge: "ws://x" },
    ];
    for (const query of queries) {
      const e = refusal(() => profileFor(q(query), "whep"));
      expect(e?.status, JSON.stringify(query)).toBe(400);
      expect(e?.reason).toMatch(/a WHEP listener takes no \?/);
    }
    // anything else on the query is not ours to judge
    expect(profileFor(q({ nocache: "1" }), "whep").profile).toBe("blackhole");
  });
});

describe("profileFor: bridge options", () => {
  const q = (s: Record<string, string>) => ev({ queryStringParameters: s });
  const bridge = { profile: "bridge", bridge: "wss://app.example/pcm" };
  it("takes bridge_protocol, bridge_rate and bridge_param_<name>, and refuses bad ones with 400", () => {
    expect(
      profileFor(
        q({
          ...bridge,
          bridge_protocol: "twilio",
          bridge_param_language: "en",
          bridge_param_caller: "+1555",
        }),
        "session",
      ),
    ).toEqual({
      profile: "bridge",
      bridgeUrl: "wss://app.example/pcm",
      bridgeProtocol: "twilio",
      bridgeParams: { language: "en", caller: "+1555" },
    });
    expect(profileFor(q({ ...bridge, bridge_rate: "24000" }), "session").bridgeRate).toBe(24000);
    expect(status(() => profileFor(q({ ...bridge, bridge_protocol: "sip" }), "session"))).toBe(400);
    expect(status(() => profileFor(q({ ...bridge, bridge_rate: "44100" }), "session"))).toBe(400);
    // twilio is 8 kHz μ-law: another rate would be silently ignored, so it is refused
    expect(
      status(() => profileFor(q({ ...bridge, bridge_protocol: "twilio", bridge_rate: "16000" }), "session")),
    ).toBe(400);
    expect(status(() => profileFor(q({ ...bridge, "bridge_param_a b": "x" }), "session"))).toBe(400);
    expect(status(() => profileFor(q({ ...bridge, bridge_param_x: "v".repeat(513) }), "session"))).toBe(400);
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`bridge_param_p${i}`, "v"]));
    expect(status(() => profileFor(q({ ...bridge, ...many }), "session"))).toBe(400);
  });
});

describe("request helpers", () => {
  it("parses Bearer tokens case-insensitively, nothing else", () => {
    expect(bearerToken(ev({ headers: { authorization: "Bearer abc.DEF-123_~+/=" } }))).toBe(
      "abc.DEF-123_~+/=",
    );
    expect(bearerToken(ev({ headers: { authorization: "bearer xyz" } }))).toBe("xyz");
    expect(bearerToken(ev({ headers: { authorization: "Basic eHl6" } }))).toBeUndefined();
    expect(bearerToken(ev({ headers: { authorization: "Bearer a b" } }))).toBeUndefined();
    expect(bearerToken(ev({ headers: { authorization: "Bearer a=b" } }))).toBeUndefined();
  });
  it("refuses a Bearer credential of characters RFC 6750 does not allow with a 401 saying so, not 'missing'", () => {
    expect(requestBearer(ev({ headers: {} }))).toBeUndefined();
    expect(requestBearer(ev({ headers: { authorization: "Basic eHl6" } }))).toBeUndefined();
    expect(requestBearer(ev({ headers: { authorization: "Bearer abc-123==" } }))).toBe("abc-123==");
    for (const bad of ["Bearer a b", "Bearer a!b", "Bearer a:b", "Bearer a=b", "bearer $x"]) {
      let err: HttpError | undefined;
      try {
        requestBearer(ev({ headers: { authorization: bad } }));
      } catch (e) {
        err = e as HttpError;
      }
      expect(err?.status, bad).toBe(401);
      expect(err?.reason).toMatch(/not valid RFC 6750 syntax/);
      expect(err?.headers["www-authenticate"]).toMatch(/^Bearer/);
    }
  });
  it("keeps a stage prefix in front of /v1 for Location", () => {
    expect(basePath(ev({ rawPath: "/v1/whip" }))).toBe("");
    expect(basePath(ev({ rawPath: "/prod/v1/whip" }))).toBe("/prod");
  });
});
