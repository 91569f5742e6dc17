//! Sign and log of |det| from an LU factorisation (NumPy's slogdet; det derives from it).

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, small, square, Scratch};
use crate::alloc::Need;
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{getrf, grown, FMat};
use crate::layout::{batch_array, per_matrix, Mats};
use num_traits::{Float, ToPrimitive, Zero};

use crate::scalar::Scalar;
use crate::threads::batch_width;

/// Returns `(sign, logabsdet)` per matrix; a singular matrix gives `(0, -inf)`, not an error.
/// For complex types the sign is a complex number of modulus 1, as in NumPy.
pub fn slogdet<T: Scalar>(a: ArrayViewD<T>, check_finite: bool) -> Result<(ArrayD<T>, ArrayD<T::Real>)> {
    let a = Mats::new(a)?;
    square("slogdet", a.rows, a.cols)?;
    let n = a.rows;
    let width = batch_width(a.count, n);
    Need::new().array::<T>(&[a.count, 2]).add_times(Need::new().array::<T>(&[n, n + 1]), width).check("slogdet")?;
    let tr = a.c_ordered(); // det(A^T) = det(A)
    let mut sign = per_matrix("slogdet", &a.batch, T::one())?;
    let mut logdet = per_matrix("slogdet", &a.batch, T::Real::zero())?;
    if n > 0 {
        run(a.count, n, (sign.items(), logdet.items()), Scratch::<T>::new, |i, j, s, (sign, logdet)| {
            let src = if tr { a.get(i).reversed_axes() } else { a.get(i) };
            let mut w = FMat::new(grown(&mut s.a, n * n, "slogdet")?, n, n);
            load_checked(src, &mut w, check_finite, "a")?;
            let ipiv = grown(&mut s.ipiv, n, "slogdet")?;
            let lu = if n <= small::NATIVE_MAX {
                match small::getf2(w.data, n, ipiv) {
                    0 => Ok(()),
                    info => Err(CoreError::Lapack { routine: String::new(), info, batch: 0 }),
                }
            } else {
                getrf(&mut w, ipiv)
            };
            let (sg, ld) = match lu {
                Err(CoreError::Lapack { info, .. }) if info > 0 => (T::zero(), T::Real::neg_infinity()),
                Err(e) => return Err(e),
                Ok(()) => {
                    // Accumulated in f64, so a float32 product of n phases stays on the unit
                    // circle to its last bit (NumPy's tests check det to 1e-6 absolute).
                    let (mut sr, mut si, mut ld) = (1.0f64, 0.0f64, 0.0f64);
                    for (k, &p) in ipiv.iter().enumerate() {
                        let d = w.at(k, k);
                        let r = d.modulus().to_f64().unwrap_or(f64::NAN);
                        // d / |d|: the sign of a real pivot, the phase of a complex one.
                        let (dr, di) = (d.re().to_f64().unwrap_or(f64::NAN) / r, d.im().to_f64().unwrap_or(f64::NAN) / r);
                        (sr, si) = (sr * dr - si * di, sr * di + si * dr);
                        if p as usize != k + 1 {
                            (sr, si) = (-sr, -si);
                        }
                        ld += r.ln();
                    }
                    let sg = T::from_parts(sr, si).unwrap_or_else(|| T::from_real(real(sr)));
                    (sg, real(ld))
                }
            };
            sign.item(j)[0] = sg;
            logdet.item(j)[0] = ld;
            Ok(())
        })?;
    }
    Ok((batch_array(sign), batch_array(logdet)))
}

fn real<R: Float>(x: f64) -> R {
    R::from(x).unwrap_or_else(R::nan)
}

/// Determinant as `sign * exp(logabsdet)`, as NumPy computes it (overflow gives +-inf).
pub fn det<T: Scalar>(a: ArrayViewD<T>, check_finite: bool) -> Result<ArrayD<T>> {
    let (mut sign, logdet) = slogdet(a, check_finite)?;
    sign.zip_mut_with(&logdet, |s, &l| *s = *s * T::from_real(l.exp()));
    Ok(sign)
}
