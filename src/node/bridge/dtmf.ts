// The caller's keypad: RFC 4733 telephone-event RTP packets (§2.3: event, E bit, volume,
// duration) turned into one digit per key press. A press is sent as several packets with the same
// RTP timestamp, its end (E = 1) usually three times (§2.5.1.4): the digit is reported once, at
// its first end packet — or, should every end packet be lost, when the next event begins.

/** RFC 4733 §3.2: events 0–15 are the DTMF keys */
const DIGITS = "0123456789*#ABCD";

export class TelephoneEvents {
  #current: { ts: number; event: number; duration: number } | undefined;
  #reported: number | undefined;

  constructor(
    readonly payloadType: number,
    private readonly clockRate: number,
    private readonly onDigit: (digit: string, durationMs: number) => void,
  ) {}

  /** one whole RTP packet of the telephone-event payload type; malformed ones are ignored */
  push(packet: Uint8Array): void {
    if (packet.length < 16 || packet[0]! >> 6 !== 2) return;
    const cc = packet[0]! & 0x0f;
    let off = 12 + cc * 4;
    if (packet[0]! & 0x10) {
      if (packet.length < off + 4) return;
      off += 4 + ((packet[off + 2]! << 8) | packet[off + 3]!) * 4;
    }
    if (packet.length < off + 4) return;
    const ts = ((packet[4]! << 24) | (packet[5]! << 16) | (packet[6]! << 8) | packet[7]!) >>> 0;
    const event = packet[off]!;
    const end = (packet[off + 1]! & 0x80) !== 0;
    const duration = (packet[off + 2]! << 8) | packet[off + 3]!;
    if (event >= DIGITS.length) return; // not a DTMF key (§3.2 events 16+)
    const cur = this.#current;
    if (cur && cur.ts !== ts && this.#reported !== cur.ts) this.#report(cur.ts, cur.event, cur.duration);
    this.#current = { ts, event, duration };
    if (end && this.#reported !== ts) this.#report(ts, event, duration);
  }

  #report(ts: number, event: number, duration: number): void {
    this.#reported = ts;
    this.onDigit(DIGITS[event]!, Math.round((duration * 1000) / this.clockRate));
  }
}
