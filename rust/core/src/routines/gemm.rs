//! C = alpha op(A) op(B) + beta C over stacks, with xGEMM semantics.
//!
//! No input is copied when BLAS can read it as it lies (unit stride along one axis); C is
//! written in place. Tiny products skip BLAS, whose call overhead dominates at 4x4: a
//! contiguous stack of them runs through kernels unrolled for its size, spread over threads.

use ndarray::{Array2, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMut3, ArrayViewMutD, Axis, Ix3, ShapeBuilder};
use rayon::prelude::*;

use crate::alloc::{self, Need};
use crate::batch::{run, same_batch, Outs};
use crate::dispatch::{self, Backend, Decision, Problem, Request};
use crate::error::{CoreError, Result};
use crate::lapack::{self, Operand};
use crate::layout::{split_shape, Mats};
use crate::opencl::{self, gemm::{KernelChoice, Run}};
use crate::scalar::Scalar;
use crate::threads;

/// Single products with m*n*k at or below this run in a plain loop (BLAS wins from 6x6x6 on).
pub const SMALL: usize = 5 * 5 * 5;

/// Contiguous stacks of products with every dimension up to this run the inline kernels:
/// below it one BLAS call per product costs more than the product.
pub const STACK_INLINE_DIM: usize = 8;

/// Inline stacks spread over threads from this many multiply-adds (m*n*k per product times
/// the count, about 2000 4x4 products): below, waking idle threads costs more than it saves.
const STACK_PARALLEL_WORK: usize = 1 << 17;

/// (count, m, n, k) of a stacked product, after checking that the shapes agree.
pub fn dims(a: &[usize], b: &[usize], c: &[usize], trans_a: bool, trans_b: bool) -> Result<(usize, usize, usize, usize)> {
    let (ba, ar, ac) = split_shape(a)?;
    let (bb, br, bc) = split_shape(b)?;
    let (bcb, m, n) = split_shape(c)?;
    same_batch("gemm", &ba, &bcb)?;
    same_batch("gemm", &bb, &bcb)?;
    let (am, k) = if trans_a { (ac, ar) } else { (ar, ac) };
    let (kb, bn) = if trans_b { (bc, br) } else { (br, bc) };
    if am != m || bn != n || kb != k {
        return Err(CoreError::Shape(format!("gemm: op(a) is {am}x{k}, op(b) is {kb}x{bn}, c is {m}x{n}")));
    }
    Ok((crate::layout::count(&bcb)?, m, n, k))
}

/// What a dispatched call did: the final decision (after any fallback), the device run, and
/// a warning for the caller when the device failed and the CPU took over.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    pub run: Option<Run>,
    pub warning: Option<String>,
}

/// gemm through the dispatcher: decide, run on the chosen backend, fall back to the CPU when
/// the device fails (out of memory or resources, kernel build, lost device). Never returns a
/// partial result: C is written only by a run that completed.
#[allow(clippy::too_many_arguments)]
pub fn gemm_dispatched<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, mut c: ArrayViewMutD<T>, alpha: T, beta: T,
                                  trans_a: bool, trans_b: bool, request: Option<&Request>, kernel: KernelChoice) -> Result<Outcome> {
    let (count, m, n, k) = dims(a.shape(), b.shape(), c.shape(), trans_a, trans_b)?;
    let problem = Problem { op: "gemm", count, m, n, k: if alpha == T::zero() { 0 } else { k }, dtype: T::DTYPE };
    let decision = dispatch::decide_for(&problem, request).map_err(CoreError::Device)?;
    let Backend::OpenCl(index) = decision.backend else {
        gemm(a, b, c, alpha, beta, trans_a, trans_b)?;
        dispatch::record("gemm", &decision);
        return Ok(Outcome { decision, run: None, warning: None });
    };
    let tried = opencl::gpu(index).and_then(|g| opencl::gemm::gemm(&g, a.view(), b.view(), c.view_mut(), alpha, beta, trans_a, trans_b, kernel));
    match tried {
        Ok(run) => {
            let transfer = dispatch::Transfer { kernel: run.kernel.clone(), bytes_to_device: run.bytes_to_device,
                                                bytes_from_device: run.bytes_from_device, kernel_ns: run.kernel_ns };
            dispatch::record_run("gemm", &decision, Some(transfer));
            Ok(Outcome { decision, run: Some(run), warning: None })
        }
        Err(fail) => {
            let (decision, warning) = super::device_failed("gemm", index, decision, &fail);
            gemm(a, b, c, alpha, beta, trans_a, trans_b)?;
            dispatch::record("gemm", &decision);
            Ok(Outcome { decision, run: None, warning })
        }
    }
}

/// gemm on the CPU, any layout of each operand.
pub fn gemm<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, mut c: ArrayViewMutD<T>, alpha: T, beta: T,
                       trans_a: bool, trans_b: bool) -> Result<()> {
    let (count, m, n, k) = dims(a.shape(), b.shape(), c.shape(), trans_a, trans_b)?;
    if count == 0 || m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 || alpha == T::zero() {
        scale(c.view_mut(), beta);
        return Ok(());
    }
    if m.max(n).max(k) <= STACK_INLINE_DIM {
        if let (Some(sa), Some(sb)) = (a.as_slice(), b.as_slice()) {
            if let Some(sc) = c.as_slice_mut() {
                small_stack(sa, sb, sc, (m, n, k), (trans_a, trans_b), alpha, beta);
                return Ok(());
            }
        }
    }
    let (am, bm) = (Mats::new(a)?, Mats::new(b)?);
    let dim = m.max(n).max(k);
    let each = |c3: ArrayViewMut3<T>| {
        run(count, dim, Stack3(Some(c3)), || (), |i, j, _, c| {
            let a = if trans_a { am.get(i).reversed_axes() } else { am.get(i) };
            let b = if trans_b { bm.get(i).reversed_axes() } else { bm.get(i) };
            gemm1(a, b, c.item(j), alpha, beta)
        })
    };
    if let Some(c3) = merged_mut(c.view_mut()) {
        return each(c3);
    }
    // C's batch axes do not merge (an odd view): work in a contiguous copy, then write back.
    Need::new().array::<T>(&[count, m, n]).check("gemm")?;
    let data = alloc::vec("gemm", count * m * n, T::zero())?;
    let mut tmp = ndarray::Array3::from_shape_vec((count, m, n), data).expect("sized");
    if beta != T::zero() {
        tmp.iter_mut().zip(c.iter()).for_each(|(t, &v)| *t = v); // both in logical order
    }
    each(tmp.view_mut())?;
    c.iter_mut().zip(tmp.iter()).for_each(|(v, &t)| *v = t);
    Ok(())
}

/// beta * C, with beta = 0 setting C without reading it (BLAS: NaN there must not leak).
fn scale<T: Scalar>(mut c: ArrayViewMutD<T>, beta: T) {
    if beta == T::zero() {
        c.fill(T::zero());
    } else if beta != T::one() {
        c.mapv_inplace(|v| beta * v);
    }
}

/// A writable stack with its batch axes merged into one, when its strides allow.
pub(crate) fn merged_mut<T>(c: ArrayViewMutD<T>) -> Option<ArrayViewMut3<T>> {
    if c.is_empty() {
        return None;
    }
    let nd = c.ndim();
    let mut c = if nd == 2 { c.insert_axis(Axis(0)) } else { c };
    for d in (0..c.ndim().saturating_sub(3)).rev() {
        if !c.merge_axes(Axis(d), Axis(c.ndim() - 3)) {
            return None;
        }
    }
    while c.ndim() > 3 {
        c = c.index_axis_move(Axis(0), 0);
    }
    c.into_dimensionality::<Ix3>().ok()
}

/// The matrices of a writable `(count, m, n)` stack, for the batch runner.
struct Stack3<'a, T>(Option<ArrayViewMut3<'a, T>>);

impl<'a, T: Send> Outs for Stack3<'a, T> {
    fn split_front(&mut self, items: usize) -> Self {
        let (front, back) = self.0.take().expect("present").split_at(Axis(0), items);
        self.0 = Some(back);
        Stack3(Some(front))
    }
}

impl<'a, T> Stack3<'a, T> {
    fn item(&mut self, j: usize) -> ArrayViewMut2<'_, T> {
        self.0.as_mut().expect("present").index_axis_mut(Axis(0), j)
    }
}

/// One product; `a` and `b` are already op(A) and op(B).
pub fn gemm1<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, alpha: T, beta: T) -> Result<()> {
    let ((m, k), n) = (a.dim(), b.ncols());
    if m == 0 || n == 0 {
        return Ok(());
    }
    if k == 0 || alpha == T::zero() {
        scale(c.into_dyn(), beta);
        return Ok(());
    }
    if m * n * k <= SMALL {
        small(a, b, c, alpha, beta);
        return Ok(());
    }
    // BLAS writes a column-major C; for a row-major C compute C^T = op(B)^T op(A)^T instead.
    if let Some((b'N', ldc)) = blas_ld(&c.view()) {
        return blas_into(a, b, c.as_mut_ptr(), ldc, alpha, beta);
    }
    if let Some((b'N', ldc)) = blas_ld(&c.t()) {
        return blas_into(b.reversed_axes(), a.reversed_axes(), c.as_mut_ptr(), ldc, alpha, beta);
    }
    let mut tmp = Array2::from_shape_vec((m, n).f(), alloc::vec("gemm", m * n, T::zero())?).expect("sized");
    if beta != T::zero() {
        tmp.assign(&c);
    }
    blas_into(a, b, tmp.as_mut_ptr(), m.max(1), alpha, beta)?;
    c.assign(&tmp);
    Ok(())
}

/// Plain triple loop for tiny products, where a BLAS call's overhead exceeds the work.
fn small<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, alpha: T, beta: T) {
    let ((m, k), n) = (a.dim(), b.ncols());
    for i in 0..m {
        for j in 0..n {
            let mut acc = T::zero();
            for p in 0..k {
                // SAFETY: i < m, p < k, j < n: inside both views.
                acc = acc + unsafe { *a.uget((i, p)) * *b.uget((p, j)) };
            }
            // SAFETY: as above, for C.
            let cij = unsafe { c.uget_mut((i, j)) };
            *cij = if beta == T::zero() { alpha * acc } else { alpha * acc + beta * *cij };
        }
    }
}

/// How BLAS can read a matrix view without a copy: (b'N' column-major or b'T' row-major,
/// leading dimension), for non-negative strides with the leading one at least the other extent.
fn blas_ld<T>(v: &ArrayView2<T>) -> Option<(u8, usize)> {
    let (r, c) = v.dim();
    let s = v.strides();
    let (s0, s1) = (s[0], s[1]);
    if (s0 == 1 || r == 1) && (c == 1 || s1 >= r.max(1) as isize) {
        Some((b'N', if c == 1 { r.max(1) } else { s1 as usize }))
    } else if (s1 == 1 || c == 1) && (r == 1 || s0 >= c.max(1) as isize) {
        Some((b'T', if r == 1 { c.max(1) } else { s0 as usize }))
    } else {
        None
    }
}

/// An operand as BLAS reads it, copying into `keep` only when the view has no unit stride
/// (or a negative one).
fn operand<T: Scalar>(v: ArrayView2<T>, keep: &mut Option<Array2<T>>) -> Result<Operand<T>> {
    let (r, c) = v.dim();
    if let Some((t, ld)) = blas_ld(&v) {
        let (rows, cols) = if t == b'N' { (r, c) } else { (c, r) };
        return Ok(Operand { ptr: v.as_ptr(), trans: t, rows, cols, ld });
    }
    let mut owned = Array2::from_shape_vec((r, c).f(), alloc::vec("gemm", r * c, T::zero())?).expect("sized");
    owned.assign(&v);
    let op = Operand { ptr: owned.as_ptr(), trans: b'N', rows: r, cols: c, ld: r.max(1) };
    *keep = Some(owned);
    Ok(op)
}

/// C (column-major at `c`, leading dimension `ldc`) = alpha a b + beta C.
fn blas_into<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, c: *mut T, ldc: usize, alpha: T, beta: T) -> Result<()> {
    let (m, n) = (a.nrows(), b.ncols());
    let (mut ka, mut kb) = (None, None);
    let (oa, ob) = (operand(a, &mut ka)?, operand(b, &mut kb)?);
    // SAFETY: the operands describe live views (or copies kept alive above) read in place; C
    // is the caller's column-major view with leading dimension ldc (checked by blas_ld); the
    // Python layer copies inputs that overlap C, and rust-numpy's borrows forbid aliasing.
    unsafe { lapack::gemm(oa, ob, alpha, beta, c, m, n, ldc) }
}

/// A C-contiguous stack of tiny products, walked as raw chunks: per-matrix views would cost
/// more than the arithmetic (this is the case NumPy users meet with stacks of 4x4 matmuls).
fn small_stack<T: Scalar>(a: &[T], b: &[T], c: &mut [T], (m, n, k): (usize, usize, usize),
                          (ta, tb): (bool, bool), alpha: T, beta: T) {
    let count = c.len() / (m * n);
    // Each loop is compiled for its size, with the product inlined into it.
    let each: Loop<T> = match (m, n, k, ta, tb) {
        (4, 4, 4, false, false) => fixed::<T, 4, 4, 4, false, false>,
        (4, 4, 4, true, false) => fixed::<T, 4, 4, 4, true, false>,
        (4, 4, 4, false, true) => fixed::<T, 4, 4, 4, false, true>,
        (4, 4, 4, true, true) => fixed::<T, 4, 4, 4, true, true>,
        (3, 3, 3, false, false) => fixed::<T, 3, 3, 3, false, false>,
        (2, 2, 2, false, false) => fixed::<T, 2, 2, 2, false, false>,
        (8, 8, 8, false, false) => fixed::<T, 8, 8, 8, false, false>,
        (_, _, _, false, false) => any::<T, false, false>,
        (_, _, _, true, false) => any::<T, true, false>,
        (_, _, _, false, true) => any::<T, false, true>,
        (_, _, _, true, true) => any::<T, true, true>,
    };
    let width = if count.saturating_mul(m * n * k) >= STACK_PARALLEL_WORK {
        threads::blas_threads().min(rayon::current_num_threads()).max(1)
    } else {
        1
    };
    let per = count.div_ceil(width);
    if width > 1 {
        c.par_chunks_mut(per * m * n).zip(a.par_chunks(per * m * k).zip(b.par_chunks(per * k * n)))
            .for_each(|(c, (a, b))| each(a, b, c, (m, n, k), alpha, beta));
    } else {
        each(a, b, c, (m, n, k), alpha, beta);
    }
}

/// All products of a run of a stack: (a, b, c, (m, n, k), alpha, beta), each row-major.
type Loop<T> = fn(&[T], &[T], &mut [T], (usize, usize, usize), T, T);

/// Products of any small size; op(A)(i, p) and op(B)(p, j) by the transposes.
fn any<T: Scalar, const TA: bool, const TB: bool>(a: &[T], b: &[T], c: &mut [T], (m, n, k): (usize, usize, usize), alpha: T, beta: T) {
    for ((c, a), b) in c.chunks_exact_mut(m * n).zip(a.chunks_exact(m * k)).zip(b.chunks_exact(k * n)) {
        let av = |i: usize, p: usize| if TA { a[p * m + i] } else { a[i * k + p] };
        let bv = |p: usize, j: usize| if TB { b[j * k + p] } else { b[p * n + j] };
        let mut acc = [T::zero(); STACK_INLINE_DIM];
        for i in 0..m {
            let acc = &mut acc[..n];
            acc.fill(T::zero());
            for p in 0..k {
                let aip = av(i, p);
                for (j, x) in acc.iter_mut().enumerate() {
                    *x = *x + aip * bv(p, j);
                }
            }
            write_row(&mut c[i * n..(i + 1) * n], acc, alpha, beta);
        }
    }
}

/// M x N x K products, unrolled by the compiler for their size.
fn fixed<T: Scalar, const M: usize, const N: usize, const K: usize, const TA: bool, const TB: bool>(
    a: &[T], b: &[T], c: &mut [T], _: (usize, usize, usize), alpha: T, beta: T) {
    // With beta = 0 and a 16-byte aligned C, each product is written with non-temporal stores:
    // C is not read, so its cache lines need not be fetched first (a quarter of the traffic).
    let stream = beta == T::zero() && streams::<T>(c.as_ptr()) && (M * N * std::mem::size_of::<T>()).is_multiple_of(16);
    for ((c, a), b) in c.chunks_exact_mut(M * N).zip(a.chunks_exact(M * K)).zip(b.chunks_exact(K * N)) {
        let mut out = [[T::zero(); N]; M];
        for (i, row) in out.iter_mut().enumerate() {
            for p in 0..K {
                let aip = if TA { a[p * M + i] } else { a[i * K + p] };
                for (j, x) in row.iter_mut().enumerate() {
                    *x = *x + aip * if TB { b[j * K + p] } else { b[p * N + j] };
                }
            }
        }
        if stream {
            store_streaming(c, out.as_flattened(), alpha);
        } else {
            for (i, row) in out.iter().enumerate() {
                write_row(&mut c[i * N..(i + 1) * N], row, alpha, beta);
            }
        }
    }
    if stream {
        sfence();
    }
}

/// Whether `c` can take 16-byte non-temporal stores (x86-64 float types, 16-byte aligned).
fn streams<T: 'static>(c: *const T) -> bool {
    use std::any::TypeId;
    cfg!(target_arch = "x86_64") && (TypeId::of::<T>() == TypeId::of::<f64>() || TypeId::of::<T>() == TypeId::of::<f32>())
        && (c as usize).is_multiple_of(16)
}

/// c = alpha * x with SSE2 non-temporal stores; `c` 16-byte aligned, a multiple of 16 bytes.
#[inline(always)]
fn store_streaming<T: Scalar>(c: &mut [T], x: &[T], alpha: T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_loadu_pd, _mm_loadu_ps, _mm_stream_pd, _mm_stream_ps};
        let mut buf = [T::zero(); 64];
        let buf = &mut buf[..x.len()];
        buf.iter_mut().zip(x).for_each(|(o, &v)| *o = alpha * v);
        let bytes = std::mem::size_of_val(buf);
        assert!(c.len() >= buf.len() && bytes.is_multiple_of(16) && (c.as_ptr() as usize).is_multiple_of(16));
        // SAFETY: SSE2 is part of x86-64; `c` is aligned and long enough (asserted); the type
        // is f64 or f32 (`streams`), so the bytes are reinterpreted as what they are.
        unsafe {
            if std::mem::size_of::<T>() == 8 {
                let (d, s) = (c.as_mut_ptr() as *mut f64, buf.as_ptr() as *const f64);
                for i in (0..bytes / 8).step_by(2) {
                    _mm_stream_pd(d.add(i), _mm_loadu_pd(s.add(i)));
                }
            } else {
                let (d, s) = (c.as_mut_ptr() as *mut f32, buf.as_ptr() as *const f32);
                for i in (0..bytes / 4).step_by(4) {
                    _mm_stream_ps(d.add(i), _mm_loadu_ps(s.add(i)));
                }
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    c.iter_mut().zip(x).for_each(|(o, &v)| *o = alpha * v);
}

/// Orders the non-temporal stores before anything that follows.
fn sfence() {
    // SAFETY: SSE2 is part of x86-64.
    #[cfg(target_arch = "x86_64")]
    unsafe { std::arch::x86_64::_mm_sfence() };
}

#[inline(always)]
fn write_row<T: Scalar>(c: &mut [T], acc: &[T], alpha: T, beta: T) {
    if beta == T::zero() {
        c.iter_mut().zip(acc).for_each(|(c, &x)| *c = alpha * x);
    } else {
        c.iter_mut().zip(acc).for_each(|(c, &x)| *c = alpha * x + beta * *c);
    }
}
