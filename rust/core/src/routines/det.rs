//! Sign and log of |det| from an LU factorisation (NumPy's slogdet; det derives from it).

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square};
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::getrf;
use crate::layout::{matrices, per_matrix, prefers_transpose, split_shape, Stack};
use crate::scalar::Scalar;

/// Returns `(sign, logabsdet)` per matrix; a singular matrix gives `(0, -inf)`, not an error.
pub fn slogdet<T: Scalar>(a: ArrayViewD<T>, check_finite: bool) -> Result<(ArrayD<T>, ArrayD<T>)> {
    let (batch, n, n2) = split_shape(a.shape())?;
    square("slogdet", n, n2)?;
    let mats = matrices(a);
    let tr = prefers_transpose(&mats); // det(A^T) = det(A)
    let mut w = Stack::<T>::zeros(&batch, n, n);
    let mut out = vec![(T::one(), T::zero()); w.count()];
    let items: Vec<_> = mats.into_iter().zip(w.mats_mut()).zip(out.iter_mut()).collect();
    run(items, n, |i, ((src, mut w), out)| {
        let src = if tr { src.reversed_axes() } else { src };
        load_checked(src, &mut w, check_finite, "a", i)?;
        let mut ipiv = vec![0i32; n];
        match getrf(&mut w, &mut ipiv) {
            Err(e) if e.info > 0 => {
                *out = (T::zero(), T::neg_infinity());
                Ok(())
            }
            Err(e) => Err(CoreError::lapack(e, i)),
            Ok(()) => {
                let (mut sign, mut logdet) = (T::one(), T::zero());
                for (j, &p) in ipiv.iter().enumerate() {
                    let d = w.at(j, j);
                    if (p as usize != j + 1) != (d < T::zero()) {
                        sign = -sign;
                    }
                    logdet = logdet + d.abs().ln();
                }
                *out = (sign, logdet);
                Ok(())
            }
        }
    })?;
    let (sign, logdet): (Vec<T>, Vec<T>) = out.into_iter().unzip();
    Ok((per_matrix(&batch, sign), per_matrix(&batch, logdet)))
}

/// Determinant as `sign * exp(logabsdet)`, as NumPy computes it (overflow gives +-inf).
pub fn det<T: Scalar>(a: ArrayViewD<T>, check_finite: bool) -> Result<ArrayD<T>> {
    let (sign, logdet) = slogdet(a, check_finite)?;
    Ok(ndarray::Zip::from(&sign).and(&logdet).map_collect(|&s, &l| s * l.exp()))
}
