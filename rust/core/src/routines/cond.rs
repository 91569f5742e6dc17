//! LAPACK's reciprocal condition estimate (gecon / pocon) without solving anything.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, Scratch};
use crate::alloc::Need;
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{gecon, getrf, grown, lange, lansy, pocon, potrf, FMat};
use crate::layout::{batch_array, per_matrix, Mats};
use num_traits::{Float, Zero};

use crate::scalar::Scalar;
use crate::threads::batch_width;

/// `norm`: b'1' or b'I'. `positive`: A is symmetric (Hermitian) positive definite (lower triangle read),
/// estimated through Cholesky. A singular general matrix gives 0, not an error.
pub fn rcond<T: Scalar>(a: ArrayViewD<T>, norm: u8, positive: bool, check_finite: bool) -> Result<ArrayD<T::Real>> {
    let a = Mats::new(a)?;
    square("rcond", a.rows, a.cols)?;
    let n = a.rows;
    let width = batch_width(a.count, n);
    Need::new().array::<T>(&[a.count]).add_times(Need::new().array::<T>(&[n, n + 5]), width).check("rcond")?;
    let tr = a.c_ordered();
    // kappa_1(A) = kappa_inf(A^T); for symmetric A both norms agree.
    let norm = match (tr, norm) {
        (true, b'1') => b'I',
        (true, _) => b'1',
        (false, nm) => nm,
    };
    let ul = if tr { b'U' } else { b'L' };
    let mut out = per_matrix("rcond", &a.batch, T::Real::infinity())?;
    if n > 0 {
        run(a.count, n, out.items(), Scratch::<T>::new, |i, j, s, out| {
            let src = if tr { a.get(i).reversed_axes() } else { a.get(i) };
            let mut w = FMat::new(grown(&mut s.a, n * n, "rcond")?, n, n);
            load_checked(src, &mut w, check_finite, "a")?;
            out.item(j)[0] = if positive {
                let anorm = lansy(b'1', ul, &w, &mut s.work)?;
                potrf(ul, &mut w)?;
                // xPOCON and xGECON reject a NaN norm (NaN let through by check_finite=False).
                if anorm.is_nan() { anorm } else { pocon(ul, &w, anorm, &mut s.work)? }
            } else {
                let anorm = lange(norm, &w, &mut s.work)?;
                match getrf(&mut w, grown(&mut s.ipiv, n, "rcond")?) {
                    Err(CoreError::Lapack { info, .. }) if info > 0 => T::Real::zero(),
                    Err(e) => return Err(e),
                    Ok(()) if anorm.is_nan() => anorm,
                    Ok(()) => gecon(norm, &w, anorm, &mut s.work)?,
                }
            };
            Ok(())
        })?;
    }
    Ok(batch_array(out))
}
