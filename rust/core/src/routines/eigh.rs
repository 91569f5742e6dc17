//! Symmetric eigenvalues (ascending) and eigenvectors by divide and conquer (syevd).

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, uplo};
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::syevd;
use crate::layout::{matrices, prefers_transpose, split_shape, Stack, VecStack};
use crate::scalar::Scalar;

pub fn eigh<T: Scalar>(a: ArrayViewD<T>, lower: bool, vectors: bool, check_finite: bool)
                       -> Result<(ArrayD<T>, Option<ArrayD<T>>)> {
    let (batch, n, n2) = split_shape(a.shape())?;
    square("eigh", n, n2)?;
    let mats = matrices(a);
    let tr = prefers_transpose(&mats); // symmetric: read the mirrored triangle of A^T
    let ul = uplo(lower, tr);
    let mut v = Stack::<T>::zeros(&batch, n, n);
    let mut w = VecStack::<T>::zeros(&batch, n);
    let items: Vec<_> = mats.into_iter().zip(v.mats_mut()).zip(w.slices_mut()).collect();
    let jobz = if vectors { b'V' } else { b'N' };
    run(items, n, |i, ((src, mut v), w)| {
        let src = if tr { src.reversed_axes() } else { src };
        load_checked(src, &mut v, check_finite, "a", i)?;
        syevd(jobz, ul, &mut v, w).map_err(|e| CoreError::lapack(e, i))
    })?;
    Ok((w.into_array(), vectors.then(|| v.into_array(false))))
}
