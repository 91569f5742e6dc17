//! Cholesky factor (potrf); the unused triangle of the result is zeroed.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, uplo};
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::potrf;
use crate::layout::{matrices, prefers_transpose, split_shape, Stack};
use crate::scalar::Scalar;

/// `lower`: read A's lower triangle and return L with A = L L^T; else the upper and U^T U.
pub fn cholesky<T: Scalar>(a: ArrayViewD<T>, lower: bool, check_finite: bool) -> Result<ArrayD<T>> {
    let (batch, n, n2) = split_shape(a.shape())?;
    square("cholesky", n, n2)?;
    let mats = matrices(a);
    let tr = prefers_transpose(&mats);
    let ul = uplo(lower, tr);
    let mut w = Stack::<T>::zeros(&batch, n, n);
    let items: Vec<_> = mats.into_iter().zip(w.mats_mut()).collect();
    run(items, n, |i, (src, mut w)| {
        let src = if tr { src.reversed_axes() } else { src };
        load_checked(src, &mut w, check_finite, "a", i)?;
        potrf(ul, &mut w).map_err(|e| CoreError::lapack(e, i))?;
        for j in 0..n {
            for r in 0..n {
                if (ul == b'L' && r < j) || (ul == b'U' && r > j) {
                    w.data[r + j * n] = T::zero();
                }
            }
        }
        Ok(())
    })?;
    Ok(w.into_array(tr))
}
