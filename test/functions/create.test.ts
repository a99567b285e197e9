// POST /v1/whip, /v1/sessions, /v1/whep/{id} through the function handlers, against a real media
// node and real client peers: RFC 9725 §4.2 creation, content checks (415/413/400/422), profiles,
// WHEP listening, CORS preflight, ICE server Link headers.
import { createHash } from "node:crypto";
import nodeDataChannel from "node-datachannel";
import { parse } from "sdp-transform";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ClientPeer } from "../support/client-peer.js";
import { audioDirection, type FnHarness, invoke, sdpHeaders, startFnHarness } from "./harness.js";
import { G722_ONLY, NO_MEDIA, NOT_SDP, TWO_AUDIO, VIDEO_ONLY } from "./sdp-fixtures.js";

let h: FnHarness;
const peers: ClientPeer[] = [];
const peer = async (o: Parameters<typeof ClientPeer.create>[0] = {}) => {
  const c = await ClientPeer.create(o);
  peers.push(c);
  return c;
};

beforeAll(async () => {
  h = await startFnHarness({ RTCGW_ICE_SERVERS: "stun:stun.example.net:3478,stun:stun2.example.net" });
});
afterAll(async () => {
  for (const p of peers) await p.close();
  await h?.close();
});

describe("POST /v1/sessions (two-way)", () => {
  it("answers 201 with Location, ETag, a sendrecv answer and a session token; the call connects and the datachannel echoes", async () => {
    const c = await peer({ direction: "sendrecv" });
    const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: c.offer });
    expect(r.status).toBe(201);
    expect(r.headers["content-type"]).toBe("application/sdp");
    const m = /^\/v1\/sessions\/([A-Za-z0-9_-]{43,})$/.exec(r.headers.location ?? "");
    expect(m).not.toBeNull();
    const id = m![1]!;
    expect(r.headers.etag).toMatch(/^"[\x21-\x7e]+"$/);
    expect(audioDirection(r.body)).toBe("sendrecv");
    // the per-session secret: ≥128 bits, only its SHA-256 in the registry
    const secret = r.headers["rtcgw-session-token"]!;
    expect(Buffer.from(secret, "base64url").length).toBeGreaterThanOrEqual(16);
    const rec = await h.registry.getSession(id);
    expect(rec?.tokenHash).toBe(createHash("sha256").update(secret).digest("hex"));
    expect(rec?.profile).toBe("echo");
    expect(rec?.kind).toBe("session");
    expect(`"${rec?.etag}"`).toBe(r.headers.etag);
    expect(JSON.stringify(rec)).not.toContain(secret);

    c.accept(r.body);
    await c.connected(8000);
    await c.channelOpen(8000);
    c.sendText("ping over the gateway");
    expect(String(await c.message(0))).toBe("ping over the gateway");
    await c.until(() => c.stats.packetsReceived > 10, 8000, "echoed audio");
  });

  it("announces configured ICE servers in Link headers (RFC 9725 §4.6)", async () => {
    const c = await peer();
    const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: c.offer });
    expect(r.status).toBe(201);
    expect(r.headers.link).toBe(
      '<stun:stun.example.net:3478>; rel="ice-server", <stun:stun2.example.net>; rel="ice-server"',
    );
  });

  it("writes the session record once, with its final ETag, before the node is called (no ETag update after)", async () => {
    const created = vi.spyOn(h.registry, "createSession");
    const updated = vi.spyOn(h.registry, "updateSession");
    try {
      const c = await peer({ dataChannel: false });
      const r = await invoke({ method: "POST", path: "/v1/sessions", headers: sdpHeaders(), body: c.offer });
      expect(r.status).toBe(201);
      const id = r.headers.location!.split("/").pop()!;
      const first = created.mock.calls.find(([s]) => s.id === id)?.[0];
      expect(`"${first?.etag}"`).toBe(r.headers.etag);
      // the node's own state writes (connecting, …) may follow; none of them carries an ETag
      expect(updated.mock.calls.filter(([sid, , patch]) => sid === id && patch.etag !== undefined)).toEqual(
        [],
      );
      expect(`"${(await h.registry.getSession(id))?.etag}"`).toBe(r.headers.etag);
    } finally {
      created.mockRestore();
      updated.mockRestore();
    }
  });

  it("session ids are distinct 128+ bit values", async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const c = await peer({ dataChannel: false, direction: "sendonly" });
      const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: c.offer });
      expect(r.status).toBe(201);
      const id = r.headers.location!.split("/").pop()!;
      expect(Buffer.from(id, "base64url").length).toBeGreaterThanOrEqual(16);
      ids.add(id);
    }
    expect(ids.size).toBe(3);
  });
});

describe("POST /v1/whip (ingest)", () => {
  it("answers recvonly and defaults to the record profile; ?profile=echo is honoured", async () => {
    const c = await peer({ direction: "sendonly", dataChannel: false });
    const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: c.offer });
    expect(r.status).toBe(201);
    expect(audioDirection(r.body)).toBe("recvonly");
    const id = r.headers.location!.split("/").pop()!;
    expect((await h.registry.getSession(id))?.profile).toBe("record");
    c.accept(r.body);
    await c.connected(8000);

    const c2 = await peer({ direction: "sendonly", dataChannel: false });
    const r2 = await invoke({
      method: "POST",
      path: "/v1/whip?profile=echo",
      headers: sdpHeaders(),
      body: c2.offer,
    });
    expect(r2.status).toBe(201);
    expect((await h.registry.getSession(r2.headers.location!.split("/").pop()!))?.profile).toBe("echo");
  });

  it("refuses an unknown profile with 400", async () => {
    const c = await peer({ direction: "sendonly", dataChannel: false });
    const r = await invoke({
      method: "POST",
      path: "/v1/whip?profile=karaoke",
      headers: sdpHeaders(),
      body: c.offer,
    });
    expect(r.status).toBe(400);
    expect(r.json().error).toBe("bad-profile");
  });
});

describe("options the profile would ignore (never 201 for what will not happen)", () => {
  it("400 naming the option and the profile; a repeated or listed profile 400; nothing recorded or created", async () => {
    const c = await peer({ direction: "sendonly", dataChannel: false });
    const cases: [string, string, RegExp][] = [
      [
        "/v1/sessions?profile=echo&record=1",
        "option-not-for-profile",
        /\?record applies to the bridge profile only, not echo/,
      ],
      [
        "/v1/sessions?profile=echo&rate=8000",
        "option-not-for-profile",
        /\?rate applies to the record profile only, not echo/,
      ],
      [
        "/v1/sessions?profile=echo&bridge=ws%3A%2F%2Fx",
        "option-not-for-profile",
        /\?bridge applies to the bridge profile only, not echo/,
      ],
      [
        "/v1/sessions?profile=echo&profile=record",
        "bad-profile",
        /profile takes one value, given once \(got "echo,record"/,
      ],
      ["/v1/sessions?profile=record,echo", "bad-profile", /profile takes one value/],
      ["/v1/whip?profile=record&record=1", "option-not-for-profile", /not record.*records without it/],
      [
        "/v1/whip?profile=echo&rate=16000",
        "option-not-for-profile",
        /\?rate applies to the record profile only, not echo/,
      ],
      ["/v1/whip?rate=8000&rate=16000", "bad-rate", /rate takes one value/],
    ];
    const before = (await h.registry.listSessionsByNode(h.node.id)).length;
    const created = vi.spyOn(h.registry, "createSession");
    try {
      for (const [path, error, reason] of cases) {
        const r = await invoke({ method: "POST", path, headers: sdpHeaders(), body: c.offer });
        expect(r.status, path).toBe(400);
        expect(r.json().error, path).toBe(error);
        expect(r.json().reason, path).toMatch(reason);
      }
      expect(created).not.toHaveBeenCalled();
    } finally {
      created.mockRestore();
    }
    expect((await h.registry.listSessionsByNode(h.node.id)).length).toBeLessThanOrEqual(before);
    // what the options are for is still 201: the record profile's WAV rate on WHIP
    const ok = await invoke({
      method: "POST",
      path: "/v1/whip?profile=record&rate=8000",
      headers: sdpHeaders(),
      body: c.offer,
    });
    expect(ok.status, ok.body).toBe(201);
  });
});

describe("content checks", () => {
  it("415 for anything but application/sdp (parameters allowed)", async () => {
    const c = await peer();
    const bad = await invoke({
      method: "POST",
      path: "/v1/whip",
      headers: { "content-type": "text/plain" },
      body: c.offer,
    });
    expect(bad.status).toBe(415);
    const none = await invoke({ method: "POST", path: "/v1/whip", body: c.offer });
    expect(none.status).toBe(415);
    const withParam = await invoke({
      method: "POST",
      path: "/v1/sessions",
      headers: { "content-type": "Application/SDP; charset=utf-8" },
      body: c.offer,
    });
    expect(withParam.status).toBe(201);
  });

  it("413 for an SDP body over 64 KB", async () => {
    const c = await peer();
    const big = c.offer + `a=x-padding:${"x".repeat(70 * 1024)}\r\n`;
    const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: big });
    expect(r.status).toBe(413);
  });

  it("400 for malformed SDP", async () => {
    for (const body of [NOT_SDP, NO_MEDIA, ""]) {
      const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body });
      expect(r.status, JSON.stringify(body.slice(0, 20))).toBe(400);
      expect(r.json().reason).toBeTruthy();
    }
  });

  it("400 naming the line for an offer cut short in its m= line (not 422 'no audio m-line')", async () => {
    const c = await peer();
    // the offer cut so it ends inside its audio m= line: `m=aud`
    const cut = c.offer.slice(0, c.offer.indexOf("m=audio") + "m=aud".length);
    const lineNo = cut.split("\r\n").length;
    const before = (await h.registry.listSessionsByNode(h.node.id)).length;
    const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: cut });
    expect(r.status).toBe(400);
    expect(r.json().error).toBe("malformed-sdp");
    expect(r.json().reason).toContain(`line ${lineNo} "m=aud"`);
    expect(r.json().reason).toMatch(/m=<media> <port>.*RFC 8866 §5\.14/);
    // a broken attribute line and a one-letter type that does not exist, anywhere in the offer
    const badAttr = c.offer.replace("a=mid:", "a=mid :");
    const r2 = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: badAttr });
    expect(r2.status).toBe(400);
    expect(r2.json().reason).toMatch(/"a=mid :.*a=<attribute-name>/);
    expect((await h.registry.listSessionsByNode(h.node.id)).length).toBe(before);
  });

  it("400 with a bounded reason for an offer libdatachannel refuses over a 59 KB line (it quoted the whole line back)", async () => {
    const c = await peer();
    const body = c.offer.replace(/(a=mid:0\r\n)/, `$1b=AS:${"9".repeat(59_000)}\r\n`);
    const before = (await h.registry.listSessionsByNode(h.node.id)).length;
    const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body });
    expect(r.status).toBe(400);
    expect(r.json().error).toBe("malformed-sdp");
    expect(r.json().reason).toMatch(/^the offer could not be applied: .*…$/);
    expect(r.json().reason.length).toBeLessThanOrEqual(400);
    expect((await h.registry.listSessionsByNode(h.node.id)).length).toBe(before);
  });

  it("422 with a reason for offers we cannot serve: no audio, no Opus/PCMU/PCMA, several audio streams", async () => {
    const cases: [string, RegExp][] = [
      [VIDEO_ONLY, /no audio/],
      [G722_ONLY, /Opus.*PCMU.*PCMA/],
      [TWO_AUDIO, /exactly one audio/],
    ];
    const before = (await h.registry.listSessionsByNode(h.node.id)).length;
    for (const [sdp, reason] of cases) {
      const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: sdp });
      expect(r.status).toBe(422);
      expect(r.json().reason).toMatch(reason);
    }
    // refused before any registry or node work
    expect((await h.registry.listSessionsByNode(h.node.id)).length).toBe(before);
  });

  it("passes the node's 4xx through and leaves no record behind", async () => {
    const c = await peer();
    // a=fingerprint is checked by the node only (DTLS-SRTP is required)
    const noFingerprint = c.offer.replace(/^a=fingerprint:.*\r?\n/gm, "");
    const before = (await h.registry.listSessionsByNode(h.node.id)).length;
    const r = await invoke({
      method: "POST",
      path: "/v1/sessions",
      headers: sdpHeaders(),
      body: noFingerprint,
    });
    expect(r.status).toBe(400);
    expect(r.json().reason).toMatch(/fingerprint/);
    expect((await h.registry.listSessionsByNode(h.node.id)).length).toBe(before);
  });
});

describe("POST /v1/whep/{id}", () => {
  it("a listener of a WHIP session gets a sendonly answer and hears the source's audio", async () => {
    const src = await peer({ direction: "sendonly", dataChannel: false });
    const r = await invoke({
      method: "POST",
      path: "/v1/whip?profile=echo",
      headers: sdpHeaders(),
      body: src.offer,
    });
    expect(r.status).toBe(201);
    src.accept(r.body);
    await src.connected(8000);
    const srcId = r.headers.location!.split("/").pop()!;
    const token = r.headers["rtcgw-session-token"]!;

    const listener = await peer({ direction: "recvonly", dataChannel: false });
    const noAuth = await invoke({
      method: "POST",
      path: `/v1/whep/${srcId}`,
      headers: sdpHeaders(),
      body: listener.offer,
    });
    expect(noAuth.status).toBe(401);
    const w = await invoke({
      method: "POST",
      path: `/v1/whep/${srcId}`,
      headers: sdpHeaders({ authorization: `Bearer ${token}` }),
      body: listener.offer,
    });
    expect(w.status).toBe(201);
    expect(audioDirection(w.body)).toBe("sendonly");
    const rec = await h.registry.getSession(w.headers.location!.split("/").pop()!);
    expect(rec?.kind).toBe("whep");
    expect(rec?.sourceSessionId).toBe(srcId);
    listener.accept(w.body);
    await listener.connected(8000);
    await listener.until(() => listener.stats.packetsReceived > 10, 8000, "relayed audio");

    const unknown = await invoke({
      method: "POST",
      path: `/v1/whep/${"A".repeat(44)}`,
      headers: sdpHeaders({ authorization: `Bearer ${token}` }),
      body: listener.offer,
    });
    expect(unknown.status).toBe(404);

    // a listener of that listener: it has nothing to hear — 422 with the reason, nothing left behind
    const listenerId = w.headers.location!.split("/").pop()!;
    const listenerToken = w.headers["rtcgw-session-token"]!;
    const second = await peer({ direction: "recvonly", dataChannel: false });
    // (other tests' unanswered sessions may be reaped meanwhile: counts can only go down)
    const before = (await h.registry.listSessionsByNode(h.node.id)).length;
    const nodeBefore = h.node.sessions();
    const ofListener = await invoke({
      method: "POST",
      path: `/v1/whep/${listenerId}`,
      headers: sdpHeaders({ authorization: `Bearer ${listenerToken}` }),
      body: second.offer,
    });
    expect(ofListener.status).toBe(422);
    expect(ofListener.json().error).toBe("source-is-listener");
    expect(ofListener.json().reason).toMatch(/is a WHEP listener; it has no incoming audio/);
    expect(ofListener.headers.location).toBeUndefined();
    const after = await h.registry.listSessionsByNode(h.node.id);
    expect(after.length).toBeLessThanOrEqual(before);
    expect(after.filter((r) => r.sourceSessionId === listenerId)).toEqual([]);
    expect(h.node.sessions()).toBeLessThanOrEqual(nodeBefore);
    // someone else's token still hears 403 first: the refusal says nothing about a session it cannot use
    const stranger = await invoke({
      method: "POST",
      path: `/v1/whep/${listenerId}`,
      headers: sdpHeaders({ authorization: "Bearer someone-elses-token-0123" }),
      body: second.offer,
    });
    expect(stranger.status).toBe(403);

    // a listener's profile is fixed: a profile option on /v1/whep is 400, not ignored
    const withProfile = await invoke({
      method: "POST",
      path: `/v1/whep/${srcId}?profile=record`,
      headers: sdpHeaders({ authorization: `Bearer ${token}` }),
      body: second.offer,
    });
    expect(withProfile.status).toBe(400);
    expect(withProfile.json().reason).toMatch(/a WHEP listener takes no \?profile/);
  });
});

describe("OPTIONS", () => {
  it("answers CORS preflight with Accept-Post on offer endpoints and Accept-Patch on sessions", async () => {
    const whip = await invoke({
      method: "OPTIONS",
      path: "/v1/whip",
      headers: { origin: "https://app.example", "access-control-request-method": "POST" },
    });
    expect(whip.status).toBe(204);
    expect(whip.headers["accept-post"]).toBe("application/sdp");
    expect(whip.headers["access-control-allow-origin"]).toBe("*");
    expect(whip.headers["access-control-allow-methods"]).toContain("POST");
    expect(whip.headers["access-control-allow-headers"]).toMatch(/authorization/);
    expect(whip.headers["access-control-allow-headers"]).toMatch(/if-match/);
    const res = await invoke({ method: "OPTIONS", path: `/v1/sessions/${"B".repeat(44)}` });
    expect(res.status).toBe(204);
    expect(res.headers["accept-patch"]).toBe("application/trickle-ice-sdpfrag");
    expect(res.headers["access-control-allow-methods"]).toMatch(/PATCH.*DELETE|DELETE.*PATCH/);
    expect(res.headers["access-control-expose-headers"]).toMatch(/location.*etag/);
  });
});

describe("GET /v1/health", () => {
  it("reports the registry and the accepting nodes", async () => {
    const r = await invoke({ method: "GET", path: "/v1/health" });
    expect(r.status).toBe(200);
    expect(r.json()).toMatchObject({
      status: "ok",
      registry: { kind: "memory", ok: true },
      nodes: { live: 1 },
    });
  });
});

describe("POST /v1/whip with audio + video (OBS-style)", () => {
  it("answers 201 with one m-line per offered m-line, in the offer's order (RFC 8829 §5.3.1)", async () => {
    const pc = new nodeDataChannel.PeerConnection("obs-like", { iceServers: [], bindAddress: "127.0.0.1" });
    const audio = new nodeDataChannel.Audio("0", "SendOnly");
    audio.addOpusCodec(111, "minptime=10;useinbandfec=1");
    audio.addSSRC(0xa0d1, "obs", "obs", "audio");
    const video = new nodeDataChannel.Video("1", "SendOnly");
    video.addH264Codec(96);
    video.addSSRC(0x1de0, "obs", "obs", "video");
    const tracks = [pc.addTrack(audio), pc.addTrack(video)];
    try {
      pc.setLocalDescription();
      const offer = pc.localDescription()!.sdp.replace(/^a=candidate:.*\r?\n/gm, "");
      const r = await invoke({ method: "POST", path: "/v1/whip", headers: sdpHeaders(), body: offer });
      expect(r.status, r.body).toBe(201);
      const kinds = (sdp: string) => parse(sdp).media.map((m) => `${m.type}:${m.mid}`);
      expect(kinds(offer)).toEqual(["audio:0", "video:1"]);
      expect(kinds(r.body)).toEqual(kinds(offer));
      expect(audioDirection(r.body)).toBe("recvonly");
      expect(parse(r.body).media[1]!.direction).toBe("inactive");
    } finally {
      for (const t of tracks) t.close();
      pc.close();
    }
  });
});
