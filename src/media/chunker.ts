// Runs of samples of any length in, exact `size`-sample chunks out: the resampler and the
// application hand out uneven runs, while an encoder wants whole codec frames and the bridge
// whole 20 ms frames.

export class Chunker {
  readonly #buf: Int16Array;
  #fill = 0;

  /** `onChunk` gets a view that the next chunk overwrites: copy it to keep it */
  constructor(
    readonly size: number,
    private readonly onChunk: (chunk: Int16Array) => void,
  ) {
    this.#buf = new Int16Array(size);
  }

  push(samples: Int16Array): void {
    let src = samples;
    while (src.length > 0) {
      const n = Math.min(src.length, this.size - this.#fill);
      this.#buf.set(src.subarray(0, n), this.#fill);
      this.#fill += n;
      src = src.subarray(n);
      if (this.#fill === this.size) {
        this.#fill = 0;
        this.onChunk(this.#buf);
      }
    }
  }

  /** hand out the partial chunk, padded with silence to a whole one (nothing if none is pending) */
  flushPadded(): void {
    if (this.#fill === 0) return;
    this.#buf.fill(0, this.#fill);
    this.#fill = 0;
    this.onChunk(this.#buf);
  }
}
