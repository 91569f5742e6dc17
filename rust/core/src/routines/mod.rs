//! High-level routines: one file per operation. Each takes strided views of stacks
//! `(..., m, n)`, copies every input matrix once into a column-major buffer, runs the
//! checked LAPACK calls of `crate::lapack` over the stack (`crate::batch`), and returns
//! owned arrays. Errors carry the index of the first failing matrix.

pub mod cholesky;
pub mod cond;
pub mod det;
pub mod eigh;
pub mod gemm;
pub mod inv;
pub mod lstsq;
pub mod qr;
pub mod raw;
pub mod solve;
pub mod svd;

use ndarray::ArrayView2;

use crate::error::{CoreError, Result};
use crate::lapack::FMat;
use crate::layout::load;
use crate::scalar::Scalar;

/// Load one input matrix, turning NaN/Inf into an error that names the argument and matrix.
pub(crate) fn load_checked<T: Scalar>(src: ArrayView2<T>, dst: &mut FMat<T>, check_finite: bool,
                                      arg: &'static str, batch: usize) -> Result<()> {
    if load(src, dst, check_finite) {
        Ok(())
    } else {
        Err(CoreError::NonFinite { arg, batch })
    }
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
