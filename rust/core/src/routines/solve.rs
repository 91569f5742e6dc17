//! Linear systems A X = B: LU (general), Bunch-Kaufman (symmetric) or Cholesky (positive
//! definite), each with LAPACK's reciprocal condition estimate for ill-conditioning warnings.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, uplo, Scratch};
use crate::alloc::Need;
use crate::batch::{run, same_batch};
use crate::blas::Int;
use crate::error::{CoreError, Result};
use crate::lapack::{gecon, getrf, getrs, grown, lange, lansy, pocon, potrf, potrs, sycon, sytrf, sytrs, FMat};
use crate::layout::{batch_array, per_matrix, Mats, Stack};
use crate::scalar::Scalar;
use crate::threads::batch_width;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assume {
    General,
    Symmetric,
    Positive,
}

/// Up to this order the general solver computes rcond exactly (from A^-1 through one more
/// substitution) instead of estimating it with xGECON, whose fixed cost is several times that
/// of the whole 4x4 solve.
pub const EXACT_RCOND_MAX: usize = 8;

pub struct Solved<T> {
    pub x: ArrayD<T>,
    /// 1-norm reciprocal condition number per matrix: exact for general n <= EXACT_RCOND_MAX,
    /// else LAPACK's estimate (xGECON / xSYCON / xPOCON).
    pub rcond: ArrayD<T>,
}

/// Exact 1-norm rcond from LU factors: 1 / (||A||_1 ||A^-1||_1), with A^-1 formed column by
/// column from P A = L U by plain substitution (for n <= EXACT_RCOND_MAX a LAPACK call per
/// column would cost more than the arithmetic).
pub(crate) fn exact_rcond<T: Scalar>(lu: &FMat<T>, ipiv: &[Int], anorm: T) -> T {
    let n = lu.cols;
    let mut col = [T::zero(); EXACT_RCOND_MAX];
    let mut inorm = T::zero();
    for j in 0..n {
        let x = &mut col[..n];
        x.fill(T::zero());
        x[j] = T::one();
        for (i, &p) in ipiv.iter().enumerate() {
            x.swap(i, p as usize - 1); // apply P in LAPACK's order
        }
        for i in 0..n {
            for r in i + 1..n {
                x[r] = x[r] - lu.at(r, i) * x[i]; // L has a unit diagonal
            }
        }
        for i in (0..n).rev() {
            x[i] = x[i] / lu.at(i, i);
            for r in 0..i {
                x[r] = x[r] - lu.at(r, i) * x[i];
            }
        }
        inorm = inorm.max(x.iter().map(|v| v.abs()).sum());
    }
    inv_rcond(anorm, inorm)
}

/// rcond from the 1-norms of A and of its inverse.
pub(crate) fn inv_rcond<T: Scalar>(anorm: T, inorm: T) -> T {
    if anorm == T::zero() || inorm == T::zero() { T::zero() } else { T::one() / anorm / inorm }
}

/// Solve A X = B for every matrix of the stacks `a (..., n, n)` and `b (..., n, k)`.
/// For symmetric kinds only the triangle named by `lower` is read.
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
    Need::new().array::<T>(&[a.count, n * k + 1]).add_times(Need::new().array::<T>(&[n, n + 6]), width).check("solve")?;
    // A symmetric matrix equals its transpose, so a C-ordered one may be loaded as-is
    // with the triangle letter flipped; the general case keeps LU's pivot order meaningful.
    let tr = assume != Assume::General && a.c_ordered();
    let ul = uplo(lower, tr);
    let mut x = Stack::<T>::new("solve", &a.batch, n, k)?;
    let mut rcond = per_matrix("solve", &a.batch, T::infinity())?;
    if n == 0 {
        return Ok(Solved { x: x.into_array(false), rcond: batch_array(rcond) });
    }
    run(a.count, n.max(k), (x.items(), rcond.items()), Scratch::<T>::new, |i, j, s, (x, rc)| {
        let sa = if tr { a.get(i).reversed_axes() } else { a.get(i) };
        let mut f = FMat::new(grown(&mut s.a, n * n, "solve")?, n, n);
        let mut x = FMat::new(x.item(j), n, k);
        load_checked(sa, &mut f, check_finite, "a")?;
        load_checked(b.get(i), &mut x, check_finite, "b")?;
        let ipiv = grown(&mut s.ipiv, n, "solve")?;
        let w = &mut s.work;
        rc.item(j)[0] = match assume {
            Assume::General => {
                let anorm = lange(b'1', &f, w)?;
                getrf(&mut f, ipiv)?;
                getrs(b'N', &f, ipiv, &mut x)?;
                if n <= EXACT_RCOND_MAX { exact_rcond(&f, ipiv, anorm) } else { gecon(b'1', &f, anorm, w)? }
            }
            Assume::Symmetric => {
                let anorm = lansy(b'1', ul, &f, w)?;
                sytrf(ul, &mut f, ipiv, w)?;
                sytrs(ul, &f, ipiv, &mut x)?;
                sycon(ul, &f, ipiv, anorm, w)?
            }
            Assume::Positive => {
                let anorm = lansy(b'1', ul, &f, w)?;
                potrf(ul, &mut f)?;
                potrs(ul, &f, &mut x)?;
                pocon(ul, &f, anorm, w)?
            }
        };
        Ok(())
    })?;
    Ok(Solved { x: x.into_array(false), rcond: batch_array(rcond) })
}
