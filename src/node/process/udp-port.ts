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
