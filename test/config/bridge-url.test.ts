// The bridge allow-list, leak by leak (issue 15): each URL below was once answered 201 and dialed
// somewhere the operator never allowed, or answered 201 and never dialed. Pure functions: the node
// test (test/node/bridge.test.ts) shows the same verdicts reach a client as 4xx with nothing dialed.
import { describe, expect, it } from "vitest";
import { bridgeUrlProblem, checkBridgeUrl, parseAllowEntry } from "../../src/config/bridge-url.js";

const allow = (...entries: string[]) => entries;

describe("bridge URL allow-list: scheme, host and port exactly, then a path prefix", () => {
  it("a host with ':' and no port is refused as an entry (it used to allow every loopback port, :22 included)", () => {
    expect(parseAllowEntry("ws://127.0.0.1:")).toMatch(/names no port/);
    expect(parseAllowEntry("ws://127.0.0.1:/")).toMatch(/names no port/);
    // and even if such a string reached the check, it matches nothing (not port 22, not 80)
    const v = checkBridgeUrl("ws://127.0.0.1:22/", allow("ws://127.0.0.1:"));
    expect(v).toMatchObject({ ok: false, status: 403 });
  });

  it("a port is one port: ws://127.0.0.1:4394 does not allow 43947", () => {
    const a = allow("ws://127.0.0.1:4394");
    expect(checkBridgeUrl("ws://127.0.0.1:4394/", a).ok).toBe(true);
    expect(checkBridgeUrl("ws://127.0.0.1:4394/agent?x=1", a).ok).toBe(true);
    expect(checkBridgeUrl("ws://127.0.0.1:43947/", a)).toMatchObject({ ok: false, status: 403 });
    expect(checkBridgeUrl("ws://127.0.0.1:439/", a)).toMatchObject({ ok: false, status: 403 });
    expect(checkBridgeUrl("ws://127.0.0.1/", a)).toMatchObject({ ok: false, status: 403 });
  });

  it("an entry with an explicit default port matches (with or without the port in the URL)", () => {
    for (const entry of ["wss://agent.example.com:443/", "wss://agent.example.com/"]) {
      expect(checkBridgeUrl("wss://agent.example.com/ws", allow(entry)).ok, entry).toBe(true);
      expect(checkBridgeUrl("wss://agent.example.com:443/ws", allow(entry)).ok, entry).toBe(true);
      expect(checkBridgeUrl("wss://agent.example.com:8443/ws", allow(entry)).ok, entry).toBe(false);
    }
    expect(checkBridgeUrl("ws://10.0.0.5/x", allow("ws://10.0.0.5:80/")).ok).toBe(true);
  });

  it("the scheme is part of the match: ws:// does not allow wss:// (nor the reverse)", () => {
    expect(checkBridgeUrl("wss://127.0.0.1:8765/", allow("ws://127.0.0.1:8765/")).ok).toBe(false);
    expect(checkBridgeUrl("ws://agent.example.com:443/", allow("wss://agent.example.com/")).ok).toBe(false);
  });

  it("the host is compared whole: no suffix, no other spelling", () => {
    const a = allow("wss://agent.example.com/");
    expect(checkBridgeUrl("wss://agent.example.com.evil.net/", a).ok).toBe(false);
    expect(checkBridgeUrl("wss://AGENT.example.COM/", a).ok).toBe(true); // the same host, normalized
    expect(checkBridgeUrl("ws://localhost:9000/", allow("ws://127.0.0.1:9000/")).ok).toBe(false);
  });

  it("the path is a prefix by segments: /agent covers /agent and /agent/x, not /agents", () => {
    const a = allow("wss://h.example/agent");
    expect(checkBridgeUrl("wss://h.example/agent", a).ok).toBe(true);
    expect(checkBridgeUrl("wss://h.example/agent/v2?k=1", a).ok).toBe(true);
    expect(checkBridgeUrl("wss://h.example/agents", a).ok).toBe(false);
    expect(checkBridgeUrl("wss://h.example/", a).ok).toBe(false);
    // dot segments are resolved before the comparison, as the socket will send them
    expect(checkBridgeUrl("wss://h.example/agent/../admin", a).ok).toBe(false);
    expect(checkBridgeUrl("wss://h.example/agent/", allow("wss://h.example/agent/")).ok).toBe(true);
  });

  it("a #fragment is refused (400) at the offer: the socket would never dial it", () => {
    const v = checkBridgeUrl("ws://127.0.0.1:8765/#x", allow("ws://127.0.0.1:8765/"));
    expect(v).toMatchObject({ ok: false, status: 400, reason: expect.stringMatching(/fragment/) });
    expect(bridgeUrlProblem("ws://127.0.0.1:8765/#")).toMatch(/fragment/);
  });

  it("a comma is refused (400): it is two URLs joined by the gateway, or one that would be cut", () => {
    const v = checkBridgeUrl("ws://127.0.0.1:8765/a,ws://evil.net/", allow("ws://127.0.0.1:8765/"));
    expect(v).toMatchObject({ ok: false, status: 400, reason: expect.stringMatching(/comma/) });
  });

  it("credentials are refused (400), however they are written", () => {
    for (const url of [
      "ws://127.0.0.1:8765@evil.net/",
      "ws://user:pw@127.0.0.1:8765/",
      "ws://@127.0.0.1:8765/",
    ])
      expect(checkBridgeUrl(url, allow("ws://127.0.0.1:8765/")), url).toMatchObject({
        ok: false,
        status: 400,
      });
  });

  it("what the socket could not dial, or would dial differently, is refused (400)", () => {
    for (const url of [
      "http://127.0.0.1:8765/",
      "ws://127.0.0.1:8765/a b",
      "ws://127.0.0.1:8765/\tx",
      "ws:/127.0.0.1:8765/",
      "127.0.0.1:8765",
      "ws://127.0.0.1:99999/",
      `ws://127.0.0.1:8765/${"a".repeat(2100)}`,
    ])
      expect(checkBridgeUrl(url, allow("ws://127.0.0.1:8765/")), url).toMatchObject({
        ok: false,
        status: 400,
      });
  });

  it("the allowed URL comes back normalized: the node dials exactly what it checked", () => {
    expect(checkBridgeUrl("WS://127.0.0.1:8765/a/./b?t=1", allow("ws://127.0.0.1:8765/"))).toEqual({
      ok: true,
      url: "ws://127.0.0.1:8765/a/b?t=1",
    });
  });

  it("IPv6 literals match by their normalized form", () => {
    expect(checkBridgeUrl("ws://[::1]:8765/", allow("ws://[0:0::1]:8765/")).ok).toBe(true);
    expect(checkBridgeUrl("ws://[::1]:8766/", allow("ws://[::1]:8765/")).ok).toBe(false);
  });
});
