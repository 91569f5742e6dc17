//! Linear systems A X = B: LU (general), Bunch-Kaufman (symmetric) or Cholesky (positive
//! definite), each with LAPACK's reciprocal condition estimate for ill-conditioning warnings.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, uplo};
use crate::batch::{run, same_batch};
use crate::error::{CoreError, Result};
use crate::lapack::{gecon, getrf, getrs, lange, lansy, pocon, potrf, potrs, sycon, sytrf, sytrs, FMat};
use crate::layout::{matrices, per_matrix, prefers_transpose, split_shape, Stack};
use crate::scalar::Scalar;

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
pub(crate) fn exact_rcond<T: Scalar>(lu: &FMat<T>, ipiv: &[i32], anorm: T) -> std::result::Result<T, crate::Info> {
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
    Ok(inv_rcond(anorm, inorm))
}

/// rcond from the 1-norms of A and of its inverse.
pub(crate) fn inv_rcond<T: Scalar>(anorm: T, inorm: T) -> T {
    if anorm == T::zero() || inorm == T::zero() { T::zero() } else { T::one() / anorm / inorm }
}

/// Solve A X = B for every matrix of the stacks `a (..., n, n)` and `b (..., n, k)`.
/// For symmetric kinds only the triangle named by `lower` is read.
pub fn solve<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, assume: Assume, lower: bool,
                        check_finite: bool) -> Result<Solved<T>> {
    let (batch, n, n2) = split_shape(a.shape())?;
    square("solve", n, n2)?;
    let (bbatch, nb, k) = split_shape(b.shape())?;
    same_batch("solve", &batch, &bbatch)?;
    if nb != n {
        return Err(CoreError::Shape(format!("solve: a is {n}x{n} but b has {nb} rows")));
    }
    let amats = matrices(a);
    // A symmetric matrix equals its transpose, so a C-ordered one may be loaded as-is
    // with the triangle letter flipped; the general case keeps LU's pivot order meaningful.
    let tr = assume != Assume::General && prefers_transpose(&amats);
    let ul = uplo(lower, tr);
    let mut f = Stack::<T>::zeros(&batch, n, n);
    let mut x = Stack::<T>::zeros(&batch, n, k);
    let mut rcond = vec![T::zero(); f.count()];
    let items: Vec<_> = amats.into_iter().zip(matrices(b)).zip(f.mats_mut()).zip(x.mats_mut())
        .zip(rcond.iter_mut()).collect();
    run(items, n.max(k), |i, ((((sa, sb), mut f), mut x), rc)| {
        let sa = if tr { sa.reversed_axes() } else { sa };
        load_checked(sa, &mut f, check_finite, "a", i)?;
        load_checked(sb, &mut x, check_finite, "b", i)?;
        if n == 0 {
            *rc = T::infinity();
            return Ok(());
        }
        let lap = |e| CoreError::lapack(e, i);
        let mut ipiv = vec![0i32; n];
        match assume {
            Assume::General => {
                let anorm = lange(b'1', &f);
                getrf(&mut f, &mut ipiv).map_err(lap)?;
                *rc = if n <= EXACT_RCOND_MAX {
                    exact_rcond(&f, &ipiv, anorm)
                } else {
                    gecon(b'1', &f, anorm)
                }
                .map_err(lap)?;
                getrs(b'N', &f, &ipiv, &mut x).map_err(lap)
            }
            Assume::Symmetric => {
                let anorm = lansy(b'1', ul, &f);
                sytrf(ul, &mut f, &mut ipiv).map_err(lap)?;
                *rc = sycon(ul, &f, &ipiv, anorm).map_err(lap)?;
                sytrs(ul, &f, &ipiv, &mut x).map_err(lap)
            }
            Assume::Positive => {
                let anorm = lansy(b'1', ul, &f);
                potrf(ul, &mut f).map_err(lap)?;
                *rc = pocon(ul, &f, anorm).map_err(lap)?;
                potrs(ul, &f, &mut x).map_err(lap)
            }
        }
    })?;
    Ok(Solved { x: x.into_array(false), rcond: per_matrix(&batch, rcond) })
}
