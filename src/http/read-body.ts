// A request body, bounded: the HTTP servers of this repository (the API Gateway emulator, the
// node's control API) read bodies through this one function. An oversized body is read to its
// end and dropped (so the 413 reaches the caller instead of a reset), never kept in memory.
import type { IncomingMessage } from "node:http";

export function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | "too-large"> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= maxBytes) chunks.push(c);
    });
    req.on("end", () => resolve(size > maxBytes ? "too-large" : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** A request whose client went away before its body was read (Node's "aborted" ECONNRESET on the
 *  request): the client's doing, not a failure of the server that was reading it. */
export function clientAborted(req: IncomingMessage, e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return req.destroyed && (code === "ECONNRESET" || (e as Error | undefined)?.message === "aborted");
}
