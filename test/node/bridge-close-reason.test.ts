// The agent socket's close reason fits RFC 6455's 123 bytes whatever its characters: ws.close()
// throws on a longer one, and the socket would then stay open after `stop`.
import { expect, it } from "vitest";
import { closeReason } from "../../src/node/bridge/app-socket.js";

it("keeps a short reason and cuts a long one to ≤ 123 bytes on a character boundary", () => {
  expect(closeReason("session ended")).toBe("session ended");
  const ascii = "x".repeat(300);
  expect(Buffer.byteLength(closeReason(ascii))).toBe(123);
  // 120 characters of 3 bytes each: 360 bytes, which a cut at 120 characters would have kept
  const wide = "€".repeat(120);
  const cut = closeReason(wide);
  expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(123);
  expect(cut).toBe("€".repeat(41));
  expect(cut.includes("\uFFFD")).toBe(false);
});
