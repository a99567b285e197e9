// A node's recording read back for the tests that measure a call's timeline in it: the session's
// WAV (read by the sink tests' chunk-walking reader, so a malformed file fails loudly instead of
// being read from a guessed offset), its length, and where its longest digital silence lies.
import { join } from "node:path";
import { parseWav } from "../media/sinks/wav.js";

export interface RecordingWav {
  rate: number;
  samples: Int16Array;
  /** the audio's length in ms */
  ms: number;
}

/** session `id`'s WAV in `dir` (a node's RECORDINGS_DIR) */
export function readRecording(dir: string, id: string): RecordingWav {
  const { rate, samples } = parseWav(join(dir, `${id}.wav`));
  return { rate, samples, ms: (samples.length * 1000) / rate };
}

/** the longest run of digital silence (|sample| ≤ 2): [startMs, endMs) */
export function longestSilence(samples: Int16Array, rate: number): [number, number] {
  let best: [number, number] = [0, 0];
  let start = -1;
  for (let i = 0; i <= samples.length; i++) {
    const quiet = i < samples.length && Math.abs(samples[i]!) <= 2;
    if (quiet && start < 0) start = i;
    if (!quiet && start >= 0) {
      if (i - start > best[1] - best[0]) best = [start, i];
      start = -1;
    }
  }
  return [(best[0] * 1000) / rate, (best[1] * 1000) / rate];
}
