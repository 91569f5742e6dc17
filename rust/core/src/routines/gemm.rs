//! C = alpha op(A) op(B) + beta C over stacks, with xGEMM semantics.
//!
//! No input is copied when BLAS can read it as it lies (unit stride along one axis); C is
//! written in place. Tiny products skip BLAS, whose call overhead dominates at 4x4.

use ndarray::{Array2, ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis, ShapeBuilder};
use rayon::prelude::*;

use crate::batch::{run, same_batch};
use crate::dispatch::{self, Backend, Decision, Problem, Request};
use crate::opencl::{self, gemm::{KernelChoice, Run}, FailKind};
use crate::error::{CoreError, Result};
use crate::layout::{matrices, matrices_mut, split_shape};
use crate::scalar::Scalar;

/// Products with m*n*k at or below this run in a plain loop (BLAS wins from 6x6x6 on).
pub const SMALL: usize = 5 * 5 * 5;

/// Products with m*n*k at or above this are split into column blocks of C, one per rayon
/// thread (one call is faster at 128^3, the split wins at 512^3: compare
/// `RAYON_NUM_THREADS=1 python -m lapack_ai.benchmark --ops gemm --sizes 128 512` with the default), each a single-threaded BLAS call (OpenBLAS itself runs with one thread, see
/// `crate::threads`).
const SPLIT: usize = 256 * 256 * 256;

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
        return Err(CoreError::Shape(format!(
            "gemm: op(a) is {am}x{k}, op(b) is {kb}x{bn}, c is {m}x{n}"
        )));
    }
    Ok((bcb.iter().product(), m, n, k))
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
            let device = decision.device.clone().unwrap_or_default();
            let mut warning = Some(format!("gemm on OpenCL device {index} ({device}) failed: {fail}; computed on the CPU instead"));
            if fail.kind == FailKind::Lost {
                let first = opencl::disable(&format!("device {index} ({device}) lost: {fail}"));
                opencl::runtime::forget();
                warning = first.then(|| format!("OpenCL device {index} ({device}) was lost ({fail}); OpenCL devices are disabled \
                                                 for the rest of this process and calls run on the CPU"));
            }
            log::warn!(target: "lapack_ai", "gemm fell back to the CPU: {fail}");
            gemm(a, b, c, alpha, beta, trans_a, trans_b)?;
            let decision = Decision::fallback(decision.device, format!("cpu-fallback: {} failed ({}): {fail}", device, fail.kind.name()));
            dispatch::record("gemm", &decision);
            Ok(Outcome { decision, run: None, warning })
        }
    }
}

pub fn gemm<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, c: ArrayViewMutD<T>, alpha: T, beta: T,
                       trans_a: bool, trans_b: bool) -> Result<()> {
    let (_, m, n, k) = dims(a.shape(), b.shape(), c.shape(), trans_a, trans_b)?;
    if m * n * k > 0 && m * n * k <= SMALL {
        if let (Some(sa), Some(sb)) = (a.as_slice(), b.as_slice()) {
            let mut c = c;
            if let Some(sc) = c.as_slice_mut() {
                small_stack(sa, sb, sc, (m, n, k), (trans_a, trans_b), alpha, beta);
                return Ok(());
            }
            return generic(a, b, c, alpha, beta, trans_a, trans_b, (m, n, k));
        }
    }
    generic(a, b, c, alpha, beta, trans_a, trans_b, (m, n, k))
}

/// Any layout: one view per matrix.
#[allow(clippy::too_many_arguments)]
fn generic<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, c: ArrayViewMutD<T>, alpha: T, beta: T,
                      trans_a: bool, trans_b: bool, (m, n, k): (usize, usize, usize)) -> Result<()> {
    let items: Vec<_> = matrices(a).into_iter().zip(matrices(b)).zip(matrices_mut(c)).collect();
    run(items, m.max(n).max(k), |_, ((a, b), c)| {
        let a = if trans_a { a.reversed_axes() } else { a };
        let b = if trans_b { b.reversed_axes() } else { b };
        gemm1(a, b, c, alpha, beta);
        Ok(())
    })
}

/// A C-contiguous stack of tiny products, walked as raw chunks: per-matrix views would cost
/// more than the arithmetic (this is the case NumPy users meet with stacks of 4x4 matmuls).
fn small_stack<T: Scalar>(a: &[T], b: &[T], c: &mut [T], (m, n, k): (usize, usize, usize),
                          (ta, tb): (bool, bool), alpha: T, beta: T) {
    // Element strides (row, column) of op(A) and op(B) inside one row-major matrix.
    let sa = if ta { (1, m) } else { (k, 1) };
    let sb = if tb { (1, k) } else { (n, 1) };
    let one = |(c, (a, b)): (&mut [T], (&[T], &[T]))| {
        for i in 0..m {
            let crow = &mut c[i * n..(i + 1) * n];
            if beta == T::zero() {
                crow.fill(T::zero());
            } else {
                crow.iter_mut().for_each(|v| *v = beta * *v);
            }
            for p in 0..k {
                let aip = alpha * a[i * sa.0 + p * sa.1];
                if sb.1 == 1 {
                    for (cv, &bv) in crow.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                        *cv = *cv + aip * bv;
                    }
                } else {
                    for (j, cv) in crow.iter_mut().enumerate() {
                        *cv = *cv + aip * b[p * sb.0 + j * sb.1];
                    }
                }
            }
        }
    };
    let count = c.len() / (m * n);
    if crate::batch::parallel(count, m.max(n).max(k)) {
        c.par_chunks_mut(m * n).zip(a.par_chunks(m * k).zip(b.par_chunks(k * n)))
            .with_min_len(256).for_each(one);
    } else {
        c.chunks_mut(m * n).zip(a.chunks(m * k).zip(b.chunks(k * n))).for_each(one);
    }
}

/// One product; `a` and `b` are already op(A) and op(B).
pub fn gemm1<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, alpha: T, beta: T) {
    let ((m, k), n) = (a.dim(), b.ncols());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha == T::zero() {
        // BLAS: A and B are not read; beta = 0 sets C without reading it (NaN must not leak).
        if beta == T::zero() {
            c.fill(T::zero());
        } else {
            c.mapv_inplace(|v| beta * v);
        }
        return;
    }
    if m * n * k <= SMALL {
        small(a, b, c, alpha, beta);
        return;
    }
    // BLAS writes a column-major C; for a row-major C compute C^T = op(B)^T op(A)^T instead.
    if blas_layout(c.view()) == Some(b'N') {
        blas_into(a, b, c, alpha, beta);
    } else if blas_layout(c.t()) == Some(b'N') {
        blas_into(b.reversed_axes(), a.reversed_axes(), c.reversed_axes(), alpha, beta);
    } else {
        let mut tmp = Array2::<T>::zeros((m, n).f());
        if beta != T::zero() {
            tmp.assign(&c);
        }
        blas_into(a, b, tmp.view_mut(), alpha, beta);
        c.assign(&tmp);
    }
}

/// Plain triple loop for tiny products, where a BLAS call's overhead exceeds the work.
fn small<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, alpha: T, beta: T) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (sa, sb, sc) = (a.strides(), b.strides(), c.strides());
    let (sa0, sa1, sb0, sb1, sc0, sc1) = (sa[0], sa[1], sb[0], sb[1], sc[0], sc[1]);
    let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    if sb1 == 1 && sc1 == 1 {
        // Rows of B and C are contiguous (the usual C-ordered stack): i-p-j order keeps the
        // inner loop on unit stride so it vectorises.
        for i in 0..m as isize {
            // SAFETY: row i of C has n contiguous elements.
            let crow = unsafe { std::slice::from_raw_parts_mut(pc.offset(i * sc0), n) };
            if beta == T::zero() {
                crow.fill(T::zero());
            } else {
                crow.iter_mut().for_each(|v| *v = beta * *v);
            }
            for p in 0..k as isize {
                // SAFETY: i < m, p < k; row p of B has n contiguous elements.
                let aip = alpha * unsafe { *pa.offset(i * sa0 + p * sa1) };
                let brow = unsafe { std::slice::from_raw_parts(pb.offset(p * sb0), n) };
                for (cv, &bv) in crow.iter_mut().zip(brow) {
                    *cv = *cv + aip * bv;
                }
            }
        }
        return;
    }
    for j in 0..n as isize {
        for i in 0..m as isize {
            let mut acc = T::zero();
            for p in 0..k as isize {
                // SAFETY: i < m, p < k, j < n and the strides are the views' own.
                acc = acc + unsafe { *pa.offset(i * sa0 + p * sa1) * *pb.offset(p * sb0 + j * sb1) };
            }
            // SAFETY: as above, for C.
            let cij = unsafe { &mut *pc.offset(i * sc0 + j * sc1) };
            *cij = if beta == T::zero() { alpha * acc } else { alpha * acc + beta * *cij };
        }
    }
}

/// How BLAS can read a matrix view without a copy: b'N' (column-major), b'T' (row-major).
fn blas_layout<T>(v: ArrayView2<T>) -> Option<u8> {
    blas_ld(&v).map(|(t, _)| t)
}

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

/// An operand as BLAS wants it: (trans letter, leading dimension, slice), copying only when
/// the view has no unit stride (or a negative one).
fn operand<'v, T: Scalar>(v: ArrayView2<'v, T>, keep: &'v mut Option<Array2<T>>) -> (u8, usize, &'v [T]) {
    let (r, c) = v.dim();
    if let Some((t, ld)) = blas_ld(&v) {
        let extent = if t == b'N' { ld * (c - 1) + r } else { ld * (r - 1) + c };
        // SAFETY: the view's elements lie within `extent` elements from its first element.
        return (t, ld, unsafe { std::slice::from_raw_parts(v.as_ptr(), extent) });
    }
    let owned = keep.insert(Array2::zeros((r, c).f()));
    owned.assign(&v);
    (b'N', r.max(1), owned.as_slice_memory_order().expect("fresh array"))
}

fn blas_into<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, alpha: T, beta: T) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let threads = rayon::current_num_threads();
    if m * n * k < SPLIT || threads < 2 || n < 2 * threads {
        return blas_block(a, b, c, alpha, beta);
    }
    // Column blocks of C (and of op(B)) are disjoint, so the threads never share output.
    let width = n.div_ceil(threads);
    let blocks: Vec<_> = c.axis_chunks_iter_mut(Axis(1), width).zip(b.axis_chunks_iter(Axis(1), width)).collect();
    blocks.into_par_iter().for_each(|(cb, bb)| blas_block(a, bb, cb, alpha, beta));
}

fn blas_block<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, alpha: T, beta: T) {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (mut ka, mut kb) = (None, None);
    let (ta, lda, sa) = operand(a, &mut ka);
    let (tb, ldb, sb) = operand(b, &mut kb);
    let (_, ldc) = blas_ld(&c.view()).expect("caller checked C is column-major");
    let extent = ldc * (n - 1) + m;
    // SAFETY: C is column-major with leading dimension ldc, so it spans `extent` elements.
    let sc = unsafe { std::slice::from_raw_parts_mut(c.as_mut_ptr(), extent) };
    unsafe {
        T::gemm(ta, tb, m as i32, n as i32, k as i32, alpha, sa, lda as i32, sb, ldb as i32, beta,
                sc, ldc as i32)
    };
}
