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
// f32: two f32x4 accumulators (8 taps per step)
// ---------------------------------------------------------------------------------------------
#[cfg(target_feature = "simd128")]
#[inline(always)]
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    use core::arch::wasm32::*;
    let n = a.len().min(b.len()) & !7;
    let pa = a.as_ptr();
    let pb = b.as_ptr();
    let mut acc0 = f32x4_splat(0.0);
    let mut acc1 = f32x4_splat(0.0);
    let mut j = 0;
    // SAFETY: j + 8 <= n <= len of both slices; v128 loads are unaligned-safe via read_unaligned.
    unsafe {
        while j < n {
            let a0 = core::ptr::read_unaligned(pa.add(j) as *const v128);
            let b0 = core::ptr::read_unaligned(pb.add(j) as *const v128);
            let a1 = core::ptr::read_unaligned(pa.add(j + 4) as *const v128);
            let b1 = core::ptr::read_unaligned(pb.add(j + 4) as *const v128);
            acc0 = f32x4_add(acc0, f32x4_mul(a0, b0));
            acc1 = f32x4_add(acc1, f32x4_mul(a1, b1));
            j += 8;
        }
    }
    let s = f32x4_add(acc0, acc1);
    (f32x4_extract_lane::<0>(s) + f32x4_extract_lane::<1>(s))
        + (f32x4_extract_lane::<2>(s) + f32x4_extract_lane::<3>(s))
}

#[cfg(not(target_feature = "simd128"))]
#[inline(always)]
fn dot_f32(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len()) & !7;
    let mut acc0 = [0f32; 4];
    let mut acc1 = [0f32; 4];
    let mut j = 0;
    while j < n {
        // SAFETY: j + 8 <= n <= len of both slices
        unsafe {
            for q in 0..4 {
                acc0[q] += *a.get_unchecked(j + q) * *b.get_unchecked(j + q);
                acc1[q] += *a.get_unchecked(j + 4 + q) * *b.get_unchecked(j + 4 + q);
            }
        }
        j += 8;
    }
    let s = [acc0[0] + acc1[0], acc0[1] + acc1[1], acc0[2] + acc1[2], acc0[3] + acc1[3]];
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
