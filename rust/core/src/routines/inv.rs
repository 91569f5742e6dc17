//! Matrix inverse by LU (getrf + getri), with the 1-norm condition estimate.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square};
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{getrf, getri, lange};
use crate::layout::{matrices, per_matrix, split_shape, Stack};
use crate::scalar::Scalar;

pub struct Inverted<T> {
    pub x: ArrayD<T>,
    /// Exact 1-norm reciprocal condition number, 1 / (||A||_1 ||A^-1||_1): the inverse is at
    /// hand, so this costs one norm instead of an xGECON estimate.
    pub rcond: ArrayD<T>,
}

pub fn inv<T: Scalar>(a: ArrayViewD<T>, check_finite: bool) -> Result<Inverted<T>> {
    let (batch, n, n2) = split_shape(a.shape())?;
    square("inv", n, n2)?;
    let mut x = Stack::<T>::zeros(&batch, n, n);
    let mut rcond = vec![T::infinity(); x.count()];
    let items: Vec<_> = matrices(a).into_iter().zip(x.mats_mut()).zip(rcond.iter_mut()).collect();
    run(items, n, |i, ((src, mut x), rc)| {
        load_checked(src, &mut x, check_finite, "a", i)?;
        if n == 0 {
            return Ok(());
        }
        let lap = |e| CoreError::lapack(e, i);
        let anorm = lange(b'1', &x);
        let mut ipiv = vec![0i32; n];
        getrf(&mut x, &mut ipiv).map_err(lap)?;
        getri(&mut x, &ipiv).map_err(lap)?;
        *rc = super::solve::inv_rcond(anorm, lange(b'1', &x));
        Ok(())
    })?;
    Ok(Inverted { x: x.into_array(false), rcond: per_matrix(&batch, rcond) })
}
