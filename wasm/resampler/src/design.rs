//! Filter design: one Kaiser-windowed sinc prototype per (rate pair, preset), split into polyphase
//! tables. The prototype runs at the "high rate" L * inRate = M * outRate, where L/M = outRate/inRate
//! reduced by their gcd, so every output sample sits on an exact rational phase (no drift, ever).

use crate::kernel::Sample;

/// Rates the gateway speaks (DESIGN.md, media rule 6).
pub const RATES: [u32; 6] = [8000, 16000, 24000, 32000, 44100, 48000];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Preset {
    /// low latency: 0.9..1.1 of the smaller Nyquist, 120 dB, f32 arithmetic
    Voice,
    /// high quality: 0.9..1.0 of the smaller Nyquist (nothing above Nyquist folds back), 170 dB, f64
    Hq,
}

impl Preset {
    pub fn from_code(code: u32) -> Option<Preset> {
        match code {
            0 => Some(Preset::Voice),
            1 => Some(Preset::Hq),
            _ => None,
        }
    }
}

struct Spec {
    /// passband edge, fraction of the smaller Nyquist
    pass: f64,
    /// stopband edge, fraction of the smaller Nyquist
    stop: f64,
    /// stopband attenuation the Kaiser window is designed for (dB)
    atten_db: f64,
}

fn spec(preset: Preset) -> Spec {
    match preset {
        Preset::Voice => Spec { pass: 0.9, stop: 1.1, atten_db: 120.0 },
        Preset::Hq => Spec { pass: 0.9, stop: 1.0, atten_db: 170.0 },
    }
}

/// Polyphase tables. Row p (0 <= p < l) holds the taps of phase p, time-reversed and zero-padded at
/// the old end to `taps` (a multiple of 8), so that one output is a plain forward dot product of the
/// last `taps` history samples with one contiguous row.
pub struct Table<T> {
    pub coef: Vec<T>,
    pub l: usize,
    pub m: usize,
    pub taps: usize,
    /// group delay in output frames (exact integer by construction)
    pub delay: usize,
    /// the same delay in high-rate samples: M * delay
    pub centre: usize,
}

pub fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        let t = a % b;
        a = b;
        b = t;
    }
    a
}

pub fn rate_supported(rate: u32) -> bool {
    RATES.contains(&rate)
}

/// Modified Bessel function of the first kind, order 0 (power series; converges fast for beta < 30).
fn bessel_i0(x: f64) -> f64 {
    let y = x * x / 4.0;
    let mut sum = 1.0;
    let mut term = 1.0;
    let mut k = 1.0;
    loop {
        term *= y / (k * k);
        sum += term;
        if term < sum * 1e-21 {
            return sum;
        }
        k += 1.0;
    }
}

/// Kaiser's beta for a given stopband attenuation (Kaiser 1974, as in Oppenheim & Schafer 7.6).
fn kaiser_beta(atten_db: f64) -> f64 {
    if atten_db > 50.0 {
        0.1102 * (atten_db - 8.7)
    } else if atten_db >= 21.0 {
        0.5842 * (atten_db - 21.0).powf(0.4) + 0.07886 * (atten_db - 21.0)
    } else {
        0.0
    }
}

pub fn build<T: Sample>(in_rate: u32, out_rate: u32, preset: Preset) -> Table<T> {
    let g = gcd(in_rate, out_rate);
    let l = (out_rate / g) as usize;
    let m = (in_rate / g) as usize;
    if l == 1 && m == 1 {
        // same rate: a single unit tap, zero delay
        let mut coef = vec![T::zero(); 8];
        coef[7] = T::from_f64(1.0);
        return Table { coef, l, m, taps: 8, delay: 0, centre: 0 };
    }
    let s = spec(preset);
    let nyq_min = in_rate.min(out_rate) as f64 / 2.0;
    let nyq_max = in_rate.max(out_rate) as f64 / 2.0;
    let pass = s.pass * nyq_min;
    // 44.1k <-> 48k: 1.1 x the smaller Nyquist lies above the larger one, so a tone between the two
    // Nyquists would only be half-attenuated; stop at the smaller Nyquist instead.
    let stop = if s.stop * nyq_min > nyq_max { nyq_min } else { s.stop * nyq_min };
    let fh = l as f64 * in_rate as f64;
    let dw = 2.0 * core::f64::consts::PI * (stop - pass) / fh;
    // Kaiser's length estimate: N - 1 = (A - 7.95) / (2.285 dw). The length is then rounded up so that
    // the delay (N - 1) / 2 is a whole number of output frames: N = 2 M D + 1.
    let n_minus_1 = (s.atten_db - 7.95) / (2.285 * dw);
    let delay = (n_minus_1 / (2.0 * m as f64)).ceil() as usize;
    let centre = m * delay;
    let ntot = 2 * centre + 1;
    let beta = kaiser_beta(s.atten_db);
    let fc = (pass + stop) / 2.0 / fh; // cutoff, cycles per high-rate sample
    let i0b = bessel_i0(beta);
    let mut h = vec![0f64; ntot];
    let mut sum = 0.0;
    for (j, hj) in h.iter_mut().enumerate() {
        let t = j as f64 - centre as f64;
        let sinc = if t == 0.0 {
            2.0 * fc
        } else {
            (2.0 * core::f64::consts::PI * fc * t).sin() / (core::f64::consts::PI * t)
        };
        let r = t / centre as f64;
        let w = bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b;
        *hj = sinc * w;
        sum += *hj;
    }
    // unity DC gain after zero-stuffing by L: the taps of the whole prototype sum to L
    let norm = l as f64 / sum;
    let per_phase = (ntot + l - 1) / l;
    let taps = (per_phase + 7) / 8 * 8;
    let mut coef = vec![T::zero(); l * taps];
    for p in 0..l {
        for j in 0..taps {
            let k = taps - 1 - j; // newest sample last
            let idx = p + k * l;
            if idx < ntot {
                coef[p * taps + j] = T::from_f64(h[idx] * norm);
            }
        }
    }
    Table { coef, l, m, taps, delay, centre }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs() -> impl Iterator<Item = (u32, u32)> {
        RATES.iter().flat_map(|&i| RATES.iter().map(move |&o| (i, o)))
    }

    #[test]
    fn every_phase_has_unit_dc_gain() {
        for (i, o) in pairs() {
            for preset in [Preset::Voice, Preset::Hq] {
                let t = build::<f64>(i, o, preset);
                for p in 0..t.l {
                    let s: f64 = t.coef[p * t.taps..(p + 1) * t.taps].iter().sum();
                    assert!((s - 1.0).abs() < 1e-5, "{i}->{o} {preset:?} phase {p}: dc gain {s}");
                }
            }
        }
    }

    #[test]
    fn prototype_is_symmetric_about_the_integer_delay() {
        for (i, o) in [(48000, 16000), (16000, 48000), (44100, 48000), (8000, 44100)] {
            let t = build::<f64>(i, o, Preset::Voice);
            assert_eq!(t.centre, t.m * t.delay);
            // tap at high-rate index j lives in phase j % l, column taps-1-j/l
            let tap = |j: usize| t.coef[(j % t.l) * t.taps + t.taps - 1 - j / t.l];
            for j in 0..t.centre {
                assert_eq!(tap(j), tap(2 * t.centre - j), "{i}->{o} tap {j}");
            }
        }
    }

    #[test]
    fn taps_are_padded_to_a_multiple_of_8() {
        for (i, o) in pairs() {
            let t = build::<f32>(i, o, Preset::Voice);
            assert_eq!(t.taps % 8, 0);
            assert_eq!(t.coef.len(), t.l * t.taps);
        }
    }
}
