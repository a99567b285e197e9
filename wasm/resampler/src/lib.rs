//! rtcgw_resampler: a streaming polyphase windowed-sinc resampler for WebAssembly.
//!
//! One module instance hosts many streams, addressed by integer handles. The host (the JS loader in
//! pkg/) stages input in a per-stream buffer inside linear memory, calls `rs_process`, and reads the
//! output from the stream's output buffer. Nothing allocates per call once the buffers have grown to
//! the largest chunk seen. Filter tables are built once per (rates, preset) and shared by all streams that use them.
//!
//! Zero dependencies; built by build.sh with `rustc --target wasm32-unknown-unknown` in two flavours,
//! with and without `+simd128` (see kernel.rs).

mod design;
mod kernel;
mod stream;

use design::{Preset, Table};
use std::rc::Rc;
use stream::Stream;

enum AnyStream {
    /// voice preset: f32 tables and arithmetic
    Single(Stream<f32>),
    /// hq preset: f64 tables and arithmetic (f32 rounding would cap rejection near -125 dB)
    Double(Stream<f64>),
}

macro_rules! each {
    ($s:expr, $x:ident => $body:expr) => {
        match $s {
            AnyStream::Single($x) => $body,
            AnyStream::Double($x) => $body,
        }
    };
}

struct TableCache<T> {
    entries: Vec<(u32, u32, Preset, Rc<Table<T>>)>,
}

impl<T: kernel::Sample> TableCache<T> {
    const fn new() -> Self {
        TableCache { entries: Vec::new() }
    }
    fn get(&mut self, i: u32, o: u32, p: Preset) -> Rc<Table<T>> {
        for e in &self.entries {
            if e.0 == i && e.1 == o && e.2 == p {
                return Rc::clone(&e.3);
            }
        }
        let t = Rc::new(design::build::<T>(i, o, p));
        self.entries.push((i, o, p, Rc::clone(&t)));
        t
    }
}

struct State {
    slots: Vec<Option<Box<AnyStream>>>,
    free: Vec<u32>,
    tables32: TableCache<f32>,
    tables64: TableCache<f64>,
}

static mut STATE: State = State {
    slots: Vec::new(),
    free: Vec::new(),
    tables32: TableCache::new(),
    tables64: TableCache::new(),
};

fn state() -> &'static mut State {
    // SAFETY: wasm32-unknown-unknown without threads: one caller at a time, no reentrancy.
    unsafe { &mut *core::ptr::addr_of_mut!(STATE) }
}

fn get(h: u32) -> Option<&'static mut AnyStream> {
    let s = state();
    let i = (h as usize).checked_sub(1)?;
    s.slots.get_mut(i)?.as_deref_mut()
}

pub const ERR_RATE: i32 = -1;
pub const ERR_CHANNELS: i32 = -2;
pub const ERR_PRESET: i32 = -3;
pub const ERR_HANDLE: i32 = -4;

/// 1 if this build carries the SIMD128 kernel, 0 for the scalar one.
#[no_mangle]
pub extern "C" fn rs_simd() -> i32 {
    kernel::SIMD as i32
}

/// Create a stream. channels: 1 or 2; downmix: 1 to mix stereo input to mono output; preset:
/// 0 voice, 1 hq. Returns a handle > 0, or a negative ERR_* code.
#[no_mangle]
pub extern "C" fn rs_create(in_rate: u32, out_rate: u32, channels: u32, downmix: u32, preset: u32) -> i32 {
    if !design::rate_supported(in_rate) || !design::rate_supported(out_rate) {
        return ERR_RATE;
    }
    if !(channels == 1 || channels == 2) || downmix > 1 || (downmix == 1 && channels != 2) {
        return ERR_CHANNELS;
    }
    let preset = match Preset::from_code(preset) {
        Some(p) => p,
        None => return ERR_PRESET,
    };
    let s = state();
    let stream = match preset {
        Preset::Voice => AnyStream::Single(Stream::new(
            s.tables32.get(in_rate, out_rate, preset),
            channels as usize,
            downmix == 1,
        )),
        Preset::Hq => AnyStream::Double(Stream::new(
            s.tables64.get(in_rate, out_rate, preset),
            channels as usize,
            downmix == 1,
        )),
    };
    let boxed = Some(Box::new(stream));
    let idx = match s.free.pop() {
        Some(i) => {
            s.slots[i as usize] = boxed;
            i as usize
        }
        None => {
            s.slots.push(boxed);
            s.slots.len() - 1
        }
    };
    (idx + 1) as i32
}

/// Free a stream and everything only it used. Unknown handles are ignored.
#[no_mangle]
pub extern "C" fn rs_destroy(h: u32) {
    let s = state();
    if get(h).is_none() {
        return;
    }
    let i = h as usize - 1;
    s.slots[i] = None;
    s.free.push(i as u32);
    // tables stay cached: at most 36 pairs x 2 presets exist, and rebuilding an hq table costs ms
}

/// Group delay in output frames: how long after its input time an output frame is emitted.
#[no_mangle]
pub extern "C" fn rs_latency(h: u32) -> i32 {
    match get(h) {
        Some(st) => each!(st, x => x.delay() as i32),
        None => ERR_HANDLE,
    }
}

#[no_mangle]
pub extern "C" fn rs_out_channels(h: u32) -> i32 {
    match get(h) {
        Some(st) => each!(st, x => x.out_channels() as i32),
        None => ERR_HANDLE,
    }
}

/// Size the staging buffers for a call of `frames` input frames and return the input buffer's
/// address (write interleaved f32 or i16 there). May grow linear memory: re-read views after it.
#[no_mangle]
pub extern "C" fn rs_input(h: u32, frames: u32) -> i32 {
    match get(h) {
        Some(st) => each!(st, x => {
            x.reserve(frames as usize);
            x.io_in.as_mut_ptr() as i32
        }),
        None => ERR_HANDLE,
    }
}

/// Address of the output buffer (valid until the next rs_input/rs_create on any stream).
#[no_mangle]
pub extern "C" fn rs_output(h: u32) -> i32 {
    match get(h) {
        Some(st) => each!(st, x => x.io_out.as_ptr() as i32),
        None => ERR_HANDLE,
    }
}

/// Resample `frames` staged input frames (in_kind/out_kind: 0 f32, 1 i16). Returns output frames.
#[no_mangle]
pub extern "C" fn rs_process(h: u32, frames: u32, in_kind: u32, out_kind: u32) -> i32 {
    match get(h) {
        Some(st) => each!(st, x => {
            x.reserve(frames as usize);
            x.process(frames as usize, in_kind, out_kind) as i32
        }),
        None => ERR_HANDLE,
    }
}

/// End of input: the remaining output frames (staged in the output buffer); the stream restarts.
#[no_mangle]
pub extern "C" fn rs_flush(h: u32, out_kind: u32) -> i32 {
    match get(h) {
        Some(st) => each!(st, x => x.flush(out_kind) as i32),
        None => ERR_HANDLE,
    }
}

#[no_mangle]
pub extern "C" fn rs_reset(h: u32) {
    if let Some(st) = get(h) {
        each!(st, x => x.reset())
    }
}
