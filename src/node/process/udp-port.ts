// MEDIA_UDP_PORT=0 means "any free port": libjuice's mux needs one fixed port for all peers,
// so we ask the kernel for a free one once, release it and give that number to every peer.
import { createSocket } from "node:dgram";

export function freeUdpPort(address: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", reject);
    s.bind(0, address, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * A fixed MEDIA_UDP_PORT someone else holds: libdatachannel would find out only at the first
 * offer, when gathering candidates throws inside its own thread — std::terminate, the worker
 * aborted, restarted, aborted again at its next offer, taking its calls with it each time. So it
 * is bound (and released) at the start, and a taken one refused as the setting it is (exit 2).
 */
export function ensureUdpPortFree(address: string, port: number, variable = "MEDIA_UDP_PORT"): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.once("error", (e: NodeJS.ErrnoException) => {
      s.close();
      const what =
        e.code === "EADDRINUSE"
          ? "is already in use"
          : e.code === "EACCES"
            ? "needs privileges"
            : `cannot be bound (${e.code ?? e.message})`;
      reject(
        Object.assign(
          new Error(`UDP port ${port} on ${address} ${what}; set ${variable} to a free port (0 = any)`),
          {
            code: "media-udp-port",
          },
        ),
      );
    });
    s.bind(port, address, () => s.close(() => resolve()));
  });
}
