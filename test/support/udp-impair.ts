// /work/shared/tools/udp-impair.mjs between a test's client and the gateway: loss and reordering
// from its command line, and the outage started by the test once the client's audio is flowing.
//
// Why not `--outage START:DUR`: the tool starts that clock at the first impairable packet of the
// session, RTCP included. aiortc sends its first RTCP sender report 0.5–1.5 s after DTLS whether
// or not RTP has begun; when its first RTP comes a second or more after that (a busy machine),
// the "mid-call" outage eats the call's first packets, and a recording that rightly starts at the
// first packet that arrived is 100 ms or more shorter than what the client sent. Measured: with
// the client's first frame held 1.4 s, the first RTP reached the impairer 842 ms after the SR.
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";

export const UDP_IMPAIR = "/work/shared/tools/udp-impair.mjs";

/** the recording tests' network: 10 % loss and 5 % reordering, seeded (the outage: outageAfter) */
export const LOSS_AND_REORDER = ["--loss", "0.1", "--reorder", "0.05", "--seed", "7"];

/** one direction's counters as the impairer reports them (GET /_chaos/stats) */
export interface ImpairCounts {
  rtp: number;
  rtcp: number;
  rtp_dropped: number;
  rtcp_dropped: number;
  dropped_outage: number;
  reordered: number;
}

export interface Impairer {
  /** the signalling origin to give the client (the proxy in front of `upstream`) */
  origin: string;
  process: ChildProcess;
  /**
   * Drop everything client → node for `ms` once the client has sent `afterRtp` RTP packets
   * (counted where they enter the impairer, before any loss): an outage in the middle of the
   * call whenever the client starts. Resolves with the RTP count it started at; `cancel()` stops
   * waiting (the call ended first: the promise then resolves with undefined).
   */
  outageAfter(afterRtp: number, ms: number): { started: Promise<number | undefined>; cancel(): void };
  /** client → node counters, summed over every session this impairer carried */
  c2s(): Promise<ImpairCounts>;
  /** client → node counters of the one ICE session whose client ufrag is `ufrag` (undefined if the
   *  impairer saw none) */
  c2sOf(ufrag: string): Promise<ImpairCounts | undefined>;
  stop(): void;
}

export async function startImpairer(upstream: string, relayHost: string, args: string[]): Promise<Impairer> {
  const p = spawn(
    process.execPath,
    [UDP_IMPAIR, "--upstream", upstream, "--relay-host", relayHost, ...args, "-q"],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  let origin: string | undefined;
  for await (const line of createInterface({ input: p.stdout! })) {
    const m = JSON.parse(line) as { event: string; signal_origin?: string };
    if (m.event === "ready") {
      origin = m.signal_origin!;
      break;
    }
  }
  if (!origin) throw new Error("udp-impair exited before it was ready");
  const all = async () =>
    (await (await fetch(`${origin}/_chaos/stats`)).json()) as {
      summary: { c2s: ImpairCounts };
      sessions: { client_ufrag: string; c2s: ImpairCounts }[];
    };
  const stats = async () => (await all()).summary;
  return {
    origin,
    process: p,
    outageAfter(afterRtp, ms) {
      let cancelled = false;
      const started = (async () => {
        while (!cancelled) {
          const { c2s } = await stats();
          if (c2s.rtp >= afterRtp) {
            const r = await fetch(`${origin}/_chaos/outage?ms=${ms}&dir=c2s`, { method: "POST" });
            if (!r.ok) throw new Error(`udp-impair refused the outage: ${r.status} ${await r.text()}`);
            return c2s.rtp;
          }
          await new Promise((r) => setTimeout(r, 10));
        }
        return undefined;
      })();
      return {
        started,
        cancel: () => {
          cancelled = true;
        },
      };
    },
    c2s: async () => (await stats()).c2s,
    c2sOf: async (ufrag) => (await all()).sessions.find((x) => x.client_ufrag === ufrag)?.c2s,
    stop: () => void p.kill("SIGTERM"),
  };
}
