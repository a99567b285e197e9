// Measure a tone: Goertzel power at a frequency, RMS, and a coarse frequency scan.

/** RMS of interleaved 16-bit PCM (all channels) */
export function rmsOf(pcm: Int16Array): number {
  let s = 0;
  for (const v of pcm) s += v * v;
  return pcm.length ? Math.sqrt(s / pcm.length) : 0;
}

/** amplitude of the `hz` component of mono `pcm` (Goertzel, Hann-windowed), in sample units */
export function goertzelAmplitude(pcm: Int16Array, rate: number, hz: number): number {
  const n = pcm.length;
  const w = (2 * Math.PI * hz) / rate;
  const coeff = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const win = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    wsum += win;
    const s0 = pcm[i] * win + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
  return (2 * Math.sqrt(power)) / wsum;
}

/** the strongest frequency among 50 Hz steps in [lo, hi] */
export function dominantHz(pcm: Int16Array, rate: number, lo = 100, hi = 4000): number {
  let best = lo;
  let bestAmp = -1;
  for (let hz = lo; hz <= hi; hz += 10) {
    const a = goertzelAmplitude(pcm, rate, hz);
    if (a > bestAmp) {
      bestAmp = a;
      best = hz;
    }
  }
  return best;
}

export function db(ratio: number): number {
  return 20 * Math.log10(ratio);
}

/** concatenate Int16Arrays */
export function concat(parts: Int16Array[]): Int16Array {
  const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
