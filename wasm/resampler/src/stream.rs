//! One resampling stream: history, rational phase, and the I/O staging buffers the host writes into.
//!
//! Output n is the prototype filter evaluated at high-rate position n*M + centre, i.e. at input index
//! i = floor((n*M + centre) / L) with phase p = (n*M + centre) mod L. The output timeline is aligned
//! with the input (an impulse at input frame k lands at output frame k*L/M); what the filter needs
//! from the future is waited for, so each output leaves `delay` output frames after its input time.
//! flush() supplies that future as silence, which makes the total exactly round(in * L / M).

use crate::design::Table;
use crate::kernel::Sample;
use std::rc::Rc;

/// input frames staged per compaction of the history (the "double-length" part of the buffer)
const BLOCK: usize = 1024;

#[allow(dead_code)]
pub const KIND_F32: u32 = 0;
pub const KIND_I16: u32 = 1;

pub struct Stream<T: Sample> {
    table: Rc<Table<T>>,
    in_channels: usize,
    /// channels actually filtered: 1 when downmixing
    channels: usize,
    /// per-channel history planes, each `cap` long: [c * cap, (c + 1) * cap)
    hist: Vec<T>,
    cap: usize,
    /// samples currently held in each plane
    len: usize,
    /// plane index of the newest input the next output needs
    need: usize,
    /// phase of the next output, 0 <= phase < L
    phase: usize,
    in_total: u64,
    out_total: u64,
    /// host-visible staging: input (f32 or i16, interleaved) and output (interleaved)
    pub io_in: Vec<f32>,
    pub io_out: Vec<f32>,
}

impl<T: Sample> Stream<T> {
    pub fn new(table: Rc<Table<T>>, in_channels: usize, downmix: bool) -> Stream<T> {
        let channels = if downmix { 1 } else { in_channels };
        let cap = table.taps - 1 + BLOCK;
        let flush_room = (table.delay + 2) * channels;
        let mut s = Stream {
            hist: vec![T::zero(); cap * channels],
            cap,
            len: 0,
            need: 0,
            phase: 0,
            in_total: 0,
            out_total: 0,
            io_in: Vec::new(),
            io_out: vec![0f32; flush_room.max(64)],
            table,
            in_channels,
            channels,
        };
        s.reset();
        s
    }

    pub fn delay(&self) -> usize {
        self.table.delay
    }

    pub fn out_channels(&self) -> usize {
        self.channels
    }

    pub fn reset(&mut self) {
        let t = &self.table;
        // taps-1 frames of silence before the first input sample
        for v in self.hist.iter_mut() {
            *v = T::zero();
        }
        self.len = t.taps - 1;
        self.need = t.taps - 1 + t.centre / t.l;
        self.phase = t.centre % t.l;
        self.in_total = 0;
        self.out_total = 0;
    }

    /// Most output frames one process() of `frames` input frames can return.
    pub fn max_out(&self, frames: usize) -> usize {
        (frames * self.table.l + self.table.m - 1) / self.table.m + 1
    }

    /// Make the staging buffers hold `frames` input frames and their output. Allocates only when
    /// a call is larger than every call before it.
    pub fn reserve(&mut self, frames: usize) {
        let need_in = frames * self.in_channels;
        if self.io_in.len() < need_in {
            self.io_in.resize(need_in, 0.0);
        }
        let need_out = self.max_out(frames) * self.channels;
        if self.io_out.len() < need_out {
            self.io_out.resize(need_out, 0.0);
        }
    }

    /// Drop history no output will need again (keeps at most taps-1 frames).
    fn compact(&mut self) {
        let taps = self.table.taps;
        let start = (self.need + 1).saturating_sub(taps).min(self.len);
        if start == 0 {
            return;
        }
        for c in 0..self.channels {
            let base = c * self.cap;
            self.hist.copy_within(base + start..base + self.len, base);
        }
        self.len -= start;
        self.need -= start;
    }

    /// Append `n` frames from io_in (at frame offset `off`, format `kind`) to the history planes.
    fn push_input(&mut self, off: usize, n: usize, kind: u32) {
        let ich = self.in_channels;
        let cap = self.cap;
        let len = self.len;
        if kind == KIND_I16 {
            let total = self.io_in.len() * 2;
            // SAFETY: io_in holds io_in.len() f32 = 2x as many i16; reserve() sized it for the call
            let src = unsafe { core::slice::from_raw_parts(self.io_in.as_ptr() as *const i16, total) };
            const SCALE: f32 = 1.0 / 32768.0;
            if ich == self.channels {
                for c in 0..ich {
                    let dst = &mut self.hist[c * cap + len..c * cap + len + n];
                    for (f, d) in dst.iter_mut().enumerate() {
                        *d = T::from_f32(src[(off + f) * ich + c] as f32 * SCALE);
                    }
                }
            } else {
                let dst = &mut self.hist[len..len + n];
                for (f, d) in dst.iter_mut().enumerate() {
                    let i = (off + f) * 2;
                    *d = T::from_f32((src[i] as f32 + src[i + 1] as f32) * (0.5 * SCALE));
                }
            }
        } else {
            let src = &self.io_in;
            if ich == self.channels {
                for c in 0..ich {
                    let dst = &mut self.hist[c * cap + len..c * cap + len + n];
                    for (f, d) in dst.iter_mut().enumerate() {
                        *d = T::from_f32(finite(src[(off + f) * ich + c]));
                    }
                }
            } else {
                let dst = &mut self.hist[len..len + n];
                for (f, d) in dst.iter_mut().enumerate() {
                    let i = (off + f) * 2;
                    *d = T::from_f32(finite((src[i] + src[i + 1]) * 0.5));
                }
            }
        }
        self.len += n;
        self.in_total += n as u64;
    }

    /// Silence after the end of input (flush).
    fn push_zeros(&mut self, n: usize) {
        let len = self.len;
        for c in 0..self.channels {
            for d in &mut self.hist[c * self.cap + len..c * self.cap + len + n] {
                *d = T::zero();
            }
        }
        self.len += n;
    }

    /// Compute outputs while their inputs are present, at most `limit`, written from output frame
    /// `at` of io_out in format `kind`. Returns how many were written.
    fn produce(&mut self, at: usize, limit: usize, kind: u32) -> usize {
        let t = Rc::clone(&self.table);
        let taps = t.taps;
        let (l, q, r) = (t.l, t.m / t.l, t.m % t.l);
        let ch = self.channels;
        let mut need = self.need;
        let mut phase = self.phase;
        let mut done = 0;
        while need < self.len && done < limit {
            let row = &t.coef[phase * taps..phase * taps + taps];
            let start = need + 1 - taps;
            for c in 0..ch {
                let win = &self.hist[c * self.cap + start..c * self.cap + start + taps];
                let y = T::dot(win, row).to_f32();
                let o = (at + done) * ch + c;
                if kind == KIND_I16 {
                    write_i16(&mut self.io_out, o, y);
                } else {
                    self.io_out[o] = y;
                }
            }
            done += 1;
            phase += r;
            need += q;
            if phase >= l {
                phase -= l;
                need += 1;
            }
        }
        self.need = need;
        self.phase = phase;
        self.out_total += done as u64;
        done
    }

    /// Stream `frames` input frames staged in io_in; returns output frames staged in io_out.
    pub fn process(&mut self, frames: usize, in_kind: u32, out_kind: u32) -> usize {
        let mut off = 0;
        let mut out = 0;
        let room = self.io_out.len() / self.channels;
        while off < frames {
            if self.len == self.cap {
                self.compact();
            }
            let n = (frames - off).min(self.cap - self.len);
            self.push_input(off, n, in_kind);
            off += n;
            out += self.produce(out, room - out, out_kind);
            if self.len == self.cap {
                self.compact();
            }
        }
        out
    }

    /// End of input: pad with silence until the output total is round(in_total * L / M), return the
    /// frames staged in io_out, and start over (ready for a new stream).
    pub fn flush(&mut self, out_kind: u32) -> usize {
        let (l, m) = (self.table.l as u64, self.table.m as u64);
        let target = (2 * self.in_total * l + m) / (2 * m);
        let mut out = 0;
        let room = self.io_out.len() / self.channels;
        while self.out_total < target && out < room {
            let want = (target - self.out_total) as usize;
            out += self.produce(out, want.min(room - out), out_kind);
            if self.out_total >= target {
                break;
            }
            self.compact();
            let n = self.cap - self.len;
            self.push_zeros(n.min(BLOCK));
        }
        self.reset();
        out
    }
}

/// NaN or infinity in f32 input becomes silence: one bad sample must not poison `taps` outputs
/// (a NaN, or infinity times a zero tap, would).
#[inline(always)]
fn finite(x: f32) -> f32 {
    if x.is_finite() {
        x
    } else {
        0.0
    }
}

#[inline(always)]
fn write_i16(out: &mut [f32], o: usize, y: f32) {
    // round half away from zero, saturate (NaN -> 0 by the cast)
    let s = y * 32768.0;
    let v: i16 = if s >= 32767.0 {
        32767
    } else if s <= -32768.0 {
        -32768
    } else {
        (s + if s >= 0.0 { 0.5 } else { -0.5 }) as i16
    };
    // SAFETY: io_out holds out.len() f32 = 2x as many i16 slots; o < out.len()
    unsafe { *(out.as_mut_ptr() as *mut i16).add(o) = v };
}
