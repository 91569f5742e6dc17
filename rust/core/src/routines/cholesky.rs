//! Cholesky factor (potrf); the unused triangle of the result is zeroed.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, small, square, uplo};
use crate::alloc::Need;
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{potrf, FMat};
use crate::layout::{Mats, Stack};
use crate::scalar::Scalar;

/// `lower`: read A's lower triangle and return L with A = L L^H; else the upper and U^H U.
/// `clean`: zero the other triangle; else it keeps A's entries there, as LAPACK leaves them
/// (SciPy's cho_factor returns that).
pub fn cholesky<T: Scalar>(a: ArrayViewD<T>, lower: bool, clean: bool, check_finite: bool) -> Result<ArrayD<T>> {
    let a = Mats::new(a)?;
    square("cholesky", a.rows, a.cols)?;
    let n = a.rows;
    Need::new().array::<T>(&[a.count, n, n]).check("cholesky")?;
    let tr = a.c_ordered();
    let ul = uplo(lower, tr);
    let mut w = Stack::<T>::new("cholesky", &a.batch, n, n)?;
    if n > 0 {
        run(a.count, n, w.items(), || (), |i, j, _, w| {
            let src = if tr { a.get(i).reversed_axes() } else { a.get(i) };
            let mut w = FMat::new(w.item(j), n, n);
            load_checked(src, &mut w, check_finite, "a")?;
            if n <= small::NATIVE_MAX {
                match small::potf2(ul, w.data, n) {
                    0 => {}
                    info => return Err(CoreError::Lapack { routine: format!("{}potrf", T::PREFIX), info, batch: 0 }),
                }
            } else {
                potrf(ul, &mut w)?;
            }
            for c in (0..n).filter(|_| clean) {
                let col = &mut w.data[c * n..(c + 1) * n];
                let zero = if ul == b'L' { &mut col[..c] } else { &mut col[c + 1..] };
                zero.iter_mut().for_each(|x| *x = T::zero());
            }
            Ok(())
        })?;
    }
    Ok(w.into_array(tr))
}
