//! Linear systems A X = B: LU (general), Bunch-Kaufman (symmetric or Hermitian) or Cholesky
//! (positive definite), each with LAPACK's reciprocal condition estimate for ill-conditioning
//! warnings.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, small, square, uplo, Scratch};
use crate::alloc::Need;
use crate::batch::{run, same_batch};
use crate::blas::Int;
use crate::error::{CoreError, Result};
use crate::lapack::{gecon, getrf, getrs, grown, lange, lansy, pocon, potrf, potrs, sycon, sytrf, sytrs, FMat};
use crate::layout::{batch_array, per_matrix, Mats, Stack};
use num_traits::{Float, One, Zero};

use crate::scalar::Scalar;
use crate::threads::batch_width;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assume {
    General,
    /// A = A^T (complex symmetric for complex types).
    Symmetric,
    /// A = A^H (the same as `Symmetric` for real types).
    Hermitian,
    /// Hermitian positive definite.
    Positive,
}

pub struct Solved<T: Scalar> {
    pub x: ArrayD<T>,
    /// 1-norm reciprocal condition number per matrix: exact up to `small::NATIVE_MAX` (general
    /// and positive definite), else a cheap bound or LAPACK's estimate (see `solve`); empty
    /// for 0x0 matrices.
    pub rcond: ArrayD<T::Real>,
}

/// rcond from the 1-norms of A and of its inverse.
pub(crate) fn inv_rcond<R: Float>(anorm: R, inorm: R) -> R {
    if anorm == R::zero() || inorm == R::zero() { R::zero() } else { R::one() / anorm / inorm }
}

/// Below this rcond bound a matrix is suspected of being ill-conditioned and LAPACK's estimate
/// (xGECON / xSYCON / xPOCON) is computed; above it the cheap bound stands.
const SUSPECT: f64 = 1e3;

/// From this order a C-ordered general system is factored as A^T: the memcpy saves more than the
/// transposed solves cost (examples/solve_parts.rs: "transposing load" against "memcpy", and
/// "getrs T" against "getrs N").
const TRANSPOSED_LU_FROM: usize = 128;

/// A fixed pattern of signs (+-1) for the random probe: reproducible from call to call.
fn probe<T: Scalar>(r: &mut [T]) {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for x in r.iter_mut() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        *x = if s & 1 == 0 { T::one() } else { -T::one() };
    }
}

/// The cheap conditioning test. `z` holds A^{-1} r for the sign vector r, so ||A^{-1}||_1 is at
/// least ||z||_1 / n, and rcond at most `1 / (anorm ||z||_1 / n)`; `pivots` is a second upper
/// bound where one is known (LU: n min|u_ii| / anorm, since ||L|| <= n with partial pivoting).
/// Returns that bound when it is clearly above eps, else None: then LAPACK estimates rcond.
fn cheap_rcond<T: Scalar>(anorm: T::Real, z: &[T], pivots: Option<T::Real>) -> Option<T::Real> {
    let n = <T::Real as num_traits::NumCast>::from(z.len()).unwrap_or(T::Real::one());
    let lb = z.iter().fold(T::Real::zero(), |s, v| s + v.modulus()) / n;
    let bound = inv_rcond(anorm, lb).min(pivots.unwrap_or(T::Real::infinity()));
    let suspect = T::Real::epsilon() * <T::Real as num_traits::NumCast>::from(SUSPECT).unwrap_or(T::Real::one());
    (bound.is_finite() && bound >= suspect).then_some(bound)
}

/// Solve A X = B for every matrix of the stacks `a (..., n, n)` and `b (..., n, k)`.
/// For symmetric kinds only the triangle named by `lower` is read.
///
/// rcond: exact for general matrices up to EXACT_RCOND_MAX; above, a matrix that one solve
/// with a sign vector (and, for LU, its pivots) shows to be well away from eps gets that cheap
/// bound, and only a suspect one pays for LAPACK's estimate (which costs up to ten solves).
pub fn solve<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, assume: Assume, lower: bool,
                        check_finite: bool) -> Result<Solved<T>> {
    let (a, b) = (Mats::new(a)?, Mats::new(b)?);
    square("solve", a.rows, a.cols)?;
    same_batch("solve", &a.batch, &b.batch)?;
    let (n, k) = (a.rows, b.cols);
    if b.rows != n {
        return Err(CoreError::Shape(format!("solve: a is {n}x{n} but b has {} rows", b.rows)));
    }
    let width = batch_width(a.count, n.max(k));
    Need::new().array::<T>(&[a.count, n * k + usize::from(n > 0)]).add_times(Need::new().array::<T>(&[n, n + 6]), width).check("solve")?;
    // A C-ordered A is loaded as A^T (a memcpy): symmetric kinds flip the triangle letter,
    // LU factors A^T and solves with its transpose (kappa_1(A) = kappa_inf(A^T)).
    // (For LU only from n = 128: below, the transposed solves cost more than the copy saves.
    // Not for complex Hermitian kinds, whose A^T is conj(A), another system.)
    let hermitian = T::COMPLEX && matches!(assume, Assume::Hermitian | Assume::Positive);
    let tr = a.c_ordered() && !hermitian && (assume != Assume::General || n >= TRANSPOSED_LU_FROM);
    let ul = uplo(lower, tr);
    let (trans, norm) = if tr { (b'T', b'I') } else { (b'N', b'1') };
    let mut x = Stack::<T>::new("solve", &a.batch, n, k)?;
    if n == 0 {
        // Nothing to solve, so no rcond per matrix either (a stack may hold 2^40 of them).
        return Ok(Solved { x: x.into_array(false), rcond: ndarray::ArrayD::from_elem(ndarray::IxDyn(&[0]), T::Real::infinity()) });
    }
    let mut rcond = per_matrix("solve", &a.batch, T::Real::infinity())?;
    let native = n <= small::NATIVE_MAX && matches!(assume, Assume::General | Assume::Positive);
    run(a.count, n.max(k), (x.items(), rcond.items()), Scratch::<T>::new, |i, j, s, (x, rc)| {
        let sa = if tr { a.get(i).reversed_axes() } else { a.get(i) };
        let mut f = FMat::new(grown(&mut s.a, n * n, "solve")?, n, n);
        let mut x = FMat::new(x.item(j), n, k);
        load_checked(sa, &mut f, check_finite, "a")?;
        load_checked(b.get(i), &mut x, check_finite, "b")?;
        let ipiv = grown(&mut s.ipiv, n, "solve")?;
        if native {
            rc.item(j)[0] = solve_native(assume, ul, &mut f, ipiv, &mut x, grown(&mut s.tau, n * n, "solve")?)?;
            return Ok(());
        }
        let w = &mut s.work;
        let mut z = FMat::new(grown(&mut s.tau, n, "solve")?, n, 1);
        probe(z.data);
        rc.item(j)[0] = match assume {
            Assume::General => {
                let anorm = lange(if tr { b'I' } else { b'1' }, &f, w)?;
                if let Err(e) = getrf(&mut f, ipiv) {
                    // Report the zero pivot of A's own LU, not of the A^T factored for speed.
                    if tr && matches!(e, CoreError::Lapack { info, .. } if info > 0) {
                        load_checked(a.get(i), &mut f, false, "a")?;
                        getrf(&mut f, ipiv)?;
                    }
                    return Err(e);
                }
                getrs(trans, &f.read(), ipiv, &mut x)?;
                getrs(trans, &f.read(), ipiv, &mut z)?;
                let umin = (0..n).map(|d| f.at(d, d).modulus()).fold(T::Real::infinity(), T::Real::min);
                let pivots = umin * <T::Real as num_traits::NumCast>::from(n).unwrap_or(T::Real::one()) / anorm;
                match cheap_rcond(anorm, z.data, Some(pivots)) {
                    Some(r) => r,
                    None if anorm.is_nan() => anorm, // NaN let through by check_finite=False
                    None => gecon(norm, &f, anorm, w)?,
                }
            }
            Assume::Symmetric | Assume::Hermitian => {
                let her = assume == Assume::Hermitian;
                let anorm = lansy(b'1', ul, &f, w)?;
                sytrf(ul, her, &mut f, ipiv, w)?;
                sytrs(ul, her, &f, ipiv, &mut x)?;
                sytrs(ul, her, &f, ipiv, &mut z)?;
                match cheap_rcond(anorm, z.data, None) {
                    Some(r) => r,
                    None if anorm.is_nan() => anorm,
                    None => sycon(ul, her, &f, ipiv, anorm, w)?,
                }
            }
            Assume::Positive => {
                let anorm = lansy(b'1', ul, &f, w)?;
                potrf(ul, &mut f)?;
                potrs(ul, &f.read(), &mut x)?;
                potrs(ul, &f.read(), &mut z)?;
                match cheap_rcond(anorm, z.data, None) {
                    Some(r) => r,
                    None if anorm.is_nan() => anorm,
                    None => pocon(ul, &f, anorm, w)?,
                }
            }
        };
        Ok(())
    })?;
    Ok(Solved { x: x.into_array(false), rcond: batch_array(rcond) })
}

/// A tiny system (n <= NATIVE_MAX) without LAPACK (`small`): factor, solve, and the exact
/// rcond from the inverse (computed into `inv`, n x n), which costs less than an estimate.
fn solve_native<T: Scalar>(assume: Assume, ul: u8, f: &mut FMat<T>, ipiv: &mut [Int], x: &mut FMat<T>,
                           inv: &mut [T]) -> Result<T::Real> {
    let n = f.rows;
    let lapack_error = |name: &str, info: i64| CoreError::Lapack { routine: format!("{}{name}", T::PREFIX), info, batch: 0 };
    if assume == Assume::General {
        let anorm = small::norm1(f.data, n);
        match small::getf2(f.data, n, ipiv) {
            0 => {}
            info => return Err(lapack_error("getrf", info)),
        }
        small::getrs(f.data, n, ipiv, x.data, x.cols);
        small::getri(f.data, n, ipiv, inv);
        Ok(inv_rcond(anorm, small::norm1(inv, n)))
    } else {
        // The stored triangle only: mirror it for the norm.
        for c in 0..n {
            for r in 0..n {
                let stored = if ul == b'L' { r >= c } else { r <= c };
                inv[r + c * n] = if stored { f.data[r + c * n] } else { f.data[c + r * n] };
            }
        }
        let anorm = small::norm1(inv, n);
        match small::potf2(ul, f.data, n) {
            0 => {}
            info => return Err(lapack_error("potrf", info)),
        }
        small::potrs(ul, f.data, n, x.data, x.cols);
        inv[..n * n].fill(T::zero());
        for d in 0..n {
            inv[d + d * n] = T::one();
        }
        small::potrs(ul, f.data, n, inv, n);
        Ok(inv_rcond(anorm, small::norm1(inv, n)))
    }
}
