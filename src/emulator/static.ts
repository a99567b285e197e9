// Dev-only extras served next to the emulated functions (never by the functions themselves):
// the demo page (web/) at "/", and the recordings of RECORDINGS_DIR for its player —
// GET /recordings (JSON list) and GET /recordings/<path> (the file). Paths are validated
// segment by segment and must resolve inside the directory: no traversal, no dotfiles.
import { createReadStream } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const WEB_DIR = fileURLToPath(new URL("../../web/", import.meta.url));
const WEB_FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/rtcgw-client.js": { file: "rtcgw-client.js", type: "text/javascript; charset=utf-8" },
  "/rtcgw-client.d.ts": { file: "rtcgw-client.d.ts", type: "text/plain; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};
const RECORDING_TYPES: Record<string, string> = { wav: "audio/wav", ogg: "audio/ogg" };
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;
const MAX_DEPTH = 2;

export interface RecordingEntry {
  /** path relative to RECORDINGS_DIR, "/"-separated */
  path: string;
  bytes: number;
  modifiedAt: number;
}

/** the example agents the dev server runs for the demo page's "agent" choices (examples/) */
export interface DemoAgents {
  rtcgw?: string;
  twilio?: string;
}

export function devStatic(recordingsDir: string, agents: DemoAgents = {}) {
  const root = resolve(recordingsDir);
  return async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/agent.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(JSON.stringify(agents));
      return true;
    }
    const web = WEB_FILES[path];
    if (web) {
      sendFile(res, join(WEB_DIR, web.file), web.type);
      return true;
    }
    if (path === "/recordings" || path === "/recordings/") {
      const list = await listRecordings(root);
      const body = JSON.stringify({ recordings: list });
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" });
      res.end(body);
      return true;
    }
    if (path.startsWith("/recordings/")) {
      const file = safeRecordingPath(root, path.slice("/recordings/".length));
      const ext = file?.split(".").pop() ?? "";
      if (!file || !RECORDING_TYPES[ext]) {
        res.writeHead(404, { "content-type": "application/json" }).end('{"message":"Not Found"}');
        return true;
      }
      sendFile(res, file, RECORDING_TYPES[ext]!);
      return true;
    }
    return false;
  };
}

/** The absolute path of a recording, or undefined if the request path is not a safe one. */
export function safeRecordingPath(root: string, requested: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(requested);
  } catch {
    return undefined;
  }
  const segments = decoded.split("/");
  if (segments.length > MAX_DEPTH + 1 || !segments.every((s) => SEGMENT.test(s))) return undefined;
  const full = resolve(root, ...segments);
  const rel = relative(root, full);
  if (rel.startsWith("..") || rel.startsWith(sep) || rel === "") return undefined;
  return full;
}

export async function listRecordings(root: string, depth = 0, prefix = ""): Promise<RecordingEntry[]> {
  let names: import("node:fs").Dirent[];
  try {
    names = await readdir(join(root, prefix), { withFileTypes: true });
  } catch {
    return [];
  }
  const out: RecordingEntry[] = [];
  for (const d of names) {
    if (!SEGMENT.test(d.name)) continue;
    const rel = prefix ? `${prefix}/${d.name}` : d.name;
    if (d.isDirectory() && depth < MAX_DEPTH) out.push(...(await listRecordings(root, depth + 1, rel)));
    else if (d.isFile() && /\.(wav|ogg)$/.test(d.name)) {
      const s = await stat(join(root, rel)).catch(() => undefined);
      if (s) out.push({ path: rel, bytes: s.size, modifiedAt: s.mtimeMs });
    }
  }
  return depth === 0 ? out.sort((a, b) => b.modifiedAt - a.modifiedAt) : out;
}

function sendFile(res: ServerResponse, file: string, type: string) {
  const stream = createReadStream(file);
  stream.once("open", () => {
    res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
    stream.pipe(res);
  });
  stream.once("error", () => {
    if (!res.headersSent)
      res.writeHead(404, { "content-type": "application/json" }).end('{"message":"Not Found"}');
    else res.destroy();
  });
}
