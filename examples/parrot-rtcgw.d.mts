// types for src/cli/dev.ts, which runs this example for the demo page
import type { WebSocketServer } from "ws";
export function startParrotRtcgw(o?: {
  port?: number;
  host?: string;
}): Promise<{ wss: WebSocketServer; url: string }>;
