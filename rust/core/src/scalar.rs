//! `Scalar`: the one place where f32 and f64 meet BLAS/LAPACK.
//!
//! Every routine in `routines/` is generic over `Scalar`; the macro below binds the `s*` and
//! `d*` symbols once, so a reader sees each LAPACK signature exactly one time.

// One contract for every method, stated on the trait: arguments follow LAPACK's documentation.
#![allow(clippy::missing_safety_doc)]

use num_traits::Float;

/// A real floating-point type that LAPACK knows. All methods are thin `unsafe` forwards to the
/// Fortran routines (column-major, 32-bit integers).
///
/// # Safety
/// Callers uphold LAPACK's contracts: slices at least as long as the dimensions and leading
/// dimensions imply, workspace sizes from a query, and no aliasing between outputs.
#[allow(clippy::too_many_arguments)]
pub trait Scalar: Float + Default + Send + Sync + std::fmt::Debug + std::iter::Sum + 'static {
    /// LAPACK's type letter: "s" or "d". The actual routine name is `PREFIX + "getrf"`.
    const PREFIX: &'static str;
    /// Name numpy uses for the dtype.
    const DTYPE: &'static str;

    fn to_usize_work(self) -> usize {
        // Workspace queries return the size as a float; round up so we never under-allocate.
        self.to_f64().unwrap_or(0.0).ceil().max(1.0) as usize
    }

    unsafe fn gemm(ta: u8, tb: u8, m: i32, n: i32, k: i32, alpha: Self, a: &[Self], lda: i32,
                   b: &[Self], ldb: i32, beta: Self, c: &mut [Self], ldc: i32);
    unsafe fn gesdd(jobz: u8, m: i32, n: i32, a: &mut [Self], lda: i32, s: &mut [Self],
                    u: &mut [Self], ldu: i32, vt: &mut [Self], ldvt: i32, work: &mut [Self],
                    lwork: i32, iwork: &mut [i32], info: &mut i32);
    unsafe fn gesvd(jobu: u8, jobvt: u8, m: i32, n: i32, a: &mut [Self], lda: i32,
                    s: &mut [Self], u: &mut [Self], ldu: i32, vt: &mut [Self], ldvt: i32,
                    work: &mut [Self], lwork: i32, info: &mut i32);
    unsafe fn getrf(m: i32, n: i32, a: &mut [Self], lda: i32, ipiv: &mut [i32], info: &mut i32);
    unsafe fn getrs(trans: u8, n: i32, nrhs: i32, a: &[Self], lda: i32, ipiv: &[i32],
                    b: &mut [Self], ldb: i32, info: &mut i32);
    unsafe fn getri(n: i32, a: &mut [Self], lda: i32, ipiv: &[i32], work: &mut [Self],
                    lwork: i32, info: &mut i32);
    unsafe fn gecon(norm: u8, n: i32, a: &[Self], lda: i32, anorm: Self, rcond: &mut Self,
                    work: &mut [Self], iwork: &mut [i32], info: &mut i32);
    unsafe fn lange(norm: u8, m: i32, n: i32, a: &[Self], lda: i32, work: &mut [Self]) -> Self;
    unsafe fn lansy(norm: u8, uplo: u8, n: i32, a: &[Self], lda: i32, work: &mut [Self]) -> Self;
    unsafe fn potrf(uplo: u8, n: i32, a: &mut [Self], lda: i32, info: &mut i32);
    unsafe fn potrs(uplo: u8, n: i32, nrhs: i32, a: &[Self], lda: i32, b: &mut [Self],
                    ldb: i32, info: &mut i32);
    unsafe fn pocon(uplo: u8, n: i32, a: &[Self], lda: i32, anorm: Self, rcond: &mut Self,
                    work: &mut [Self], iwork: &mut [i32], info: &mut i32);
    unsafe fn sytrf(uplo: u8, n: i32, a: &mut [Self], lda: i32, ipiv: &mut [i32],
                    work: &mut [Self], lwork: i32, info: &mut i32);
    unsafe fn sytrs(uplo: u8, n: i32, nrhs: i32, a: &[Self], lda: i32, ipiv: &[i32],
                    b: &mut [Self], ldb: i32, info: &mut i32);
    unsafe fn sycon(uplo: u8, n: i32, a: &[Self], lda: i32, ipiv: &[i32], anorm: Self,
                    rcond: &mut Self, work: &mut [Self], iwork: &mut [i32], info: &mut i32);
    unsafe fn geqrf(m: i32, n: i32, a: &mut [Self], lda: i32, tau: &mut [Self],
                    work: &mut [Self], lwork: i32, info: &mut i32);
    unsafe fn orgqr(m: i32, n: i32, k: i32, a: &mut [Self], lda: i32, tau: &[Self],
                    work: &mut [Self], lwork: i32, info: &mut i32);
    unsafe fn syevd(jobz: u8, uplo: u8, n: i32, a: &mut [Self], lda: i32, w: &mut [Self],
                    work: &mut [Self], lwork: i32, iwork: &mut [i32], liwork: i32, info: &mut i32);
    unsafe fn gelsd(m: i32, n: i32, nrhs: i32, a: &mut [Self], lda: i32, b: &mut [Self],
                    ldb: i32, s: &mut [Self], rcond: Self, rank: &mut i32, work: &mut [Self],
                    lwork: i32, iwork: &mut [i32], info: &mut i32);
}

macro_rules! impl_scalar {
    ($t:ty, $prefix:literal, $dtype:literal, $gemm:ident, $gesdd:ident, $gesvd:ident,
     $getrf:ident, $getrs:ident, $getri:ident, $gecon:ident, $lange:ident, $lansy:ident,
     $potrf:ident, $potrs:ident, $pocon:ident, $sytrf:ident, $sytrs:ident, $sycon:ident,
     $geqrf:ident, $orgqr:ident, $syevd:ident, $gelsd:ident) => {
        impl Scalar for $t {
            const PREFIX: &'static str = $prefix;
            const DTYPE: &'static str = $dtype;
            unsafe fn gemm(ta: u8, tb: u8, m: i32, n: i32, k: i32, alpha: Self, a: &[Self],
                           lda: i32, b: &[Self], ldb: i32, beta: Self, c: &mut [Self], ldc: i32) {
                blas::$gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
            }
            unsafe fn gesdd(jobz: u8, m: i32, n: i32, a: &mut [Self], lda: i32, s: &mut [Self],
                            u: &mut [Self], ldu: i32, vt: &mut [Self], ldvt: i32,
                            work: &mut [Self], lwork: i32, iwork: &mut [i32], info: &mut i32) {
                lapack::$gesdd(jobz, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, iwork, info)
            }
            unsafe fn gesvd(jobu: u8, jobvt: u8, m: i32, n: i32, a: &mut [Self], lda: i32,
                            s: &mut [Self], u: &mut [Self], ldu: i32, vt: &mut [Self],
                            ldvt: i32, work: &mut [Self], lwork: i32, info: &mut i32) {
                lapack::$gesvd(jobu, jobvt, m, n, a, lda, s, u, ldu, vt, ldvt, work, lwork, info)
            }
            unsafe fn getrf(m: i32, n: i32, a: &mut [Self], lda: i32, ipiv: &mut [i32],
                            info: &mut i32) {
                lapack::$getrf(m, n, a, lda, ipiv, info)
            }
            unsafe fn getrs(trans: u8, n: i32, nrhs: i32, a: &[Self], lda: i32, ipiv: &[i32],
                            b: &mut [Self], ldb: i32, info: &mut i32) {
                lapack::$getrs(trans, n, nrhs, a, lda, ipiv, b, ldb, info)
            }
            unsafe fn getri(n: i32, a: &mut [Self], lda: i32, ipiv: &[i32], work: &mut [Self],
                            lwork: i32, info: &mut i32) {
                lapack::$getri(n, a, lda, ipiv, work, lwork, info)
            }
            unsafe fn gecon(norm: u8, n: i32, a: &[Self], lda: i32, anorm: Self,
                            rcond: &mut Self, work: &mut [Self], iwork: &mut [i32],
                            info: &mut i32) {
                lapack::$gecon(norm, n, a, lda, anorm, rcond, work, iwork, info)
            }
            unsafe fn lange(norm: u8, m: i32, n: i32, a: &[Self], lda: i32,
                            work: &mut [Self]) -> Self {
                lapack::$lange(norm, m, n, a, lda, work)
            }
            unsafe fn lansy(norm: u8, uplo: u8, n: i32, a: &[Self], lda: i32,
                            work: &mut [Self]) -> Self {
                lapack::$lansy(norm, uplo, n, a, lda, work)
            }
            unsafe fn potrf(uplo: u8, n: i32, a: &mut [Self], lda: i32, info: &mut i32) {
                lapack::$potrf(uplo, n, a, lda, info)
            }
            unsafe fn potrs(uplo: u8, n: i32, nrhs: i32, a: &[Self], lda: i32, b: &mut [Self],
                            ldb: i32, info: &mut i32) {
                lapack::$potrs(uplo, n, nrhs, a, lda, b, ldb, info)
            }
            unsafe fn pocon(uplo: u8, n: i32, a: &[Self], lda: i32, anorm: Self,
                            rcond: &mut Self, work: &mut [Self], iwork: &mut [i32],
                            info: &mut i32) {
                lapack::$pocon(uplo, n, a, lda, anorm, rcond, work, iwork, info)
            }
            unsafe fn sytrf(uplo: u8, n: i32, a: &mut [Self], lda: i32, ipiv: &mut [i32],
                            work: &mut [Self], lwork: i32, info: &mut i32) {
                lapack::$sytrf(uplo, n, a, lda, ipiv, work, lwork, info)
            }
            unsafe fn sytrs(uplo: u8, n: i32, nrhs: i32, a: &[Self], lda: i32, ipiv: &[i32],
                            b: &mut [Self], ldb: i32, info: &mut i32) {
                lapack::$sytrs(uplo, n, nrhs, a, lda, ipiv, b, ldb, info)
            }
            unsafe fn sycon(uplo: u8, n: i32, a: &[Self], lda: i32, ipiv: &[i32], anorm: Self,
                            rcond: &mut Self, work: &mut [Self], iwork: &mut [i32],
                            info: &mut i32) {
                lapack::$sycon(uplo, n, a, lda, ipiv, anorm, rcond, work, iwork, info)
            }
            unsafe fn geqrf(m: i32, n: i32, a: &mut [Self], lda: i32, tau: &mut [Self],
                            work: &mut [Self], lwork: i32, info: &mut i32) {
                lapack::$geqrf(m, n, a, lda, tau, work, lwork, info)
            }
            unsafe fn orgqr(m: i32, n: i32, k: i32, a: &mut [Self], lda: i32, tau: &[Self],
                            work: &mut [Self], lwork: i32, info: &mut i32) {
                lapack::$orgqr(m, n, k, a, lda, tau, work, lwork, info)
            }
            unsafe fn syevd(jobz: u8, uplo: u8, n: i32, a: &mut [Self], lda: i32,
                            w: &mut [Self], work: &mut [Self], lwork: i32, iwork: &mut [i32],
                            liwork: i32, info: &mut i32) {
                lapack::$syevd(jobz, uplo, n, a, lda, w, work, lwork, iwork, liwork, info)
            }
            unsafe fn gelsd(m: i32, n: i32, nrhs: i32, a: &mut [Self], lda: i32,
                            b: &mut [Self], ldb: i32, s: &mut [Self], rcond: Self,
                            rank: &mut i32, work: &mut [Self], lwork: i32, iwork: &mut [i32],
                            info: &mut i32) {
                lapack::$gelsd(m, n, nrhs, a, lda, b, ldb, s, rcond, rank, work, lwork, iwork,
                               info)
            }
        }
    };
}

impl_scalar!(f64, "d", "float64", dgemm, dgesdd, dgesvd, dgetrf, dgetrs, dgetri, dgecon, dlange,
             dlansy, dpotrf, dpotrs, dpocon, dsytrf, dsytrs, dsycon, dgeqrf, dorgqr, dsyevd,
             dgelsd);
impl_scalar!(f32, "s", "float32", sgemm, sgesdd, sgesvd, sgetrf, sgetrs, sgetri, sgecon, slange,
             slansy, spotrf, spotrs, spocon, ssytrf, ssytrs, ssycon, sgeqrf, sorgqr, ssyevd,
             sgelsd);
