//! LU factors kept for reuse (getrf), and solves with factors the caller already holds:
//! `lu_solve` (getrs), `cho_solve` (potrs), `solve_triangular` (trtrs). Each takes stacks
//! with equal batch shapes (the facade broadcasts) and never modifies its inputs.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, Scratch};
use crate::alloc::Need;
use crate::batch::{run, same_batch};
use crate::blas::Int;
use crate::error::{CoreError, Result};
use crate::lapack::{getrf, getrs, grown, potrs, trtrs, FMat};
use crate::layout::{Mats, Stack, VecStack};
use crate::scalar::Scalar;
use crate::threads::batch_width;

pub struct LuFactors<T> {
    /// L (unit diagonal, not stored) and U in one matrix per input, as xGETRF leaves them.
    pub lu: ArrayD<T>,
    /// 0-based row interchanges: row i was swapped with row piv[i] (SciPy's convention).
    pub piv: ArrayD<Int>,
    /// Per matrix: 0, or the 1-based index of the first exactly zero diagonal of U.
    pub info: ArrayD<Int>,
}

/// LU with partial pivoting of every (m x n) matrix of `a`. A singular matrix is not an error
/// here (SciPy's lu_factor warns and returns its factors): `info` says where U is zero.
pub fn lu_factor<T: Scalar>(a: ArrayViewD<T>, check_finite: bool) -> Result<LuFactors<T>> {
    let a = Mats::new(a)?;
    let (m, n) = (a.rows, a.cols);
    let k = m.min(n);
    Need::new().array::<T>(&[a.count, m, n]).array::<Int>(&[a.count, k + 1]).check("lu_factor")?;
    let mut lu = Stack::<T>::new("lu_factor", &a.batch, m, n)?;
    let mut piv = VecStack::<Int>::new("lu_factor", &a.batch, k)?;
    let mut info = VecStack::<Int>::new("lu_factor", &a.batch, 1)?;
    if k > 0 {
        run(a.count, m.max(n), (lu.items(), piv.items(), info.items()), || (), |i, j, _, (lu, piv, info)| {
            let mut f = FMat::new(lu.item(j), m, n);
            load_checked(a.get(i), &mut f, check_finite, "a")?;
            let p = piv.item(j);
            info.item(j)[0] = match getrf(&mut f, p) {
                Err(CoreError::Lapack { info, .. }) if info > 0 => info,
                Err(e) => return Err(e),
                Ok(()) => 0,
            };
            p.iter_mut().for_each(|x| *x -= 1);
            Ok(())
        })?;
    }
    let mut info = info.into_array();
    let d = info.ndim();
    info = info.index_axis_move(ndarray::Axis(d - 1), 0);
    Ok(LuFactors { lu: lu.into_array(false), piv: piv.into_array(), info })
}

/// Load the factor (n x n, named `arg` in errors) and right-hand sides of matrix `i` and run
/// `solve` on them.
fn with_factor<T: Scalar>(op: &'static str, arg: &'static str, f: ArrayViewD<T>, b: ArrayViewD<T>, check_finite: bool,
                          solve: impl Fn(usize, &FMat<T>, &mut FMat<T>) -> Result<()> + Sync) -> Result<ArrayD<T>> {
    let (f, b) = (Mats::new(f)?, Mats::new(b)?);
    square(op, f.rows, f.cols)?;
    same_batch(op, &f.batch, &b.batch)?;
    let (n, k) = (f.rows, b.cols);
    if b.rows != n {
        return Err(CoreError::Shape(format!("{op}: the factor is {n}x{n} but b has {} rows", b.rows)));
    }
    let width = batch_width(f.count, n.max(k));
    Need::new().array::<T>(&[f.count, n, k]).add_times(Need::new().array::<T>(&[n, n]), width).check(op)?;
    let mut x = Stack::<T>::new(op, &b.batch, n, k)?;
    if n > 0 && k > 0 {
        run(f.count, n.max(k), x.items(), Scratch::<T>::new, |i, j, s, x| {
            let mut fm = FMat::new(grown(&mut s.a, n * n, op)?, n, n);
            load_checked(f.get(i), &mut fm, check_finite, arg)?;
            let mut xm = FMat::new(x.item(j), n, k);
            load_checked(b.get(i), &mut xm, check_finite, "b")?;
            solve(i, &fm, &mut xm)
        })?;
    }
    Ok(x.into_array(false))
}

/// Solve op(A) X = B from `lu_factor`'s factors and 0-based pivots (`trans` b'N', b'T', b'C').
/// Pivots outside 0..n are refused: LAPACK would swap rows outside the matrix.
pub fn lu_solve<T: Scalar>(lu: ArrayViewD<T>, piv: ArrayViewD<Int>, b: ArrayViewD<T>, trans: u8,
                           check_finite: bool) -> Result<ArrayD<T>> {
    let n = lu.shape().last().copied().unwrap_or(0);
    let d = piv.ndim();
    let pm = Mats::new(piv.view().insert_axis(ndarray::Axis(d)))?;
    if pm.rows != n || pm.cols != 1 {
        return Err(CoreError::Shape(format!("lu_solve: piv must hold {n} pivots per matrix, got {}", pm.rows)));
    }
    let lb = lu.shape();
    if lb.len() >= 2 {
        same_batch("lu_solve", &pm.batch, &lb[..lb.len() - 2])?;
    }
    if let Some(&p) = piv.iter().find(|&&p| p < 0 || p as usize >= n) {
        return Err(CoreError::Shape(format!("lu_solve: pivot {p} is outside 0..{n}; pass lu_factor's piv unchanged")));
    }
    let trans = if trans == b'C' && !T::COMPLEX { b'T' } else { trans };
    with_factor("lu_solve", "lu", lu, b, check_finite, |i, f, x| {
        let ipiv: Vec<Int> = pm.get(i).iter().map(|p| p + 1).collect();
        getrs(trans, f, &ipiv, x)
    })
}

/// Solve A X = B from a Cholesky factor (`lower`: A = L L^H from the lower triangle, else
/// A = U^H U from the upper). Only that triangle of `c` is read.
pub fn cho_solve<T: Scalar>(c: ArrayViewD<T>, b: ArrayViewD<T>, lower: bool, check_finite: bool) -> Result<ArrayD<T>> {
    let ul = if lower { b'L' } else { b'U' };
    with_factor("cho_solve", "c", c, b, check_finite, |_, f, x| potrs(ul, f, x))
}

/// Solve op(A) X = B for triangular A (`trans` b'N', b'T' or b'C'; `unit`: the diagonal is
/// taken as ones and not read). A zero on the diagonal is a singular-matrix error naming it.
pub fn solve_triangular<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, trans: u8, lower: bool, unit: bool,
                                   check_finite: bool) -> Result<ArrayD<T>> {
    let ul = if lower { b'L' } else { b'U' };
    let diag = if unit { b'U' } else { b'N' };
    with_factor("solve_triangular", "a", a, b, check_finite, |_, f, x| trtrs(ul, trans, diag, f, x))
}
