//! Checked, single-matrix LAPACK calls on column-major buffers.
//!
//! Each wrapper owns the workspace query and turns `info != 0` into an [`Info`] that names the
//! routine actually run. High-level routines in `routines/` compose these; the low-level
//! Python module `lapack_ai.lapack` exposes them almost one to one.

use crate::error::Info;
use crate::scalar::Scalar;

/// A column-major matrix over a borrowed buffer with leading dimension `max(1, rows)`.
pub struct FMat<'a, T> {
    pub data: &'a mut [T],
    pub rows: usize,
    pub cols: usize,
}

impl<'a, T: Scalar> FMat<'a, T> {
    pub fn new(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        assert!(data.len() >= rows * cols, "buffer too small for {rows}x{cols}");
        FMat { data, rows, cols }
    }
    pub fn ld(&self) -> i32 {
        self.rows.max(1) as i32
    }
    pub fn m(&self) -> i32 {
        self.rows as i32
    }
    pub fn n(&self) -> i32 {
        self.cols as i32
    }
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i + j * self.rows]
    }
}

fn check<T: Scalar>(name: &str, info: i32) -> Result<(), Info> {
    if info == 0 {
        Ok(())
    } else {
        Err(Info { routine: format!("{}{}", T::PREFIX, name), info })
    }
}

/// Workspace buffers sized by a query (`lwork = -1`).
fn work<T: Scalar>(query: T) -> Vec<T> {
    vec![T::zero(); query.to_usize_work()]
}

/// A dummy output for jobs that do not reference it (LAPACK still wants a valid pointer).
fn dummy<T: Scalar>() -> [T; 1] {
    [T::zero()]
}

pub fn getrf<T: Scalar>(a: &mut FMat<T>, ipiv: &mut [i32]) -> Result<(), Info> {
    let mut info = 0;
    unsafe { T::getrf(a.m(), a.n(), a.data, a.ld(), ipiv, &mut info) };
    check::<T>("getrf", info)
}

/// Up to this order, triangular solves with several right-hand sides go one column at a time:
/// OpenBLAS (0.3.21) threads getrs/potrs for any nrhs > 1, and waking its threads costs ~10 us,
/// far more than a small solve, and would oversubscribe a batch already spread over threads.
pub const COLUMNWISE_MAX_N: usize = 64;

/// Apply `solve` to all of `b`, or to each column of it when the system is small.
fn by_columns<T: Scalar>(n: usize, b: &mut FMat<T>, mut solve: impl FnMut(i32, &mut [T], i32) -> i32) -> i32 {
    if n > COLUMNWISE_MAX_N || b.cols <= 1 {
        return solve(b.n(), b.data, b.ld());
    }
    let ld = b.rows.max(1);
    for j in 0..b.cols {
        let info = solve(1, &mut b.data[j * ld..(j + 1) * ld], ld as i32);
        if info != 0 {
            return info;
        }
    }
    0
}

pub fn getrs<T: Scalar>(trans: u8, lu: &FMat<T>, ipiv: &[i32], b: &mut FMat<T>) -> Result<(), Info> {
    let info = by_columns(lu.cols, b, |nrhs, bd, ldb| {
        let mut info = 0;
        unsafe { T::getrs(trans, lu.n(), nrhs, lu.data, lu.ld(), ipiv, bd, ldb, &mut info) };
        info
    });
    check::<T>("getrs", info)
}

pub fn getri<T: Scalar>(lu: &mut FMat<T>, ipiv: &[i32]) -> Result<(), Info> {
    let (mut info, mut q) = (0, T::zero());
    let n = lu.n();
    unsafe { T::getri(n, lu.data, lu.ld(), ipiv, std::slice::from_mut(&mut q), -1, &mut info) };
    check::<T>("getri", info)?;
    let mut w = work(q);
    let lw = w.len() as i32;
    unsafe { T::getri(n, lu.data, lu.ld(), ipiv, &mut w, lw, &mut info) };
    check::<T>("getri", info)
}

/// Reciprocal condition estimate from LU factors; `norm` is b'1' or b'I'.
pub fn gecon<T: Scalar>(norm: u8, lu: &FMat<T>, anorm: T) -> Result<T, Info> {
    let n = lu.cols;
    let (mut info, mut rcond) = (0, T::zero());
    let mut w = vec![T::zero(); 4 * n.max(1)];
    let mut iw = vec![0i32; n.max(1)];
    unsafe { T::gecon(norm, n as i32, lu.data, lu.ld(), anorm, &mut rcond, &mut w, &mut iw, &mut info) };
    check::<T>("gecon", info).map(|_| rcond)
}

/// Matrix norm: b'1', b'I', b'F' or b'M'.
pub fn lange<T: Scalar>(norm: u8, a: &FMat<T>) -> T {
    let mut w = vec![T::zero(); if norm == b'I' { a.rows.max(1) } else { 1 }];
    unsafe { T::lange(norm, a.m(), a.n(), a.data, a.ld(), &mut w) }
}

/// Norm of a symmetric matrix stored in triangle `uplo`.
pub fn lansy<T: Scalar>(norm: u8, uplo: u8, a: &FMat<T>) -> T {
    let mut w = vec![T::zero(); a.cols.max(1)];
    unsafe { T::lansy(norm, uplo, a.n(), a.data, a.ld(), &mut w) }
}

pub fn potrf<T: Scalar>(uplo: u8, a: &mut FMat<T>) -> Result<(), Info> {
    let mut info = 0;
    unsafe { T::potrf(uplo, a.n(), a.data, a.ld(), &mut info) };
    check::<T>("potrf", info)
}

pub fn potrs<T: Scalar>(uplo: u8, c: &FMat<T>, b: &mut FMat<T>) -> Result<(), Info> {
    let info = by_columns(c.cols, b, |nrhs, bd, ldb| {
        let mut info = 0;
        unsafe { T::potrs(uplo, c.n(), nrhs, c.data, c.ld(), bd, ldb, &mut info) };
        info
    });
    check::<T>("potrs", info)
}

pub fn pocon<T: Scalar>(uplo: u8, c: &FMat<T>, anorm: T) -> Result<T, Info> {
    let n = c.cols;
    let (mut info, mut rcond) = (0, T::zero());
    let mut w = vec![T::zero(); 3 * n.max(1)];
    let mut iw = vec![0i32; n.max(1)];
    unsafe { T::pocon(uplo, n as i32, c.data, c.ld(), anorm, &mut rcond, &mut w, &mut iw, &mut info) };
    check::<T>("pocon", info).map(|_| rcond)
}

pub fn sytrf<T: Scalar>(uplo: u8, a: &mut FMat<T>, ipiv: &mut [i32]) -> Result<(), Info> {
    let (mut info, mut q) = (0, T::zero());
    let n = a.n();
    unsafe { T::sytrf(uplo, n, a.data, a.ld(), ipiv, std::slice::from_mut(&mut q), -1, &mut info) };
    check::<T>("sytrf", info)?;
    let mut w = work(q);
    let lw = w.len() as i32;
    unsafe { T::sytrf(uplo, n, a.data, a.ld(), ipiv, &mut w, lw, &mut info) };
    check::<T>("sytrf", info)
}

pub fn sytrs<T: Scalar>(uplo: u8, f: &FMat<T>, ipiv: &[i32], b: &mut FMat<T>) -> Result<(), Info> {
    let mut info = 0;
    unsafe { T::sytrs(uplo, f.n(), b.n(), f.data, f.ld(), ipiv, b.data, b.ld(), &mut info) };
    check::<T>("sytrs", info)
}

pub fn sycon<T: Scalar>(uplo: u8, f: &FMat<T>, ipiv: &[i32], anorm: T) -> Result<T, Info> {
    let n = f.cols;
    let (mut info, mut rcond) = (0, T::zero());
    let mut w = vec![T::zero(); 2 * n.max(1)];
    let mut iw = vec![0i32; n.max(1)];
    unsafe { T::sycon(uplo, n as i32, f.data, f.ld(), ipiv, anorm, &mut rcond, &mut w, &mut iw, &mut info) };
    check::<T>("sycon", info).map(|_| rcond)
}

pub fn geqrf<T: Scalar>(a: &mut FMat<T>, tau: &mut [T]) -> Result<(), Info> {
    let (mut info, mut q) = (0, T::zero());
    unsafe { T::geqrf(a.m(), a.n(), a.data, a.ld(), tau, std::slice::from_mut(&mut q), -1, &mut info) };
    check::<T>("geqrf", info)?;
    let mut w = work(q);
    let lw = w.len() as i32;
    unsafe { T::geqrf(a.m(), a.n(), a.data, a.ld(), tau, &mut w, lw, &mut info) };
    check::<T>("geqrf", info)
}

/// Form the first `a.cols` columns of Q from `k` reflectors stored in `a` (after geqrf).
pub fn orgqr<T: Scalar>(a: &mut FMat<T>, k: usize, tau: &[T]) -> Result<(), Info> {
    let (mut info, mut q) = (0, T::zero());
    let (m, n, k) = (a.m(), a.n(), k as i32);
    unsafe { T::orgqr(m, n, k, a.data, a.ld(), tau, std::slice::from_mut(&mut q), -1, &mut info) };
    check::<T>("orgqr", info)?;
    let mut w = work(q);
    let lw = w.len() as i32;
    unsafe { T::orgqr(m, n, k, a.data, a.ld(), tau, &mut w, lw, &mut info) };
    check::<T>("orgqr", info)
}

/// Symmetric eigen-decomposition by divide and conquer; `jobz` b'V' keeps vectors in `a`.
pub fn syevd<T: Scalar>(jobz: u8, uplo: u8, a: &mut FMat<T>, w: &mut [T]) -> Result<(), Info> {
    let (mut info, mut q, mut qi) = (0, T::zero(), 0i32);
    let n = a.n();
    unsafe {
        T::syevd(jobz, uplo, n, a.data, a.ld(), w, std::slice::from_mut(&mut q), -1,
                 std::slice::from_mut(&mut qi), -1, &mut info)
    };
    check::<T>("syevd", info)?;
    let mut wk = work(q);
    let lwk = wk.len() as i32;
    let mut iw = vec![0i32; qi.max(1) as usize];
    let liw = iw.len() as i32;
    unsafe {
        T::syevd(jobz, uplo, n, a.data, a.ld(), w, &mut wk, lwk, &mut iw, liw, &mut info)
    };
    check::<T>("syevd", info)
}

/// Minimum-norm least squares by SVD; `b` has `max(m, n)` rows. Returns the effective rank.
pub fn gelsd<T: Scalar>(a: &mut FMat<T>, b: &mut FMat<T>, s: &mut [T], rcond: T) -> Result<usize, Info> {
    let (mut info, mut q, mut qi, mut rank) = (0, T::zero(), 0i32, 0i32);
    let (m, n, nrhs) = (a.m(), a.n(), b.n());
    unsafe {
        T::gelsd(m, n, nrhs, a.data, a.ld(), b.data, b.ld(), s, rcond, &mut rank,
                 std::slice::from_mut(&mut q), -1, std::slice::from_mut(&mut qi), &mut info)
    };
    check::<T>("gelsd", info)?;
    let mut wk = work(q);
    let lwk = wk.len() as i32;
    let mut iw = vec![0i32; qi.max(1) as usize];
    unsafe {
        T::gelsd(m, n, nrhs, a.data, a.ld(), b.data, b.ld(), s, rcond, &mut rank, &mut wk,
                 lwk, &mut iw, &mut info)
    };
    check::<T>("gelsd", info).map(|_| rank as usize)
}

/// Optional singular-vector output of an SVD driver.
pub type VecOut<'a, 'b, T> = Option<&'b mut FMat<'a, T>>;

fn out_parts<'b, T: Scalar>(o: &'b mut Option<&mut FMat<'_, T>>, d: &'b mut [T; 1]) -> (&'b mut [T], i32) {
    match o {
        Some(m) => {
            let ld = m.ld();
            (&mut *m.data, ld)
        }
        None => (&mut d[..], 1),
    }
}

/// SVD by divide and conquer. `jobz`: b'A' (full), b'S' (reduced) or b'N' (values only).
pub fn gesdd<T: Scalar>(jobz: u8, a: &mut FMat<T>, s: &mut [T], mut u: VecOut<T>, mut vt: VecOut<T>) -> Result<(), Info> {
    let (m, n) = (a.m(), a.n());
    let k = a.rows.min(a.cols);
    let (mut du, mut dv) = (dummy::<T>(), dummy::<T>());
    let (u, ldu) = out_parts(&mut u, &mut du);
    let (vt, ldvt) = out_parts(&mut vt, &mut dv);
    let mut iw = vec![0i32; 8 * k.max(1)];
    let (mut info, mut q) = (0, T::zero());
    unsafe {
        T::gesdd(jobz, m, n, a.data, a.ld(), s, u, ldu, vt, ldvt, std::slice::from_mut(&mut q),
                 -1, &mut iw, &mut info)
    };
    check::<T>("gesdd", info)?;
    let mut w = work(q);
    let lw = w.len() as i32;
    unsafe {
        T::gesdd(jobz, m, n, a.data, a.ld(), s, u, ldu, vt, ldvt, &mut w, lw,
                 &mut iw, &mut info)
    };
    check::<T>("gesdd", info)
}

/// SVD by QR iteration. `jobu`/`jobvt`: b'A', b'S' or b'N'.
pub fn gesvd<T: Scalar>(jobu: u8, jobvt: u8, a: &mut FMat<T>, s: &mut [T], mut u: VecOut<T>, mut vt: VecOut<T>) -> Result<(), Info> {
    let (m, n) = (a.m(), a.n());
    let (mut du, mut dv) = (dummy::<T>(), dummy::<T>());
    let (u, ldu) = out_parts(&mut u, &mut du);
    let (vt, ldvt) = out_parts(&mut vt, &mut dv);
    let (mut info, mut q) = (0, T::zero());
    unsafe {
        T::gesvd(jobu, jobvt, m, n, a.data, a.ld(), s, u, ldu, vt, ldvt,
                 std::slice::from_mut(&mut q), -1, &mut info)
    };
    check::<T>("gesvd", info)?;
    let mut w = work(q);
    let lw = w.len() as i32;
    unsafe {
        T::gesvd(jobu, jobvt, m, n, a.data, a.ld(), s, u, ldu, vt, ldvt, &mut w, lw, &mut info)
    };
    check::<T>("gesvd", info)
}
