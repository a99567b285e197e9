// The shared route table and its matcher (the emulator and infra/ both read it).
import { describe, expect, it } from "vitest";
import { HANDLER_NAMES, matchRoute, methodsAt, ROUTES, routeKey } from "../../src/signaling/routes.js";

describe("ROUTES", () => {
  it("covers every route of the README's HTTP API, each once, each with a known handler", () => {
    const keys = ROUTES.map(routeKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const k of [
      "POST /v1/whip",
      "POST /v1/sessions",
      "GET /v1/sessions/{id}",
      "PATCH /v1/sessions/{id}",
      "DELETE /v1/sessions/{id}",
      "POST /v1/whep/{id}",
      "GET /v1/health",
      "OPTIONS /v1/whip",
      "OPTIONS /v1/sessions/{id}",
    ])
      expect(keys).toContain(k);
    for (const r of ROUTES) expect(HANDLER_NAMES).toContain(r.handler);
  });

  it("matches like API Gateway: exact method, one segment per parameter, decoded", () => {
    expect(matchRoute("POST", "/v1/whip")?.route.handler).toBe("whip");
    expect(matchRoute("post", "/v1/whip")?.route.handler).toBe("whip");
    // a method the resource does not have: its ANY route (405 from the options function)
    expect(routeKey(matchRoute("GET", "/v1/whip")!.route)).toBe("ANY /v1/whip");
    expect(routeKey(matchRoute("PUT", "/v1/sessions/abc")!.route)).toBe("ANY /v1/sessions/{id}");
    // the route naming the method wins over ANY, wherever it stands in the table
    expect(routeKey(matchRoute("DELETE", "/v1/sessions/abc")!.route)).toBe("DELETE /v1/sessions/{id}");
    // a sub-resource is not the resource: the session's ANY route does not catch it
    expect(routeKey(matchRoute("POST", "/v1/sessions/abc/resume")!.route)).toBe(
      "POST /v1/sessions/{id}/resume",
    );
    expect(matchRoute("POST", "/v1/sessions/abc/other")).toBeUndefined();
    expect(matchRoute("GET", "/v1/nothing")).toBeUndefined();
    expect(matchRoute("DELETE", "/v1/sessions/abc%2Dd")?.pathParameters).toEqual({ id: "abc-d" });
    expect(matchRoute("DELETE", "/v1/sessions/a/b")).toBeUndefined();
    expect(matchRoute("DELETE", "/v1/sessions/")).toBeUndefined();
    expect(matchRoute("GET", "/v1/sessions/%E0%A4%A")).toBeUndefined(); // bad escape
    expect(methodsAt("/v1/sessions/{id}").sort()).toEqual(["DELETE", "GET", "HEAD", "PATCH"]);
    expect(methodsAt("/v1/whip")).toEqual(["POST"]);
  });
});

describe("signalingHandler", () => {
  it("refuses actions that drift from the function's routes", async () => {
    const { signalingHandler } = await import("../../src/signaling/dispatch.js");
    const ok = () => ({ statusCode: 200, headers: {} });
    expect(() => signalingHandler("whip", {})).toThrow(/differ from its routes/);
    expect(() => signalingHandler("whip", { "POST /v1/whip": ok, "GET /v1/whip": ok })).toThrow(/differ/);
    expect(() => signalingHandler("whip", { "POST /v1/whip": ok })).not.toThrow();
  });
});
