//! LAPACK's reciprocal condition estimate (gecon / pocon) without solving anything.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square};
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{gecon, getrf, lange, lansy, pocon, potrf};
use crate::layout::{matrices, per_matrix, prefers_transpose, split_shape, Stack};
use crate::scalar::Scalar;

/// `norm`: b'1' or b'I'. `positive`: A is symmetric positive definite (lower triangle read),
/// estimated through Cholesky. A singular general matrix gives 0, not an error.
pub fn rcond<T: Scalar>(a: ArrayViewD<T>, norm: u8, positive: bool, check_finite: bool)
                        -> Result<ArrayD<T>> {
    let (batch, n, n2) = split_shape(a.shape())?;
    square("rcond", n, n2)?;
    let mats = matrices(a);
    let tr = prefers_transpose(&mats);
    // kappa_1(A) = kappa_inf(A^T); for symmetric A both norms agree.
    let norm = match (tr, norm) {
        (true, b'1') => b'I',
        (true, _) => b'1',
        (false, nm) => nm,
    };
    let ul = if tr { b'U' } else { b'L' };
    let mut w = Stack::<T>::zeros(&batch, n, n);
    let mut out = vec![T::infinity(); w.count()];
    let items: Vec<_> = mats.into_iter().zip(w.mats_mut()).zip(out.iter_mut()).collect();
    run(items, n, |i, ((src, mut w), out)| {
        let src = if tr { src.reversed_axes() } else { src };
        load_checked(src, &mut w, check_finite, "a", i)?;
        if n == 0 {
            return Ok(());
        }
        let lap = |e| CoreError::lapack(e, i);
        if positive {
            let anorm = lansy(b'1', ul, &w);
            potrf(ul, &mut w).map_err(lap)?;
            *out = pocon(ul, &w, anorm).map_err(lap)?;
        } else {
            let anorm = lange(norm, &w);
            let mut ipiv = vec![0i32; n];
            *out = match getrf(&mut w, &mut ipiv) {
                Err(e) if e.info > 0 => T::zero(),
                Err(e) => return Err(lap(e)),
                Ok(()) => gecon(norm, &w, anorm).map_err(lap)?,
            };
        }
        Ok(())
    })?;
    Ok(per_matrix(&batch, out))
}
