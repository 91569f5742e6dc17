//! Checked, single-matrix LAPACK calls on column-major buffers: the one gate every LAPACK call
//! goes through.
//!
//! Each wrapper checks the buffers against the dimensions and leading dimensions it hands over
//! (so LAPACK can neither read nor write outside them), sizes workspace from LAPACK's query but
//! never below the documented minimum (computed in 64-bit arithmetic), allocates it fallibly,
//! and turns `info != 0` into `CoreError::Lapack` naming the routine actually run. `Work` keeps
//! the workspace of one thread, so a stack of matrices queries and allocates once.

use crate::alloc;
use crate::blas::{self, Fns, Int};
use crate::error::{CoreError, Result};
use crate::scalar::Scalar;

/// A column-major matrix over a borrowed buffer with leading dimension `max(1, rows)`.
pub struct FMat<'a, T> {
    pub data: &'a mut [T],
    pub rows: usize,
    pub cols: usize,
}

impl<'a, T: Scalar> FMat<'a, T> {
    /// Panics if `data` is shorter than `rows * cols` (a bug in the caller, which sized it).
    pub fn new(data: &'a mut [T], rows: usize, cols: usize) -> Self {
        let need = rows.checked_mul(cols).expect("matrix size overflows");
        assert!(data.len() >= need, "buffer of {} too small for {rows}x{cols}", data.len());
        assert!(Int::try_from(rows.max(cols)).is_ok(), "dimension beyond 64-bit BLAS");
        FMat { data, rows, cols }
    }
    pub fn ld(&self) -> Int {
        self.rows.max(1) as Int
    }
    pub fn m(&self) -> Int {
        self.rows as Int
    }
    pub fn n(&self) -> Int {
        self.cols as Int
    }
    pub fn at(&self, i: usize, j: usize) -> T {
        self.data[i + j * self.rows]
    }
}

/// LAPACK's workspace for one thread, reused from matrix to matrix of a stack.
pub struct Work<T> {
    work: Vec<T>,
    iwork: Vec<Int>,
    /// The last workspace query and its answer (lwork, liwork): a stack asks once.
    query: Option<(Query, usize, usize)>,
}

/// What a workspace query depends on: routine, job letters and dimensions.
type Query = (&'static str, [u8; 2], [usize; 3]);

impl<T: Scalar> Default for Work<T> {
    fn default() -> Self {
        Work { work: Vec::new(), iwork: Vec::new(), query: None }
    }
}

/// Grow `v` to at least `n` elements, fallibly.
fn grow<X: Clone + Default>(v: &mut Vec<X>, n: usize, routine: &str) -> Result<()> {
    if v.len() < n {
        v.try_reserve_exact(n - v.len()).map_err(|_| alloc::memory(routine, alloc::bytes::<X>(&[n]), alloc::available()))?;
        v.resize(n, X::default());
    }
    Ok(())
}

/// The first `n` elements of `v`, grown fallibly if needed (per-thread scratch buffers).
pub fn grown<'v, X: Clone + Default>(v: &'v mut Vec<X>, n: usize, routine: &str) -> Result<&'v mut [X]> {
    grow(v, n, routine)?;
    Ok(&mut v[..n])
}

impl<T: Scalar> Work<T> {
    fn ensure(&mut self, lwork: usize, liwork: usize, routine: &str) -> Result<()> {
        grow(&mut self.work, lwork.max(1), routine)?;
        grow(&mut self.iwork, liwork.max(1), routine)
    }
    /// `(lwork, liwork)` for `key`, asking `ask` only when the key changed.
    fn sizes(&mut self, key: Query, ask: impl FnOnce() -> Result<(usize, usize)>) -> Result<(usize, usize)> {
        if let Some((k, l, li)) = self.query {
            if k == key {
                return Ok((l, li));
            }
        }
        let (l, li) = ask()?;
        self.query = Some((key, l, li));
        Ok((l, li))
    }
}

fn name<T: Scalar>(routine: &str) -> String {
    format!("{}{routine}", T::PREFIX)
}

/// A broken precondition of a LAPACK call: a bug in the core, reported instead of handing
/// LAPACK buffers it could overrun.
macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(CoreError::Internal(format!($($msg)*)));
        }
    };
}

/// Call `f` with this type's routines and an `info` to fill, catching argument errors.
fn call<T: Scalar>(routine: &str, f: impl FnOnce(&Fns<T>, &mut Int)) -> Result<()> {
    let fns = T::fns(blas::lib()?);
    let mut info: Int = 0;
    let ((), caught) = blas::catching(|| f(fns, &mut info));
    let info = if info != 0 { info } else { caught.unwrap_or(0) };
    if info == 0 {
        Ok(())
    } else {
        Err(CoreError::Lapack { routine: name::<T>(routine), info, batch: 0 })
    }
}

/// A workspace size from a query (`lwork = -1`), never below LAPACK's documented minimum.
fn lwork<T: Scalar>(query: T, min: Option<u64>, routine: &str) -> Result<usize> {
    let q = query.to_f64().unwrap_or(f64::NAN);
    if q.is_nan() || q < 0.0 {
        return Err(CoreError::Internal(format!("{} workspace query returned {q}", name::<T>(routine))));
    }
    // Above 2/eps (2^24 in float32) the query may have been rounded down to a representable
    // value (Reference-LAPACK #1195): take the next one up.
    let eps = T::epsilon().to_f64().unwrap_or(0.0);
    let q = if q >= 2.0 / eps { q * (1.0 + eps) } else { q }.ceil();
    let need = (q as u64).max(min.unwrap_or(0)).max(1);
    if q >= Int::MAX as f64 || min.is_none() || need > Int::MAX as u64 {
        return Err(alloc::memory(&name::<T>(routine), need.checked_mul(std::mem::size_of::<T>() as u64), alloc::available()));
    }
    Ok(need as usize)
}

/// `a * b + c` etc. for documented workspace minima: None on overflow.
fn poly(terms: &[(u64, &[usize])]) -> Option<u64> {
    terms.iter().try_fold(0u64, |acc, (coef, fs)| {
        let t = fs.iter().try_fold(*coef, |p, &f| p.checked_mul(f as u64))?;
        acc.checked_add(t)
    })
}

// ---- BLAS ----

/// A column-major operand of [`gemm`]: its first element, transposition letter (b'N' or
/// b'T'), stored rows and columns, and leading dimension.
#[derive(Clone, Copy)]
pub struct Operand<T> {
    pub ptr: *const T,
    pub trans: u8,
    pub rows: usize,
    pub cols: usize,
    pub ld: usize,
}

/// C = alpha op(A) op(B) + beta C, with C column-major (`ldc`) of m x n.
///
/// # Safety
/// Each operand's `rows x cols` elements at `ptr + i + j * ld` must be readable, C's `m x n`
/// at `c + i + j * ldc` writable, and C must not overlap A or B. Dimensions and leading
/// dimensions are checked here, so the library never rejects them and leaves C unwritten.
#[allow(clippy::too_many_arguments)]
pub unsafe fn gemm<T: Scalar>(a: Operand<T>, b: Operand<T>, alpha: T, beta: T, c: *mut T, m: usize, n: usize,
                              ldc: usize) -> Result<()> {
    let (am, ak) = if a.trans == b'N' { (a.rows, a.cols) } else { (a.cols, a.rows) };
    let (bk, bn) = if b.trans == b'N' { (b.rows, b.cols) } else { (b.cols, b.rows) };
    ensure!(am == m && bn == n && ak == bk, "gemm: op(a) {am}x{ak}, op(b) {bk}x{bn}, c {m}x{n}");
    ensure!(a.ld >= a.rows.max(1) && b.ld >= b.rows.max(1) && ldc >= m.max(1), "gemm: leading dimensions");
    let f = T::fns(blas::lib()?);
    let int = |x: usize| Int::try_from(x).map_err(|_| CoreError::Shape(format!("gemm: {x} exceeds 64-bit BLAS")));
    let (mi, ni, ki, lda, ldb, ldci) = (int(m)?, int(n)?, int(ak)?, int(a.ld)?, int(b.ld)?, int(ldc)?);
    let ((), caught) = blas::catching(|| unsafe {
        (f.gemm)(&a.trans, &b.trans, &mi, &ni, &ki, &alpha, a.ptr, &lda, b.ptr, &ldb, &beta, c, &ldci, 1, 1)
    });
    match caught {
        None => Ok(()),
        Some(info) => Err(CoreError::Lapack { routine: name::<T>("gemm"), info, batch: 0 }),
    }
}

// ---- LU ----

pub fn getrf<T: Scalar>(a: &mut FMat<T>, ipiv: &mut [Int]) -> Result<()> {
    ensure!(ipiv.len() >= a.rows.min(a.cols), "getrf: {} pivots for {}x{}", ipiv.len(), a.rows, a.cols);
    call::<T>("getrf", |f, info| unsafe { (f.getrf)(&a.m(), &a.n(), a.data.as_mut_ptr(), &a.ld(), ipiv.as_mut_ptr(), info) })
}

/// Below this many elements of A, xGETRS with several right-hand sides goes one column at a
/// time: OpenBLAS (up to 0.3.33 for any n, 0.3.34 from n = 64) wakes its threads for a
/// multi-column xGETRS, which costs more than the solve at this size; one column never
/// threads. The threshold is OpenBLAS's own for xGESV (m * n < 10000 runs on one thread).
const GETRS_COLUMNS_BELOW: usize = 10_000;

/// Up to this many right-hand sides xGETRS goes one column at a time when OpenBLAS has several
/// threads: its threaded xGETRS costs more than the columns one by one (2 columns at n = 256:
/// examples/solve_parts.rs, "one xGETRS call" against "by columns").
const GETRS_COLUMNS_UPTO: usize = 4;

pub fn getrs<T: Scalar>(trans: u8, lu: &FMat<T>, ipiv: &[Int], b: &mut FMat<T>) -> Result<()> {
    ensure!(lu.rows == lu.cols && b.rows == lu.rows && ipiv.len() >= lu.rows, "getrs: shapes");
    let ldb = b.ld();
    let one = |bp: *mut T, nrhs: Int| {
        call::<T>("getrs", |f, info| unsafe {
            (f.getrs)(&trans, &lu.n(), &nrhs, lu.data.as_ptr(), &lu.ld(), ipiv.as_ptr(), bp, &ldb, info, 1)
        })
    };
    let few = b.cols <= GETRS_COLUMNS_UPTO || lu.rows * lu.rows < GETRS_COLUMNS_BELOW;
    if b.cols > 1 && b.rows > 0 && few && blas::lib()?.threads() > 1 {
        let ld = b.rows.max(1);
        return (0..b.cols).try_for_each(|j| one(b.data[j * ld..].as_mut_ptr(), 1));
    }
    let nrhs = b.n();
    one(b.data.as_mut_ptr(), nrhs)
}

pub fn getri<T: Scalar>(lu: &mut FMat<T>, ipiv: &[Int], w: &mut Work<T>) -> Result<()> {
    ensure!(lu.rows == lu.cols && ipiv.len() >= lu.rows, "getri: shapes");
    let n = lu.n();
    let (lw, _) = w.sizes(("getri", [0, 0], [lu.rows, 0, 0]), || {
        let mut q = T::zero();
        call::<T>("getri", |f, info| unsafe { (f.getri)(&n, lu.data.as_mut_ptr(), &lu.ld(), ipiv.as_ptr(), &mut q, &-1, info) })?;
        Ok((lwork(q, Some(lu.rows as u64), "getri")?, 0))
    })?;
    w.ensure(lw, 0, "getri")?;
    call::<T>("getri", |f, info| unsafe {
        (f.getri)(&n, lu.data.as_mut_ptr(), &lu.ld(), ipiv.as_ptr(), w.work.as_mut_ptr(), &(lw as Int), info)
    })
}

/// Reciprocal condition estimate from LU factors; `norm` is b'1' or b'I'.
pub fn gecon<T: Scalar>(norm: u8, lu: &FMat<T>, anorm: T, w: &mut Work<T>) -> Result<T> {
    ensure!(lu.rows == lu.cols, "gecon: shapes");
    w.ensure(4 * lu.rows, lu.rows, "gecon")?;
    let mut rcond = T::zero();
    call::<T>("gecon", |f, info| unsafe {
        (f.gecon)(&norm, &lu.n(), lu.data.as_ptr(), &lu.ld(), &anorm, &mut rcond, w.work.as_mut_ptr(), w.iwork.as_mut_ptr(), info, 1)
    })?;
    Ok(rcond)
}

// Norms are computed here rather than by xLANGE/xLANSY: OpenBLAS's (translated from Fortran,
// with a NaN test per element) cost as much as a triangular solve at n = 256, several times
// this loop (measured with OpenBLAS 0.3.31 when it was written). NaN propagates, as in LAPACK.

fn bigger<T: Scalar>(m: T, v: T) -> T {
    if v.is_nan() || v > m { v } else { m }
}

/// Sum of |x| in eight independent lanes, so the compiler vectorises it.
fn abs_sum<T: Scalar>(xs: &[T]) -> T {
    let mut acc = [T::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(T::zero(), |s, v| s + v.abs());
    for ch in chunks {
        for k in 0..8 {
            acc[k] = acc[k] + ch[k].abs();
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// Matrix norm: b'1' (largest column sum of |a_ij|) or b'I' (largest row sum).
pub fn lange<T: Scalar>(norm: u8, a: &FMat<T>, w: &mut Work<T>) -> Result<T> {
    let (m, n) = (a.rows, a.cols);
    let cols = a.data[..m * n].chunks_exact(m.max(1)).take(n);
    match norm {
        b'1' => Ok(cols.fold(T::zero(), |mx, c| bigger(mx, abs_sum(c)))),
        b'I' => {
            w.ensure(m, 0, "lange")?;
            let sums = &mut w.work[..m];
            sums.fill(T::zero());
            for c in cols {
                sums.iter_mut().zip(c).for_each(|(s, v)| *s = *s + v.abs());
            }
            Ok(sums.iter().fold(T::zero(), |mx, &v| bigger(mx, v)))
        }
        _ => Err(CoreError::Internal(format!("lange: norm {:?}", norm as char))),
    }
}

/// 1-norm (= infinity-norm) of a symmetric matrix stored in triangle `uplo`.
pub fn lansy<T: Scalar>(norm: u8, uplo: u8, a: &FMat<T>, w: &mut Work<T>) -> Result<T> {
    ensure!(a.rows == a.cols && matches!(norm, b'1' | b'I' | b'O'), "lansy: shapes or norm");
    let n = a.cols;
    w.ensure(n, 0, "lansy")?;
    let sums = &mut w.work[..n];
    sums.fill(T::zero());
    for j in 0..n {
        let col = &a.data[j * n..(j + 1) * n];
        // Column j's stored part: rows j.. (lower) or ..=j (upper); each off-diagonal entry
        // also belongs to row j's sum (its mirror).
        let (lo, hi) = if uplo == b'L' { (j, n) } else { (0, j + 1) };
        let mut own = T::zero();
        for (i, v) in col[lo..hi].iter().enumerate().map(|(i, v)| (i + lo, v.abs())) {
            own = own + v;
            if i != j {
                sums[i] = sums[i] + v;
            }
        }
        sums[j] = sums[j] + own;
    }
    Ok(sums.iter().fold(T::zero(), |mx, &v| bigger(mx, v)))
}

// ---- Cholesky and symmetric indefinite ----

pub fn potrf<T: Scalar>(uplo: u8, a: &mut FMat<T>) -> Result<()> {
    ensure!(a.rows == a.cols, "potrf: a is {}x{}", a.rows, a.cols);
    call::<T>("potrf", |f, info| unsafe { (f.potrf)(&uplo, &a.n(), a.data.as_mut_ptr(), &a.ld(), info, 1) })
}

pub fn potrs<T: Scalar>(uplo: u8, c: &FMat<T>, b: &mut FMat<T>) -> Result<()> {
    ensure!(c.rows == c.cols && b.rows == c.rows, "potrs: shapes");
    call::<T>("potrs", |f, info| unsafe {
        (f.potrs)(&uplo, &c.n(), &b.n(), c.data.as_ptr(), &c.ld(), b.data.as_mut_ptr(), &b.ld(), info, 1)
    })
}

pub fn pocon<T: Scalar>(uplo: u8, c: &FMat<T>, anorm: T, w: &mut Work<T>) -> Result<T> {
    ensure!(c.rows == c.cols, "pocon: shapes");
    w.ensure(3 * c.rows, c.rows, "pocon")?;
    let mut rcond = T::zero();
    call::<T>("pocon", |f, info| unsafe {
        (f.pocon)(&uplo, &c.n(), c.data.as_ptr(), &c.ld(), &anorm, &mut rcond, w.work.as_mut_ptr(), w.iwork.as_mut_ptr(), info, 1)
    })?;
    Ok(rcond)
}

pub fn sytrf<T: Scalar>(uplo: u8, a: &mut FMat<T>, ipiv: &mut [Int], w: &mut Work<T>) -> Result<()> {
    ensure!(a.rows == a.cols && ipiv.len() >= a.rows, "sytrf: shapes");
    let (lw, _) = w.sizes(("sytrf", [uplo, 0], [a.rows, 0, 0]), || {
        let mut q = T::zero();
        call::<T>("sytrf", |f, info| unsafe {
            (f.sytrf)(&uplo, &a.n(), a.data.as_mut_ptr(), &a.ld(), ipiv.as_mut_ptr(), &mut q, &-1, info, 1)
        })?;
        Ok((lwork(q, Some(1), "sytrf")?, 0))
    })?;
    w.ensure(lw, 0, "sytrf")?;
    call::<T>("sytrf", |f, info| unsafe {
        (f.sytrf)(&uplo, &a.n(), a.data.as_mut_ptr(), &a.ld(), ipiv.as_mut_ptr(), w.work.as_mut_ptr(), &(lw as Int), info, 1)
    })
}

pub fn sytrs<T: Scalar>(uplo: u8, fa: &FMat<T>, ipiv: &[Int], b: &mut FMat<T>) -> Result<()> {
    ensure!(fa.rows == fa.cols && b.rows == fa.rows && ipiv.len() >= fa.rows, "sytrs: shapes");
    call::<T>("sytrs", |f, info| unsafe {
        (f.sytrs)(&uplo, &fa.n(), &b.n(), fa.data.as_ptr(), &fa.ld(), ipiv.as_ptr(), b.data.as_mut_ptr(), &b.ld(), info, 1)
    })
}

pub fn sycon<T: Scalar>(uplo: u8, fa: &FMat<T>, ipiv: &[Int], anorm: T, w: &mut Work<T>) -> Result<T> {
    ensure!(fa.rows == fa.cols && ipiv.len() >= fa.rows, "sycon: shapes");
    w.ensure(2 * fa.rows, fa.rows, "sycon")?;
    let mut rcond = T::zero();
    call::<T>("sycon", |f, info| unsafe {
        (f.sycon)(&uplo, &fa.n(), fa.data.as_ptr(), &fa.ld(), ipiv.as_ptr(), &anorm, &mut rcond, w.work.as_mut_ptr(),
                  w.iwork.as_mut_ptr(), info, 1)
    })?;
    Ok(rcond)
}

// ---- QR ----

pub fn geqrf<T: Scalar>(a: &mut FMat<T>, tau: &mut [T], w: &mut Work<T>) -> Result<()> {
    ensure!(tau.len() >= a.rows.min(a.cols), "geqrf: tau too short");
    let (lw, _) = w.sizes(("geqrf", [0, 0], [a.rows, a.cols, 0]), || {
        let mut q = T::zero();
        call::<T>("geqrf", |f, info| unsafe {
            (f.geqrf)(&a.m(), &a.n(), a.data.as_mut_ptr(), &a.ld(), tau.as_mut_ptr(), &mut q, &-1, info)
        })?;
        Ok((lwork(q, Some(a.cols as u64), "geqrf")?, 0))
    })?;
    w.ensure(lw, 0, "geqrf")?;
    call::<T>("geqrf", |f, info| unsafe {
        (f.geqrf)(&a.m(), &a.n(), a.data.as_mut_ptr(), &a.ld(), tau.as_mut_ptr(), w.work.as_mut_ptr(), &(lw as Int), info)
    })
}

/// Form the first `a.cols` columns of Q from `k` reflectors stored in `a` (after geqrf).
pub fn orgqr<T: Scalar>(a: &mut FMat<T>, k: usize, tau: &[T], w: &mut Work<T>) -> Result<()> {
    ensure!(k <= a.cols && a.cols <= a.rows && tau.len() >= k, "orgqr: need k <= n <= m and k taus");
    let (m, n, ki) = (a.m(), a.n(), k as Int);
    let (lw, _) = w.sizes(("orgqr", [0, 0], [a.rows, a.cols, k]), || {
        let mut q = T::zero();
        call::<T>("orgqr", |f, info| unsafe {
            (f.orgqr)(&m, &n, &ki, a.data.as_mut_ptr(), &a.ld(), tau.as_ptr(), &mut q, &-1, info)
        })?;
        Ok((lwork(q, Some(a.cols as u64), "orgqr")?, 0))
    })?;
    w.ensure(lw, 0, "orgqr")?;
    call::<T>("orgqr", |f, info| unsafe {
        (f.orgqr)(&m, &n, &ki, a.data.as_mut_ptr(), &a.ld(), tau.as_ptr(), w.work.as_mut_ptr(), &(lw as Int), info)
    })
}

// ---- symmetric eigenproblem ----

/// Documented minimum (lwork, liwork) of xSYEVD.
pub fn syevd_min(jobz: u8, n: usize) -> (Option<u64>, Option<u64>) {
    match (jobz, n) {
        (_, 0 | 1) => (Some(1), Some(1)),
        (b'V', n) => (poly(&[(1, &[]), (6, &[n]), (2, &[n, n])]), poly(&[(3, &[]), (5, &[n])])),
        (_, n) => (poly(&[(2, &[n]), (1, &[])]), Some(1)),
    }
}

/// Symmetric eigen-decomposition by divide and conquer; `jobz` b'V' keeps vectors in `a`.
pub fn syevd<T: Scalar>(jobz: u8, uplo: u8, a: &mut FMat<T>, ev: &mut [T], w: &mut Work<T>) -> Result<()> {
    ensure!(a.rows == a.cols && ev.len() >= a.rows, "syevd: shapes");
    let n = a.n();
    let (lw, liw) = w.sizes(("syevd", [jobz, uplo], [a.rows, 0, 0]), || {
        let (mut q, mut qi) = (T::zero(), 0 as Int);
        call::<T>("syevd", |f, info| unsafe {
            (f.syevd)(&jobz, &uplo, &n, a.data.as_mut_ptr(), &a.ld(), ev.as_mut_ptr(), &mut q, &-1, &mut qi, &-1, info, 1, 1)
        })?;
        let (min, imin) = syevd_min(jobz, a.rows);
        Ok((lwork(q, min, "syevd")?, lwork(T::from(qi).unwrap_or(T::nan()), imin, "syevd")?))
    })?;
    w.ensure(lw, liw, "syevd")?;
    call::<T>("syevd", |f, info| unsafe {
        (f.syevd)(&jobz, &uplo, &n, a.data.as_mut_ptr(), &a.ld(), ev.as_mut_ptr(), w.work.as_mut_ptr(), &(lw as Int),
                  w.iwork.as_mut_ptr(), &(liw as Int), info, 1, 1)
    })
}

// ---- least squares ----

/// Documented minimum (lwork, liwork) of xGELSD (SMLSIZ = 25, as ILAENV returns).
pub fn gelsd_min(m: usize, n: usize, nrhs: usize) -> (Option<u64>, Option<u64>) {
    let mn = m.min(n);
    if mn == 0 {
        return (Some(1), Some(1));
    }
    let sml = 25usize;
    let nlvl = ((mn as f64 / (sml + 1) as f64).log2().floor() as i64 + 1).max(0) as usize;
    let lw = poly(&[(12, &[mn]), (2 * sml as u64, &[mn]), (8, &[mn, nlvl]), (1, &[mn, nrhs]), ((sml as u64 + 1).pow(2), &[])]);
    let liw = poly(&[(3, &[mn, nlvl]), (11, &[mn])]);
    (lw.and_then(|l| l.checked_add(m.max(n) as u64)), liw)
}

/// Minimum-norm least squares by SVD; `b` has `max(m, n)` rows. Returns the effective rank.
pub fn gelsd<T: Scalar>(a: &mut FMat<T>, b: &mut FMat<T>, s: &mut [T], rcond: T, w: &mut Work<T>) -> Result<usize> {
    ensure!(b.rows >= a.rows.max(a.cols) && s.len() >= a.rows.min(a.cols), "gelsd: shapes");
    let (m, n, nrhs) = (a.m(), a.n(), b.n());
    let mut rank: Int = 0;
    let (lw, liw) = w.sizes(("gelsd", [0, 0], [a.rows, a.cols, b.cols]), || {
        let (mut q, mut qi) = (T::zero(), 0 as Int);
        call::<T>("gelsd", |f, info| unsafe {
            (f.gelsd)(&m, &n, &nrhs, a.data.as_mut_ptr(), &a.ld(), b.data.as_mut_ptr(), &b.ld(), s.as_mut_ptr(), &rcond,
                      &mut rank, &mut q, &-1, &mut qi, info)
        })?;
        let (min, imin) = gelsd_min(a.rows, a.cols, b.cols);
        Ok((lwork(q, min, "gelsd")?, lwork(T::from(qi).unwrap_or(T::nan()), imin, "gelsd")?))
    })?;
    w.ensure(lw, liw, "gelsd")?;
    call::<T>("gelsd", |f, info| unsafe {
        (f.gelsd)(&m, &n, &nrhs, a.data.as_mut_ptr(), &a.ld(), b.data.as_mut_ptr(), &b.ld(), s.as_mut_ptr(), &rcond,
                  &mut rank, w.work.as_mut_ptr(), &(lw as Int), w.iwork.as_mut_ptr(), info)
    })?;
    Ok(rank.max(0) as usize)
}

// ---- SVD ----

/// Optional singular-vector output of an SVD driver.
pub type VecOut<'a, 'b, T> = Option<&'b mut FMat<'a, T>>;

/// Pointer and leading dimension of an optional output, checked to hold `rows x cols`.
fn out_parts<T: Scalar>(o: &mut VecOut<T>, rows: usize, cols: usize, what: &str) -> Result<(*mut T, Int)> {
    match o {
        Some(m) => {
            ensure!(m.rows >= rows.max(1) && m.cols >= cols, "{what} is {}x{}, needs {rows}x{cols}", m.rows, m.cols);
            Ok((m.data.as_mut_ptr(), m.ld()))
        }
        // LAPACK does not reference an output it was not asked for, but wants a pointer.
        None => Ok((std::ptr::NonNull::<T>::dangling().as_ptr(), 1)),
    }
}

/// Rows and columns LAPACK writes into U and Vt for a job letter (A, S, N; O is not used).
fn job_dims(job: u8, m: usize, n: usize) -> ((usize, usize), (usize, usize)) {
    let k = m.min(n);
    match job {
        b'A' => ((m, m), (n, n)),
        b'S' => ((m, k), (k, n)),
        _ => ((0, 0), (0, 0)),
    }
}

/// Documented minimum lwork of xGESDD.
pub fn gesdd_min(jobz: u8, m: usize, n: usize) -> Option<u64> {
    let (mn, mx) = (m.min(n), m.max(n));
    let extra = if jobz == b'N' { poly(&[(7, &[mn])]) } else { poly(&[(4, &[mn, mn]), (4, &[mn])]) }?;
    poly(&[(3, &[mn])])?.checked_add(extra.max(mx as u64))
}

/// SVD by divide and conquer. `jobz`: b'A' (full), b'S' (reduced) or b'N' (values only).
pub fn gesdd<T: Scalar>(jobz: u8, a: &mut FMat<T>, s: &mut [T], mut u: VecOut<T>, mut vt: VecOut<T>, w: &mut Work<T>) -> Result<()> {
    let (m, n) = (a.m(), a.n());
    let ((ur, uc), (vr, vc)) = job_dims(jobz, a.rows, a.cols);
    ensure!(s.len() >= a.rows.min(a.cols), "gesdd: s too short");
    let (pu, ldu) = out_parts(&mut u, ur, uc, "U")?;
    let (pv, ldvt) = out_parts(&mut vt, vr, vc, "Vt")?;
    let (lw, liw) = w.sizes(("gesdd", [jobz, 0], [a.rows, a.cols, 0]), || {
        let mut q = T::zero();
        let mut iw = [0 as Int; 1];
        // The query does not touch iwork, whose size (8 min(m, n)) is documented.
        call::<T>("gesdd", |f, info| unsafe {
            (f.gesdd)(&jobz, &m, &n, a.data.as_mut_ptr(), &a.ld(), s.as_mut_ptr(), pu, &ldu, pv, &ldvt, &mut q, &-1,
                      iw.as_mut_ptr(), info, 1)
        })?;
        let liw = (a.rows.min(a.cols) as u64).checked_mul(8);
        Ok((lwork(q, gesdd_min(jobz, a.rows, a.cols), "gesdd")?, lwork(T::zero(), liw, "gesdd")?))
    })?;
    w.ensure(lw, liw, "gesdd")?;
    call::<T>("gesdd", |f, info| unsafe {
        (f.gesdd)(&jobz, &m, &n, a.data.as_mut_ptr(), &a.ld(), s.as_mut_ptr(), pu, &ldu, pv, &ldvt, w.work.as_mut_ptr(),
                  &(lw as Int), w.iwork.as_mut_ptr(), info, 1)
    })
}

/// Documented minimum lwork of xGESVD.
pub fn gesvd_min(m: usize, n: usize) -> Option<u64> {
    let (mn, mx) = (m.min(n) as u64, m.max(n) as u64);
    Some((3 * mn).checked_add(mx)?.max(5 * mn).max(1))
}

/// SVD by QR iteration. `jobu`/`jobvt`: b'A', b'S' or b'N'.
pub fn gesvd<T: Scalar>(jobu: u8, jobvt: u8, a: &mut FMat<T>, s: &mut [T], mut u: VecOut<T>, mut vt: VecOut<T>, w: &mut Work<T>) -> Result<()> {
    let (m, n) = (a.m(), a.n());
    let ((ur, uc), _) = job_dims(jobu, a.rows, a.cols);
    let (_, (vr, vc)) = job_dims(jobvt, a.rows, a.cols);
    ensure!(s.len() >= a.rows.min(a.cols), "gesvd: s too short");
    let (pu, ldu) = out_parts(&mut u, ur, uc, "U")?;
    let (pv, ldvt) = out_parts(&mut vt, vr, vc, "Vt")?;
    let (lw, _) = w.sizes(("gesvd", [jobu, jobvt], [a.rows, a.cols, 0]), || {
        let mut q = T::zero();
        call::<T>("gesvd", |f, info| unsafe {
            (f.gesvd)(&jobu, &jobvt, &m, &n, a.data.as_mut_ptr(), &a.ld(), s.as_mut_ptr(), pu, &ldu, pv, &ldvt, &mut q, &-1, info, 1, 1)
        })?;
        Ok((lwork(q, gesvd_min(a.rows, a.cols), "gesvd")?, 0))
    })?;
    w.ensure(lw, 0, "gesvd")?;
    call::<T>("gesvd", |f, info| unsafe {
        (f.gesvd)(&jobu, &jobvt, &m, &n, a.data.as_mut_ptr(), &a.ld(), s.as_mut_ptr(), pu, &ldu, pv, &ldvt, w.work.as_mut_ptr(),
                  &(lw as Int), info, 1, 1)
    })
}

/// Bytes of `lwork` elements of `T` plus `liwork` integers (a documented minimum): what one
/// thread's workspace adds to a routine's memory check before any work.
pub fn work_bytes<T>(lwork: Option<u64>, liwork: Option<u64>) -> Option<u64> {
    let a = lwork?.checked_mul(std::mem::size_of::<T>() as u64)?;
    let b = liwork?.checked_mul(std::mem::size_of::<Int>() as u64)?;
    a.checked_add(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_minima_do_not_wrap() {
        // n = 32768: LWMIN = 1 + 6n + 2n^2 wraps a 32-bit integer (numpy#25564).
        let (l, li) = syevd_min(b'V', 32768);
        assert_eq!(l, Some(1 + 6 * 32768 + 2 * 32768u64 * 32768));
        assert_eq!(li, Some(3 + 5 * 32768));
        assert!(l.unwrap() > i32::MAX as u64);
        // gesdd with vectors above min(m, n) ~ 26755 needs more than 2^31 elements.
        assert!(gesdd_min(b'S', 30000, 30000).unwrap() > i32::MAX as u64);
        assert_eq!(gesdd_min(b'N', 10, 4), Some(3 * 4 + 28));
        assert_eq!(gesvd_min(10, 4), Some(22));
        assert_eq!(syevd_min(b'V', usize::MAX).0, None);
    }

    #[test]
    fn queries_are_checked() {
        assert_eq!(lwork(100.0f64, Some(10), "gesdd").unwrap(), 100);
        assert_eq!(lwork(5.0f64, Some(10), "gesdd").unwrap(), 10);
        // float32 rounds 2^24 + 1 down to 2^24: the size is taken above it.
        assert!(lwork(16_777_216.0f32, Some(1), "gesdd").unwrap() > 16_777_217);
        assert!(lwork(-1.0f64, Some(1), "gesdd").is_err());
        assert!(lwork(f64::NAN, Some(1), "gesdd").is_err());
        assert!(matches!(lwork(1e300f64, Some(1), "gesdd"), Err(CoreError::Memory { .. })));
        assert!(matches!(lwork(1.0f64, None, "gesdd"), Err(CoreError::Memory { .. })));
    }
}
