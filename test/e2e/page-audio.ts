// Page-side audio measurement: `window.peakHz(stream)` is the median, over ten 300 ms looks, of
// the loudest bin of a WebAudio analyser on a received MediaStream (-1 when it stays silent).
import type { Page } from "playwright-core";

const PEAK_HZ = `
window.peakHz = async (stream) => {
  const ctx = new AudioContext();
  await ctx.resume();
  const src = ctx.createMediaStreamSource(stream);
  const an = ctx.createAnalyser();
  an.fftSize = 8192;
  an.smoothingTimeConstant = 0;
  src.connect(an);
  const bins = new Float32Array(an.frequencyBinCount);
  const votes = [];
  for (let i = 0; i < 10; i++) {
    await new Promise((r) => setTimeout(r, 300));
    an.getFloatFrequencyData(bins);
    let best = 0;
    for (let b = 1; b < bins.length; b++) if (bins[b] > bins[best]) best = b;
    if (bins[best] > -90) votes.push((best * ctx.sampleRate) / an.fftSize);
  }
  await ctx.close();
  votes.sort((a, b) => a - b);
  return votes.length ? votes[Math.floor(votes.length / 2)] : -1;
};`;

/** defines window.peakHz on the page (again after each navigation) */
export async function installPeakHz(page: Page): Promise<void> {
  await page.addScriptTag({ content: PEAK_HZ });
}
