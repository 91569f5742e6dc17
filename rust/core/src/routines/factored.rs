//! LU factors kept for reuse (getrf), and solves with factors the caller already holds:
//! `lu_solve` (getrs), `cho_solve` (potrs), `solve_triangular` (trtrs). Each takes stacks
//! with equal batch shapes (the facade broadcasts) and never modifies its inputs.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, uplo, Scratch};
use crate::alloc::Need;
use crate::batch::{run, same_batch};
use crate::blas::Int;
use crate::error::{CoreError, Result};
use crate::lapack::{getrf, getrs, grown, potrs, trtrs, FMat, FRef};
use crate::layout::{all_finite, Mats, Stack, VecStack};
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

/// A = P L U of every (m x n) matrix of `a` (SciPy's lu): row indices `p` with A = L[p] U
/// (so P[j, p[j]] = 1), L (m x k, unit lower trapezoidal) and U (k x n, upper trapezoidal),
/// k = min(m, n). A singular matrix is not an error: U has a zero on its diagonal.
pub fn lu<T: Scalar>(a: ArrayViewD<T>, check_finite: bool) -> Result<(ArrayD<Int>, ArrayD<T>, ArrayD<T>)> {
    let a = Mats::new(a)?;
    let (m, n) = (a.rows, a.cols);
    let k = m.min(n);
    let width = batch_width(a.count, m.max(n));
    Need::new().array::<T>(&[a.count, m + n, k]).array::<Int>(&[a.count, m])
        .add_times(Need::new().array::<T>(&[m, n]).array::<Int>(&[2 * m]), width).check("lu")?;
    let mut p = VecStack::<Int>::new("lu", &a.batch, m)?;
    let mut l = Stack::<T>::new("lu", &a.batch, m, k)?;
    let mut u = Stack::<T>::new("lu", &a.batch, k, n)?;
    if m > 0 {
        run(a.count, m.max(n), (p.items(), l.items(), u.items()), Scratch::<T>::new, |i, j, s, (p, l, u)| {
            let mut f = FMat::new(grown(&mut s.a, m * n, "lu")?, m, n);
            load_checked(a.get(i), &mut f, check_finite, "a")?;
            let ipiv = grown(&mut s.ipiv, 2 * m, "lu")?;
            let (ipiv, rows) = ipiv.split_at_mut(m);
            if k > 0 {
                match getrf(&mut f, &mut ipiv[..k]) {
                    Err(CoreError::Lapack { info, .. }) if info > 0 => {}
                    r => r?,
                }
            }
            // Replay the interchanges: row i of L U is row rows[i] of A; p inverts that.
            rows.iter_mut().enumerate().for_each(|(r, x)| *x = r as Int);
            for (r, &q) in ipiv[..k].iter().enumerate() {
                rows.swap(r, q as usize - 1);
            }
            let p = p.item(j);
            for (r, &x) in rows.iter().enumerate() {
                p[x as usize] = r as Int;
            }
            let (l, u) = (l.item(j), u.item(j));
            for c in 0..k {
                l[c + c * m] = T::one();
                l[c * m + c + 1..(c + 1) * m].copy_from_slice(&f.data[c * m + c + 1..(c + 1) * m]);
            }
            for c in 0..n {
                let top = (c + 1).min(k);
                u[c * k..c * k + top].copy_from_slice(&f.data[c * m..c * m + top]);
            }
            Ok(())
        })?;
    }
    Ok((p.into_array(), l.into_array(false), u.into_array(false)))
}

/// How `with_factor` may read a caller's factor in place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum InPlace {
    /// Only column-major storage (LU factors: their transpose is another matrix).
    Columns,
    /// Row-major storage too, handed over as the transpose (the solve then flips its letters).
    Transposed,
}

/// Solve with the factor (n x n, named `arg` in errors) of each matrix of a stack: the factor
/// is read in place when its storage allows (`InPlace`), else copied into a column-major
/// scratch buffer; the right-hand sides are copied into the result, which the solve
/// overwrites. `check`: whether NaN/Inf are refused in (the factor, b). `solve(i, factor, transposed, x)`: `transposed` says the factor given is A^T.
type SolveWith<'s, T> = dyn Fn(usize, &FRef<T>, bool, &mut FMat<T>) -> Result<()> + Sync + 's;

fn with_factor<T: Scalar>(op: &'static str, arg: &'static str, f: ArrayViewD<T>, b: ArrayViewD<T>,
                          (check_factor, check_b): (bool, bool), in_place: InPlace, solve: &SolveWith<T>)
                          -> Result<ArrayD<T>> {
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
            let mut xm = FMat::new(x.item(j), n, k);
            load_checked(b.get(i), &mut xm, check_b, "b")?;
            let v = f.get(i);
            let direct = FRef::of(&v).map(|r| (r, false)).or_else(|| {
                (in_place == InPlace::Transposed).then(|| FRef::of(&f.get(i).reversed_axes()).map(|r| (r, true))).flatten()
            });
            if let Some((fr, transposed)) = direct {
                // Along the contiguous lines of the storage: in logical order a column-major
                // factor is read with a cache miss per element.
                let mut lines = if transposed { v.rows() } else { v.columns() }.into_iter();
                if check_factor && !lines.all(|l| l.as_slice().map_or_else(|| l.iter().all(|z| !z.has_nan() && !z.has_inf()), all_finite)) {
                    return Err(CoreError::NonFinite { arg, batch: 0, always: false });
                }
                return solve(i, &fr, transposed, &mut xm);
            }
            let mut fm = FMat::new(grown(&mut s.a, n * n, op)?, n, n);
            load_checked(v, &mut fm, check_factor, arg)?;
            solve(i, &fm.read(), false, &mut xm)
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
    // As SciPy: `check_finite` checks b; the factors come from lu_factor, which checked its
    // input (NaN in them gives NaN in x, nothing worse).
    with_factor("lu_solve", "lu", lu, b, (false, check_finite), InPlace::Columns, &|i, f, _, x| {
        let ipiv: Vec<Int> = pm.get(i).iter().map(|p| p + 1).collect();
        getrs(trans, f, &ipiv, x)
    })
}

/// Solve A X = B from a Cholesky factor (`lower`: A = L L^H from the lower triangle, else
/// A = U^H U from the upper). Only that triangle of `c` is read.
pub fn cho_solve<T: Scalar>(c: ArrayViewD<T>, b: ArrayViewD<T>, lower: bool, check_finite: bool) -> Result<ArrayD<T>> {
    // A row-major factor is read as its transpose in the other triangle: for real types
    // U^T U with U = L^T is the same A; for complex ones it would be conj(A), so they copy.
    let in_place = if T::COMPLEX { InPlace::Columns } else { InPlace::Transposed };
    with_factor("cho_solve", "c", c, b, (check_finite, check_finite), in_place, &|_, f, transposed, x| {
        potrs(uplo(lower, transposed), f, x)
    })
}

/// Solve op(A) X = B for triangular A (`trans` b'N', b'T' or b'C'; `unit`: the diagonal is
/// taken as ones and not read). A zero on the diagonal is a singular-matrix error naming it.
pub fn solve_triangular<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, trans: u8, lower: bool, unit: bool,
                                   check_finite: bool) -> Result<ArrayD<T>> {
    let diag = if unit { b'U' } else { b'N' };
    let trans = if trans == b'C' && !T::COMPLEX { b'T' } else { trans };
    // A row-major A is read as A^T (SciPy does the same): op(A) = A is (A^T)^T, so N and T
    // swap and the triangle flips; A^H = conj(A^T) has no such letter, so 'C' copies.
    let in_place = if trans == b'C' { InPlace::Columns } else { InPlace::Transposed };
    with_factor("solve_triangular", "a", a, b, (check_finite, check_finite), in_place, &|_, f, transposed, x| {
        let t = match (transposed, trans) {
            (true, b'N') => b'T',
            (true, _) => b'N',
            (false, t) => t,
        };
        trtrs(uplo(lower, transposed), t, diag, f, x)
    })
}
