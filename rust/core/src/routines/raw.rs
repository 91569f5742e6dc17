//! Single-matrix LAPACK calls that return LAPACK's own outputs (factors, pivots, tau), for
//! the low-level `lapack_ai.lapack` module. Pivots are 1-based, as LAPACK returns them.

use ndarray::{Array1, Array2, ArrayView2, ShapeBuilder};

use super::{load_checked, square};
use crate::alloc::{self, Need};
use crate::blas::Int;
use crate::error::{CoreError, Result};
use crate::lapack::{self, FMat, Work};
use crate::scalar::Scalar;

/// Copy a 2-D view into a fresh Fortran-ordered array (allocated fallibly).
fn fcopy<T: Scalar>(routine: &str, a: ArrayView2<T>, arg: &'static str, check_finite: bool) -> Result<Array2<T>> {
    let (m, n) = a.dim();
    Need::new().array::<T>(&[m, n]).check(routine)?;
    let data = alloc::vec(routine, m * n, T::zero())?;
    let mut out = Array2::from_shape_vec((m, n).f(), data).expect("sized");
    let mut f = FMat::new(out.as_slice_memory_order_mut().expect("fresh"), m, n);
    load_checked(a, &mut f, check_finite, arg)?;
    Ok(out)
}

fn fmat<T: Scalar>(a: &mut Array2<T>) -> FMat<'_, T> {
    let (m, n) = a.dim();
    FMat::new(a.as_slice_memory_order_mut().expect("fortran array"), m, n)
}

fn pivots(routine: &str, n: usize) -> Result<Vec<Int>> {
    alloc::vec(routine, n, 0)
}

/// LU with partial pivoting: (L and U packed, 1-based pivots).
pub fn getrf<T: Scalar>(a: ArrayView2<T>, check_finite: bool) -> Result<(Array2<T>, Array1<Int>)> {
    let mut lu = fcopy("getrf", a, "a", check_finite)?;
    let mut ipiv = pivots("getrf", lu.nrows().min(lu.ncols()))?;
    lapack::getrf(&mut fmat(&mut lu), &mut ipiv)?;
    Ok((lu, Array1::from(ipiv)))
}

/// Solve through LU: (LU, pivots, X).
pub fn gesv<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, check_finite: bool) -> Result<(Array2<T>, Array1<Int>, Array2<T>)> {
    square("gesv", a.nrows(), a.ncols())?;
    if b.nrows() != a.nrows() {
        return Err(CoreError::Shape(format!("gesv: a is {:?} but b has {} rows", a.dim(), b.nrows())));
    }
    let mut lu = fcopy("gesv", a, "a", check_finite)?;
    let mut x = fcopy("gesv", b, "b", check_finite)?;
    let mut ipiv = pivots("gesv", lu.nrows())?;
    let mut f = fmat(&mut lu);
    lapack::getrf(&mut f, &mut ipiv)?;
    lapack::getrs(b'N', &f.read(), &ipiv, &mut fmat(&mut x))?;
    Ok((lu, Array1::from(ipiv), x))
}

/// Cholesky factor in triangle `uplo`; with `clean` the other triangle is zeroed.
pub fn potrf<T: Scalar>(a: ArrayView2<T>, uplo: u8, clean: bool, check_finite: bool) -> Result<Array2<T>> {
    square("potrf", a.nrows(), a.ncols())?;
    let mut c = fcopy("potrf", a, "a", check_finite)?;
    lapack::potrf(uplo, &mut fmat(&mut c))?;
    if clean {
        let n = c.nrows();
        for j in 0..n {
            for i in 0..n {
                if (uplo == b'L' && i < j) || (uplo == b'U' && i > j) {
                    c[[i, j]] = T::zero();
                }
            }
        }
    }
    Ok(c)
}

/// Solve with a Cholesky factorisation: (factor, X).
pub fn posv<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, uplo: u8, check_finite: bool) -> Result<(Array2<T>, Array2<T>)> {
    square("posv", a.nrows(), a.ncols())?;
    if b.nrows() != a.nrows() {
        return Err(CoreError::Shape(format!("posv: a is {:?} but b has {} rows", a.dim(), b.nrows())));
    }
    let mut c = fcopy("posv", a, "a", check_finite)?;
    let mut x = fcopy("posv", b, "b", check_finite)?;
    let mut f = fmat(&mut c);
    lapack::potrf(uplo, &mut f)?;
    lapack::potrs(uplo, &f.read(), &mut fmat(&mut x))?;
    Ok((c, x))
}

/// Householder QR: (R above the diagonal and reflectors below, tau).
pub fn geqrf<T: Scalar>(a: ArrayView2<T>, check_finite: bool) -> Result<(Array2<T>, Array1<T>)> {
    let mut qr = fcopy("geqrf", a, "a", check_finite)?;
    let mut tau = alloc::vec("geqrf", qr.nrows().min(qr.ncols()), T::zero())?;
    lapack::geqrf(&mut fmat(&mut qr), &mut tau, &mut Work::default())?;
    Ok((qr, Array1::from(tau)))
}

/// Form Q (m x n) from the first k = len(tau) reflectors held in `qr`.
pub fn orgqr<T: Scalar>(qr: ArrayView2<T>, tau: &[T]) -> Result<Array2<T>> {
    let (m, n) = qr.dim();
    if tau.len() > n || n > m {
        return Err(CoreError::Shape(format!(
            "orgqr: need len(tau) <= n <= m, got m={m}, n={n}, len(tau)={}", tau.len()
        )));
    }
    let mut q = fcopy("orgqr", qr, "a", false)?;
    lapack::orgqr(&mut fmat(&mut q), tau.len(), tau, &mut Work::default())?;
    Ok(q)
}

/// Reciprocal condition number from LU factors and the norm of the original matrix.
pub fn gecon<T: Scalar>(lu: ArrayView2<T>, anorm: T::Real, norm: u8) -> Result<T::Real> {
    square("gecon", lu.nrows(), lu.ncols())?;
    let mut f = fcopy("gecon", lu, "lu", false)?;
    lapack::gecon(norm, &fmat(&mut f), anorm, &mut Work::default())
}

/// Reciprocal condition number from a Cholesky factor and the 1-norm of the original matrix.
pub fn pocon<T: Scalar>(c: ArrayView2<T>, anorm: T::Real, uplo: u8) -> Result<T::Real> {
    square("pocon", c.nrows(), c.ncols())?;
    let mut f = fcopy("pocon", c, "c", false)?;
    lapack::pocon(uplo, &fmat(&mut f), anorm, &mut Work::default())
}

/// Inverse from LU factors and 1-based pivots (as returned by [`getrf`]).
pub fn getri<T: Scalar>(lu: ArrayView2<T>, ipiv: &[Int]) -> Result<Array2<T>> {
    let n = lu.nrows();
    if lu.ncols() != n || ipiv.len() != n || ipiv.iter().any(|&p| p < 1 || p as usize > n) {
        return Err(CoreError::Shape(format!(
            "getri: need square lu and n pivots in 1..=n, got {:?} and {} pivots", lu.dim(), ipiv.len()
        )));
    }
    let mut x = fcopy("getri", lu, "lu", false)?;
    lapack::getri(&mut fmat(&mut x), ipiv, &mut Work::default())?;
    Ok(x)
}
