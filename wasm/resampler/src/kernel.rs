//! Dot-product kernels: the only hot loop. Lengths are always a multiple of 8 (tables are padded).
//! The scalar fallback keeps the same lane structure and summation order as the SIMD128 kernel, so
//! both builds give the same numbers (IEEE add/mul, no FMA in either), not merely close ones.

pub trait Sample: Copy + 'static {
    fn zero() -> Self;
    fn from_f64(x: f64) -> Self;
    fn from_f32(x: f32) -> Self;
    fn to_f32(self) -> f32;
    /// sum of a[j] * b[j]; a.len() == b.len(), a multiple of 8
    fn dot(a: &[Self], b: &[Self]) -> Self;
}

impl Sample for f32 {
    #[inline(always)]
    fn zero() -> f32 {
        0.0
    }
    #[inline(always)]
    fn from_f64(x: f64) -> f32 {
        x as f32
    }
    #[inline(always)]
    fn from_f32(x: f32) -> f32 {
        x
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        dot_f32(a, b)
    }
}

impl Sample for f64 {
    #[inline(always)]
    fn zero() -> f64 {
        0.0
    }
    #[inline(always)]
    fn from_f64(x: f64) -> f64 {
        x
    }
    #[inline(always)]
    fn from_f32(x: f32) -> f64 {
        x as f64
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self as f32
    }
    #[inline(always)]
    fn dot(a: &[f64], b: &[f64]) -> f64 {
        dot_f64(a, b)
    }
}

/// Which kernel this build carries (exported so the loader and tests can tell).
pub const SIMD: bool = cfg!(target_feature = "simd128");

// ---------------------------------------------------------------------------------------------
// f32: four f32x4 accumulators (16 taps per step, so four add chains hide the add latency), then
// one 8-tap step on two of them when the length is an odd multiple of 8
// ---------------------------------------------------------------------------------------------
#[cfg(target_feature = "simd128")]
#[inline(always)]
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    use core::arch::wasm32::*;
    let n = a.len().min(b.len()) & !7;
    let pa = a.as_ptr();
    let pb = b.as_ptr();
    let mut acc = [f32x4_splat(0.0); 4];
    let mut j = 0;
    // SAFETY: every load reads [j, j + 16) or [j, j + 8) within n <= len of both slices;
    // read_unaligned because history windows start at any sample.
    unsafe {
        let ld = |p: *const f32, k: usize| core::ptr::read_unaligned(p.add(k) as *const v128);
        while j + 16 <= n {
            for (q, slot) in acc.iter_mut().enumerate() {
                *slot = f32x4_add(*slot, f32x4_mul(ld(pa, j + 4 * q), ld(pb, j + 4 * q)));
            }
            j += 16;
        }
        if j < n {
            acc[0] = f32x4_add(acc[0], f32x4_mul(ld(pa, j), ld(pb, j)));
            acc[1] = f32x4_add(acc[1], f32x4_mul(ld(pa, j + 4), ld(pb, j + 4)));
        }
    }
    let s = f32x4_add(f32x4_add(acc[0], acc[1]), f32x4_add(acc[2], acc[3]));
    (f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s))
        + (f32x4_extract_lane::<2>(s) + f32x4_extract_lane::<3>(s))
}

#[cfg(not(target_feature = "simd128"))]
#[inline(always)]
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len()) & !7;
    let mut acc = [[0f32; 4]; 4];
    let mut j = 0;
    // SAFETY: as in the SIMD kernel, every index is < n <= len of both slices
    unsafe {
        let mac = |acc: &mut [f32; 4], k: usize| {
            for (l, v) in acc.iter_mut().enumerate() {
                *v += *a.get_unchecked(k + l) * *b.get_unchecked(k + l);
            }
        };
        while j + 16 <= n {
            for (q, slot) in acc.iter_mut().enumerate() {
                mac(slot, j + 4 * q);
            }
            j += 16;
        }
        if j < n {
            mac(&mut acc[0], j);
            mac(&mut acc[1], j + 4);
        }
    }
    let mut s = [0f32; 4];
    for (l, v) in s.iter_mut().enumerate() {
        *v = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]);
    }
    (s[0] + s[1]) + (s[2] + s[3])
}

// ---------------------------------------------------------------------------------------------
// f64: four f64x2 accumulators (8 taps per step)
// ---------------------------------------------------------------------------------------------
#[cfg(target_feature = "simd128")]
#[inline(always)]
fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    use core::arch::wasm32::*;
    let n = a.len().min(b.len()) & !7;
    let pa = a.as_ptr();
    let pb = b.as_ptr();
    let mut acc = [f64x2_splat(0.0); 4];
    let mut j = 0;
    // SAFETY: j + 8 <= n <= len of both slices
    unsafe {
        while j < n {
            for (q, slot) in acc.iter_mut().enumerate() {
                let x = core::ptr::read_unaligned(pa.add(j + 2 * q) as *const v128);
                let y = core::ptr::read_unaligned(pb.add(j + 2 * q) as *const v128);
                *slot = f64x2_add(*slot, f64x2_mul(x, y));
            }
            j += 8;
        }
    }
    let s = f64x2_add(f64x2_add(acc[0], acc[1]), f64x2_add(acc[2], acc[3]));
    f64x2_extract_lane::<0>(s) + f64x2_extract_lane::<1>(s)
}

#[cfg(not(target_feature = "simd128"))]
#[inline(always)]
fn dot_f64(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len()) & !7;
    let mut acc = [[0f64; 2]; 4];
    let mut j = 0;
    while j < n {
        // SAFETY: j + 8 <= n <= len of both slices
        unsafe {
            for (q, slot) in acc.iter_mut().enumerate() {
                slot[0] += *a.get_unchecked(j + 2 * q) * *b.get_unchecked(j + 2 * q);
                slot[1] += *a.get_unchecked(j + 2 * q + 1) * *b.get_unchecked(j + 2 * q + 1);
            }
        }
        j += 8;
    }
    let s0 = (acc[0][0] + acc[1][0]) + (acc[2][0] + acc[3][0]);
    let s1 = (acc[0][1] + acc[1][1]) + (acc[2][1] + acc[3][1]);
    s0 + s1
}
