// Packet-loss concealment for G.711, after the idea of ITU-T G.711 Appendix I (1999): repeat the
// last pitch period of the good signal, fade it out (silence after 60 ms), and cross-fade back
// into the first good packet. A simplified take: pitch by normalised autocorrelation over the
// last 20 ms, one period repeated (Appendix I widens to 3 periods), linear fades.

const HISTORY = 390; // 48.75 ms at 8 kHz, as in Appendix I
const PITCH_MIN = 40; // 5 ms (200 Hz)
const PITCH_MAX = 120; // 15 ms (66.7 Hz)
const WINDOW = 160; // 20 ms correlation window
const FADE_START = 80; // full level for the first 10 ms of an erasure
const MUTE_AT = 480; // silent from 60 ms on
const CROSSFADE = 32; // 4 ms back into the good signal

export class G711Concealer {
  private readonly history = new Int16Array(HISTORY);
  private filled = 0;
  private period: Int16Array | undefined;
  private phase = 0;
  /** samples concealed in the current erasure (0 = not concealing) */
  private erased = 0;

  /** feed decoded audio; after an erasure, its start is cross-faded from the concealment */
  accept(pcm: Int16Array): Int16Array {
    let out = pcm;
    if (this.erased > 0 && this.period && this.erased < MUTE_AT) {
      out = pcm.slice();
      const n = Math.min(CROSSFADE, out.length);
      const tail = this.synthesize(n, false);
      for (let i = 0; i < n; i++) {
        const w = (i + 1) / (n + 1);
        out[i] = Math.round(tail[i] * (1 - w) + out[i] * w);
      }
    }
    this.erased = 0;
    this.period = undefined;
    this.remember(out);
    return out;
  }

  /** `n` samples standing in for lost audio */
  conceal(n: number): Int16Array {
    if (this.erased === 0) this.period = this.extractPeriod();
    const out = this.period ? this.synthesize(n, true) : new Int16Array(n);
    if (!this.period) this.erased += n;
    return out;
  }

  reset(): void {
    this.history.fill(0);
    this.filled = 0;
    this.period = undefined;
    this.erased = 0;
  }

  private remember(pcm: Int16Array): void {
    if (pcm.length >= HISTORY) {
      this.history.set(pcm.subarray(pcm.length - HISTORY));
    } else {
      this.history.copyWithin(0, pcm.length);
      this.history.set(pcm, HISTORY - pcm.length);
    }
    this.filled = Math.min(HISTORY, this.filled + pcm.length);
  }

  /** the last pitch period of the history, or undefined when there is too little signal */
  private extractPeriod(): Int16Array | undefined {
    if (this.filled < WINDOW + PITCH_MAX) return undefined;
    const h = this.history;
    const end = HISTORY;
    let energy = 0;
    for (let i = end - WINDOW; i < end; i++) energy += h[i] * h[i];
    if (energy < WINDOW * 4) return undefined; // digital silence: nothing to repeat
    let best = PITCH_MIN;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let p = PITCH_MIN; p <= PITCH_MAX; p++) {
      let xy = 0;
      let yy = 0;
      for (let i = end - WINDOW; i < end; i++) {
        xy += h[i] * h[i - p];
        yy += h[i - p] * h[i - p];
      }
      const score = yy > 0 ? xy / Math.sqrt(yy) : 0;
      if (score > bestScore) {
        bestScore = score;
        best = p;
      }
    }
    this.phase = 0;
    return h.slice(end - best, end);
  }

  /** continue the repeated period; `advance` false peeks (for the cross-fade) without moving on */
  private synthesize(n: number, advance: boolean): Int16Array {
    const period = this.period!;
    const out = new Int16Array(n);
    let phase = this.phase;
    let erased = this.erased;
    for (let i = 0; i < n; i++, erased++) {
      const gain = erased < FADE_START ? 1 : Math.max(0, 1 - (erased - FADE_START) / (MUTE_AT - FADE_START));
      out[i] = Math.round(period[phase] * gain);
      phase = (phase + 1) % period.length;
    }
    if (advance) {
      this.phase = phase;
      this.erased = erased;
    }
    return out;
  }
}
