//! Matrix inverse by LU (getrf + getri), with the 1-norm condition number.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, small, square, Scratch};
use crate::alloc::Need;
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{getrf, getri, grown, lange, FMat};
use crate::layout::{batch_array, per_matrix, Mats, Stack};
use num_traits::Float;

use crate::scalar::Scalar;
use crate::threads::batch_width;

pub struct Inverted<T: Scalar> {
    pub x: ArrayD<T>,
    /// Exact 1-norm reciprocal condition number, 1 / (||A||_1 ||A^-1||_1): the inverse is at
    /// hand, so this costs one norm instead of an xGECON estimate. Empty for 0x0 matrices.
    pub rcond: ArrayD<T::Real>,
}

pub fn inv<T: Scalar>(a: ArrayViewD<T>, check_finite: bool) -> Result<Inverted<T>> {
    let a = Mats::new(a)?;
    square("inv", a.rows, a.cols)?;
    let n = a.rows;
    let width = batch_width(a.count, n);
    Need::new().array::<T>(&[a.count, n * n + usize::from(n > 0)]).add_times(Need::new().array::<T>(&[n, 66]), width).check("inv")?;
    let mut x = Stack::<T>::new("inv", &a.batch, n, n)?;
    if n == 0 {
        // Nothing to invert, so no rcond per matrix either (a stack may hold 2^40 of them).
        return Ok(Inverted { x: x.into_array(false), rcond: ndarray::ArrayD::from_elem(ndarray::IxDyn(&[0]), T::Real::infinity()) });
    }
    let mut rcond = per_matrix("inv", &a.batch, T::Real::infinity())?;
    {
        run(a.count, n, (x.items(), rcond.items()), Scratch::<T>::new, |i, j, s, (x, rc)| {
            let mut x = FMat::new(x.item(j), n, n);
            load_checked(a.get(i), &mut x, check_finite, "a")?;
            let anorm = lange(b'1', &x, &mut s.work)?;
            let ipiv = grown(&mut s.ipiv, n, "inv")?;
            if n <= small::NATIVE_MAX {
                // Tiny: without LAPACK (see `small`); the factors go to scratch.
                let lu = grown(&mut s.a, n * n, "inv")?;
                lu.copy_from_slice(x.data);
                match small::getf2(lu, n, ipiv) {
                    0 => small::getri(lu, n, ipiv, x.data),
                    info => return Err(CoreError::Lapack { routine: format!("{}getrf", T::PREFIX), info, batch: 0 }),
                }
            } else {
                getrf(&mut x, ipiv)?;
                getri(&mut x, ipiv, &mut s.work)?;
            }
            rc.item(j)[0] = super::solve::inv_rcond(anorm, lange(b'1', &x, &mut s.work)?);
            Ok(())
        })?;
    }
    Ok(Inverted { x: x.into_array(false), rcond: batch_array(rcond) })
}
