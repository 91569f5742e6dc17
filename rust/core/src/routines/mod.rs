//! High-level routines: one file per operation. Each takes strided views of stacks
//! `(..., m, n)`, checks that its buffers fit in memory (`crate::alloc`), copies every input
//! matrix once into a column-major buffer, runs the checked LAPACK calls of `crate::lapack`
//! over the stack (`crate::batch`), and returns owned arrays. Errors carry the index of the
//! first failing matrix.

pub mod cholesky;
pub mod cond;
pub mod det;
pub mod eig;
pub mod eigh;
pub mod factored;
pub mod gemm;
pub mod gemm_alpha;
pub mod inv;
pub mod lstsq;
pub mod qr;
pub mod raw;
pub mod small;
pub mod solve;
pub mod svd;

use ndarray::ArrayView2;

use crate::blas::Int;
use crate::error::{CoreError, Result};
use crate::lapack::{FMat, Work};
use crate::layout::load;
use crate::scalar::Scalar;

/// Load one input matrix, turning NaN/Inf into an error that names the argument (the batch
/// runner adds the matrix's index).
pub(crate) fn load_checked<T: Scalar>(src: ArrayView2<T>, dst: &mut FMat<T>, check_finite: bool,
                                      arg: &'static str) -> Result<()> {
    if load(src, dst, check_finite) {
        Ok(())
    } else {
        Err(CoreError::NonFinite { arg, batch: 0, always: false })
    }
}

/// Inf even with `check_finite=False`, for the SVD-based routines: OpenBLAS's bidiagonal SVD
/// (xBDSQR, in gesvd, gesdd and gelsd) can loop forever or misreport on it (Reference-LAPACK
/// #1409, open in 0.3.34). NaN goes through: LAPACK reports it as non-convergence.
pub(crate) fn refuse_inf<T: Scalar>(xs: &[T], arg: &'static str) -> Result<()> {
    if xs.iter().any(|x| x.has_inf()) {
        return Err(CoreError::NonFinite { arg, batch: 0, always: true });
    }
    Ok(())
}

/// After a device failed during `op`: the fallback decision and the warning for the caller (a
/// lost device disables OpenCL for the process, and only the first call to see it warns). The
/// caller then computes on the CPU.
pub(crate) fn device_failed(op: &str, index: usize, decision: crate::dispatch::Decision, fail: &crate::opencl::ClFail)
                            -> (crate::dispatch::Decision, Option<String>) {
    use crate::opencl;
    let device = decision.device.clone().unwrap_or_default();
    let mut warning = Some(format!("{op} on OpenCL device {index} ({device}) failed: {fail}; computed on the CPU instead"));
    if fail.kind == opencl::FailKind::Lost {
        let first = opencl::disable(&format!("device {index} ({device}) lost: {fail}"));
        opencl::runtime::forget();
        warning = first.then(|| format!("OpenCL device {index} ({device}) was lost ({fail}); OpenCL devices are disabled \
                                         for the rest of this process and calls run on the CPU"));
    }
    log::warn!(target: "lapack_ai", "{op} fell back to the CPU: {fail}");
    let reason = format!("cpu-fallback: {} failed ({}): {fail}", device, fail.kind.name());
    (crate::dispatch::Decision::fallback(decision.device, reason), warning)
}

/// The `uplo` letter for LAPACK when the buffer may hold the transpose of the caller's matrix.
pub(crate) fn uplo(lower: bool, transposed: bool) -> u8 {
    if lower != transposed { b'L' } else { b'U' }
}

pub(crate) fn square(what: &str, m: usize, n: usize) -> Result<()> {
    if m == n {
        Ok(())
    } else {
        Err(CoreError::Shape(format!("{what}: expected square matrices, got {m}x{n}")))
    }
}

/// What one thread of a routine works in, reused from matrix to matrix: a matrix it factors
/// in place (when that is not an output), pivots, Householder scalars and LAPACK's workspace.
pub(crate) struct Scratch<T: Scalar> {
    pub a: Vec<T>,
    pub ipiv: Vec<Int>,
    pub tau: Vec<T>,
    pub work: Work<T>,
}

impl<T: Scalar> Scratch<T> {
    pub fn new() -> Self {
        Scratch { a: Vec::new(), ipiv: Vec::new(), tau: Vec::new(), work: Work::default() }
    }
}
