// `rtcgw node`'s workers listen on consecutive ports: RTCGW_NODE_URL names worker 0, worker i is
// that URL with its port + i. One rule for the supervisor (each worker's RTCGW_NODE_URL) and for
// `rtcgw agent` (which asks each worker's control port whether it answers).

/** `url` with its port (the scheme's default when it has none) moved up by `i` */
export function workerUrl(url: string | URL, i: number): URL {
  const u = new URL(url);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  u.port = String(port + i);
  return u;
}
