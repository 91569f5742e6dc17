//! Checked, single-matrix LAPACK calls on column-major buffers: the one gate every LAPACK call
//! goes through.
//!
//! Each wrapper checks the buffers against the dimensions and leading dimensions it hands over
//! (so LAPACK can neither read nor write outside them), sizes workspace from LAPACK's query but
//! never below the documented minimum (computed in 64-bit arithmetic), allocates it fallibly,
//! and turns `info != 0` into `CoreError::Lapack` naming the routine actually run. `Work` keeps
//! the workspace of one thread, so a stack of matrices queries and allocates once.
//!
//! The wrappers are generic over the four types. Where the complex routine takes other
//! arguments (a real workspace `rwork`, a Hermitian name), both calls are written side by side
//! in a `match` on [`Family`]; everything around them (checks, sizes, errors) is shared.

use num_traits::{Float, ToPrimitive, Zero};

use crate::alloc;
use crate::blas::{self, Fns, Int};
use crate::error::{CoreError, Result};
use crate::scalar::{Family, Scalar};

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

/// A read-only column-major matrix LAPACK reads in place: `rows x cols` elements at
/// `ptr + i + j * ld`, borrowed for `'a` (a caller's factor, passed without a copy).
#[derive(Clone, Copy)]
pub struct FRef<'a, T> {
    ptr: *const T,
    rows: usize,
    cols: usize,
    ld: usize,
    _borrow: std::marker::PhantomData<&'a T>,
}

impl<'a, T: Scalar> FRef<'a, T> {
    /// The view as LAPACK reads it, if its rows are contiguous (unit row stride, column
    /// stride at least the row count); None otherwise (the caller copies).
    pub fn of(v: &ndarray::ArrayView2<'a, T>) -> Option<Self> {
        let (rows, cols) = v.dim();
        let (sr, sc) = (v.strides()[0], v.strides()[1]);
        let ld = if cols <= 1 { rows.max(1) as isize } else { sc };
        let fits = (rows <= 1 || sr == 1) && ld >= rows.max(1) as isize && Int::try_from(rows.max(cols)).is_ok();
        fits.then(|| FRef { ptr: v.as_ptr(), rows, cols, ld: ld as usize, _borrow: std::marker::PhantomData })
    }
    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn n(&self) -> Int {
        self.cols as Int
    }
    pub fn ld(&self) -> Int {
        self.ld as Int
    }
}

impl<T: Scalar> FMat<'_, T> {
    /// This matrix, read-only, for the routines that only read their matrix (getrs, potrs, trtrs).
    pub fn read(&self) -> FRef<'_, T> {
        FRef { ptr: self.data.as_ptr(), rows: self.rows, cols: self.cols, ld: self.rows.max(1),
               _borrow: std::marker::PhantomData }
    }
}

/// LAPACK's workspace for one thread, reused from matrix to matrix of a stack.
pub struct Work<T: Scalar> {
    work: Vec<T>,
    /// Complex routines' real workspace.
    rwork: Vec<T::Real>,
    iwork: Vec<Int>,
    /// The last workspace query and its answer (lwork, lrwork, liwork): a stack asks once.
    query: Option<(Query, Sizes)>,
}

/// Workspace sizes: (lwork, lrwork, liwork).
type Sizes = (usize, usize, usize);

/// What a workspace query depends on: routine, job letters and dimensions.
type Query = (&'static str, [u8; 2], [usize; 3]);

impl<T: Scalar> Default for Work<T> {
    fn default() -> Self {
        Work { work: Vec::new(), rwork: Vec::new(), iwork: Vec::new(), query: None }
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
    fn ensure(&mut self, (lwork, lrwork, liwork): Sizes, routine: &str) -> Result<()> {
        grow(&mut self.work, lwork.max(1), routine)?;
        grow(&mut self.rwork, lrwork.max(1), routine)?;
        grow(&mut self.iwork, liwork.max(1), routine)
    }
    /// The sizes for `key`, asking `ask` only when the key changed.
    fn sizes(&mut self, key: Query, ask: impl FnOnce() -> Result<Sizes>) -> Result<Sizes> {
        if let Some((k, sizes)) = self.query {
            if k == key {
                return Ok(sizes);
            }
        }
        let sizes = ask()?;
        self.query = Some((key, sizes));
        Ok(sizes)
    }
    /// Grow to `sizes` and hand out (work, lwork, rwork, iwork) for one call.
    fn parts(&mut self, sizes: Sizes, routine: &str) -> Result<(*mut T, Int, *mut T::Real, *mut Int)> {
        self.ensure(sizes, routine)?;
        Ok((self.work.as_mut_ptr(), sizes.0.max(1) as Int, self.rwork.as_mut_ptr(), self.iwork.as_mut_ptr()))
    }
}

fn name<T: Scalar>(routine: &str) -> String {
    format!("{}{routine}", T::PREFIX)
}

/// The name LAPACK gives a routine in this type: the Hermitian/unitary name for complex types.
fn named<T: Scalar>(real: &'static str, complex: &'static str) -> &'static str {
    if T::COMPLEX { complex } else { real }
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
    checked::<T>(routine, |info| f(fns, info))
}

/// `call` for the routines whose real and complex signatures differ.
fn call_family<T: Scalar>(routine: &str, f: impl FnOnce(Family<'_, T>, &mut Int)) -> Result<()> {
    let fam = T::family(blas::lib()?);
    checked::<T>(routine, |info| f(fam, info))
}

fn checked<T: Scalar>(routine: &str, f: impl FnOnce(&mut Int)) -> Result<()> {
    let mut info: Int = 0;
    let ((), caught) = blas::catching(|| f(&mut info));
    let info = if info != 0 { info } else { caught.unwrap_or(0) };
    if info == 0 {
        Ok(())
    } else {
        Err(CoreError::Lapack { routine: name::<T>(routine), info, batch: 0 })
    }
}

/// A workspace size from a query (`lwork = -1`; the real part of what LAPACK wrote), never
/// below LAPACK's documented minimum.
fn lwork<T: Scalar>(q: f64, min: Option<u64>, routine: &str) -> Result<usize> {
    if q.is_nan() || q < 0.0 {
        return Err(CoreError::Internal(format!("{} workspace query returned {q}", name::<T>(routine))));
    }
    // Above 2/eps (2^24 in float32) the query may have been rounded down to a representable
    // value (Reference-LAPACK #1195): take the next one up.
    let eps = T::Real::epsilon().to_f64().unwrap_or(0.0);
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
    // OpenBLAS's threaded LU overflows a small stack (`threads::ROOMY_STACK`): run it unthreaded there.
    let _one = (!crate::threads::roomy_stack()).then(crate::threads::single_blas);
    call::<T>("getrf", |f, info| unsafe { (f.getrf)(&a.m(), &a.n(), a.data.as_mut_ptr(), &a.ld(), ipiv.as_mut_ptr(), info) })
}

/// Below this many elements of A, xGETRS with several right-hand sides goes one column at a
/// time: OpenBLAS (up to 0.3.33 for any n, 0.3.34 from n = 64) wakes its threads for a
/// multi-column xGETRS, which costs more than the solve at this size; one column never
/// threads. The threshold is OpenBLAS's own for xGESV (m * n < 10000 runs on one thread).
const GETRS_COLUMNS_BELOW: usize = 10_000;

/// Up to this many right-hand sides xGETRS goes one column at a time when OpenBLAS has several
/// threads: its threaded xGETRS costs more than two columns one by one, and less than four
/// (n = 64, 256 and 1024: examples/solve_parts.rs, "one xGETRS call" against "one-column calls").
const GETRS_COLUMNS_UPTO: usize = 2;

pub fn getrs<T: Scalar>(trans: u8, lu: &FRef<T>, ipiv: &[Int], b: &mut FMat<T>) -> Result<()> {
    ensure!(lu.rows == lu.cols && b.rows == lu.rows && ipiv.len() >= lu.rows, "getrs: shapes");
    let ldb = b.ld();
    let one = |bp: *mut T, nrhs: Int| {
        call::<T>("getrs", |f, info| unsafe {
            (f.getrs)(&trans, &lu.n(), &nrhs, lu.ptr, &lu.ld(), ipiv.as_ptr(), bp, &ldb, info, 1)
        })
    };
    // (Measured for real types; complex ones do better in one call.)
    let few = b.cols <= GETRS_COLUMNS_UPTO || lu.rows * lu.rows < GETRS_COLUMNS_BELOW;
    if b.cols > 1 && b.rows > 0 && few && !T::COMPLEX && blas::lib()?.threads() > 1 {
        let ld = b.rows.max(1);
        return (0..b.cols).try_for_each(|j| one(b.data[j * ld..].as_mut_ptr(), 1));
    }
    let nrhs = b.n();
    one(b.data.as_mut_ptr(), nrhs)
}

pub fn getri<T: Scalar>(lu: &mut FMat<T>, ipiv: &[Int], w: &mut Work<T>) -> Result<()> {
    ensure!(lu.rows == lu.cols && ipiv.len() >= lu.rows, "getri: shapes");
    let n = lu.n();
    let sizes = w.sizes(("getri", [0, 0], [lu.rows, 0, 0]), || {
        let mut q = T::zero();
        call::<T>("getri", |f, info| unsafe { (f.getri)(&n, lu.data.as_mut_ptr(), &lu.ld(), ipiv.as_ptr(), &mut q, &-1, info) })?;
        Ok((lwork::<T>(q.query_size(), Some(lu.rows as u64), "getri")?, 0, 0))
    })?;
    let (wp, lw, _, _) = w.parts(sizes, "getri")?;
    call::<T>("getri", |f, info| unsafe { (f.getri)(&n, lu.data.as_mut_ptr(), &lu.ld(), ipiv.as_ptr(), wp, &lw, info) })
}

/// Reciprocal condition estimate from LU factors; `norm` is b'1' or b'I'.
pub fn gecon<T: Scalar>(norm: u8, lu: &FMat<T>, anorm: T::Real, w: &mut Work<T>) -> Result<T::Real> {
    ensure!(lu.rows == lu.cols, "gecon: shapes");
    let n = lu.rows;
    let (wp, _, rp, ip) = w.parts((4 * n, 2 * n, n), "gecon")?;
    let mut rcond = T::Real::zero();
    call_family::<T>("gecon", |f, info| unsafe {
        match f {
            Family::Real(f) => (f.gecon)(&norm, &lu.n(), lu.data.as_ptr(), &lu.ld(), &anorm, &mut rcond, wp, ip, info, 1),
            Family::Complex(f) => (f.gecon)(&norm, &lu.n(), lu.data.as_ptr(), &lu.ld(), &anorm, &mut rcond, wp, rp, info, 1),
        }
    })?;
    Ok(rcond)
}

// Norms are computed here rather than by xLANGE/xLANSY: OpenBLAS's (translated from Fortran,
// with a NaN test per element) cost as much as a triangular solve at n = 256, several times
// this loop (measured with OpenBLAS 0.3.31 when it was written). NaN propagates, as in LAPACK.

fn bigger<R: Float>(m: R, v: R) -> R {
    if v.is_nan() || v > m { v } else { m }
}

/// Sum of |x| in eight independent lanes, so the compiler vectorises it.
fn abs_sum<T: Scalar>(xs: &[T]) -> T::Real {
    let mut acc = [T::Real::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder().iter().fold(T::Real::zero(), |s, v| s + v.modulus());
    for ch in chunks {
        for k in 0..8 {
            acc[k] = acc[k] + ch[k].modulus();
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// Matrix norm: b'1' (largest column sum of |a_ij|) or b'I' (largest row sum).
pub fn lange<T: Scalar>(norm: u8, a: &FMat<T>, w: &mut Work<T>) -> Result<T::Real> {
    let (m, n) = (a.rows, a.cols);
    let cols = a.data[..m * n].chunks_exact(m.max(1)).take(n);
    match norm {
        b'1' => Ok(cols.fold(T::Real::zero(), |mx, c| bigger(mx, abs_sum(c)))),
        b'I' => {
            grow(&mut w.rwork, m, "lange")?;
            let sums = &mut w.rwork[..m];
            sums.fill(T::Real::zero());
            for c in cols {
                sums.iter_mut().zip(c).for_each(|(s, v)| *s = *s + v.modulus());
            }
            Ok(sums.iter().fold(T::Real::zero(), |mx, &v| bigger(mx, v)))
        }
        _ => Err(CoreError::Internal(format!("lange: norm {:?}", norm as char))),
    }
}

/// 1-norm (= infinity-norm) of a symmetric or Hermitian matrix stored in triangle `uplo`.
pub fn lansy<T: Scalar>(norm: u8, uplo: u8, a: &FMat<T>, w: &mut Work<T>) -> Result<T::Real> {
    ensure!(a.rows == a.cols && matches!(norm, b'1' | b'I' | b'O'), "lansy: shapes or norm");
    let n = a.cols;
    grow(&mut w.rwork, n, "lansy")?;
    let sums = &mut w.rwork[..n];
    sums.fill(T::Real::zero());
    for j in 0..n {
        let col = &a.data[j * n..(j + 1) * n];
        // Column j's stored part: rows j.. (lower) or ..=j (upper); each off-diagonal entry
        // also belongs to row j's sum (its mirror).
        let (lo, hi) = if uplo == b'L' { (j, n) } else { (0, j + 1) };
        let mut own = T::Real::zero();
        for (i, v) in col[lo..hi].iter().enumerate().map(|(i, v)| (i + lo, v.modulus())) {
            own = own + v;
            if i != j {
                sums[i] = sums[i] + v;
            }
        }
        sums[j] = sums[j] + own;
    }
    Ok(sums.iter().fold(T::Real::zero(), |mx, &v| bigger(mx, v)))
}

// ---- Cholesky and symmetric / Hermitian indefinite ----

pub fn potrf<T: Scalar>(uplo: u8, a: &mut FMat<T>) -> Result<()> {
    ensure!(a.rows == a.cols, "potrf: a is {}x{}", a.rows, a.cols);
    call::<T>("potrf", |f, info| unsafe { (f.potrf)(&uplo, &a.n(), a.data.as_mut_ptr(), &a.ld(), info, 1) })
}

pub fn potrs<T: Scalar>(uplo: u8, c: &FRef<T>, b: &mut FMat<T>) -> Result<()> {
    ensure!(c.rows == c.cols && b.rows == c.rows, "potrs: shapes");
    call::<T>("potrs", |f, info| unsafe {
        (f.potrs)(&uplo, &c.n(), &b.n(), c.ptr, &c.ld(), b.data.as_mut_ptr(), &b.ld(), info, 1)
    })
}

pub fn pocon<T: Scalar>(uplo: u8, c: &FMat<T>, anorm: T::Real, w: &mut Work<T>) -> Result<T::Real> {
    ensure!(c.rows == c.cols, "pocon: shapes");
    let n = c.rows;
    let (wp, _, rp, ip) = w.parts((3 * n, n, n), "pocon")?;
    let mut rcond = T::Real::zero();
    call_family::<T>("pocon", |f, info| unsafe {
        match f {
            Family::Real(f) => (f.pocon)(&uplo, &c.n(), c.data.as_ptr(), &c.ld(), &anorm, &mut rcond, wp, ip, info, 1),
            Family::Complex(f) => (f.pocon)(&uplo, &c.n(), c.data.as_ptr(), &c.ld(), &anorm, &mut rcond, wp, rp, info, 1),
        }
    })?;
    Ok(rcond)
}

/// Bunch-Kaufman factorisation of a symmetric (`hermitian` false) or Hermitian matrix; for
/// real types the two are the same.
pub fn sytrf<T: Scalar>(uplo: u8, hermitian: bool, a: &mut FMat<T>, ipiv: &mut [Int], w: &mut Work<T>) -> Result<()> {
    ensure!(a.rows == a.cols && ipiv.len() >= a.rows, "sytrf: shapes");
    let her = hermitian && T::COMPLEX;
    let routine = if her { "hetrf" } else { "sytrf" };
    let (n, ld, ap, pp) = (a.n(), a.ld(), a.data.as_mut_ptr(), ipiv.as_mut_ptr());
    let run = |wp: *mut T, lw: Int| {
        call_family::<T>(routine, |f, info| unsafe {
            match f {
                Family::Complex(f) if her => (f.hetrf)(&uplo, &n, ap, &ld, pp, wp, &lw, info, 1),
                _ => (T::fns(blas::lib().expect("bound above")).sytrf)(&uplo, &n, ap, &ld, pp, wp, &lw, info, 1),
            }
        })
    };
    let sizes = w.sizes((routine, [uplo, 0], [a.rows, 0, 0]), || {
        let mut q = T::zero();
        run(&mut q, -1)?;
        Ok((lwork::<T>(q.query_size(), Some(1), routine)?, 0, 0))
    })?;
    let (wp, lw, _, _) = w.parts(sizes, routine)?;
    run(wp, lw)
}

pub fn sytrs<T: Scalar>(uplo: u8, hermitian: bool, fa: &FMat<T>, ipiv: &[Int], b: &mut FMat<T>) -> Result<()> {
    ensure!(fa.rows == fa.cols && b.rows == fa.rows && ipiv.len() >= fa.rows, "sytrs: shapes");
    let her = hermitian && T::COMPLEX;
    call_family::<T>(if her { "hetrs" } else { "sytrs" }, |f, info| unsafe {
        let args = (&uplo, &fa.n(), &b.n(), fa.data.as_ptr(), &fa.ld(), ipiv.as_ptr(), b.data.as_mut_ptr(), &b.ld());
        match f {
            Family::Complex(f) if her => (f.hetrs)(args.0, args.1, args.2, args.3, args.4, args.5, args.6, args.7, info, 1),
            _ => (T::fns(blas::lib().expect("bound above")).sytrs)(args.0, args.1, args.2, args.3, args.4, args.5, args.6,
                                                                     args.7, info, 1),
        }
    })
}

pub fn sycon<T: Scalar>(uplo: u8, hermitian: bool, fa: &FMat<T>, ipiv: &[Int], anorm: T::Real, w: &mut Work<T>)
                        -> Result<T::Real> {
    ensure!(fa.rows == fa.cols && ipiv.len() >= fa.rows, "sycon: shapes");
    let n = fa.rows;
    let her = hermitian && T::COMPLEX;
    let (wp, _, _, ip) = w.parts((2 * n, 0, n), "sycon")?;
    let mut rcond = T::Real::zero();
    call_family::<T>(if her { "hecon" } else { "sycon" }, |f, info| unsafe {
        let (a, ld, p) = (fa.data.as_ptr(), fa.ld(), ipiv.as_ptr());
        match f {
            Family::Real(f) => (f.sycon)(&uplo, &fa.n(), a, &ld, p, &anorm, &mut rcond, wp, ip, info, 1),
            Family::Complex(f) if her => (f.hecon)(&uplo, &fa.n(), a, &ld, p, &anorm, &mut rcond, wp, info, 1),
            Family::Complex(f) => (f.sycon)(&uplo, &fa.n(), a, &ld, p, &anorm, &mut rcond, wp, info, 1),
        }
    })?;
    Ok(rcond)
}

// ---- triangular systems ----

/// Solve op(A) X = B for triangular A (`trans` b'N', b'T' or b'C'; `diag` b'U' for a unit
/// diagonal). A zero on the diagonal is `info > 0`, before anything is divided by it.
pub fn trtrs<T: Scalar>(uplo: u8, trans: u8, diag: u8, a: &FRef<T>, b: &mut FMat<T>) -> Result<()> {
    ensure!(a.rows == a.cols && b.rows == a.rows, "trtrs: shapes");
    let trans = if trans == b'C' && !T::COMPLEX { b'T' } else { trans };
    call::<T>("trtrs", |f, info| unsafe {
        (f.trtrs)(&uplo, &trans, &diag, &a.n(), &b.n(), a.ptr, &a.ld(), b.data.as_mut_ptr(), &b.ld(), info, 1, 1, 1)
    })
}

// ---- QR ----

pub fn geqrf<T: Scalar>(a: &mut FMat<T>, tau: &mut [T], w: &mut Work<T>) -> Result<()> {
    ensure!(tau.len() >= a.rows.min(a.cols), "geqrf: tau too short");
    let sizes = w.sizes(("geqrf", [0, 0], [a.rows, a.cols, 0]), || {
        let mut q = T::zero();
        call::<T>("geqrf", |f, info| unsafe {
            (f.geqrf)(&a.m(), &a.n(), a.data.as_mut_ptr(), &a.ld(), tau.as_mut_ptr(), &mut q, &-1, info)
        })?;
        Ok((lwork::<T>(q.query_size(), Some(a.cols as u64), "geqrf")?, 0, 0))
    })?;
    let (wp, lw, _, _) = w.parts(sizes, "geqrf")?;
    call::<T>("geqrf", |f, info| unsafe {
        (f.geqrf)(&a.m(), &a.n(), a.data.as_mut_ptr(), &a.ld(), tau.as_mut_ptr(), wp, &lw, info)
    })
}

/// Form the first `a.cols` columns of Q from `k` reflectors stored in `a` (after geqrf):
/// xORGQR, or xUNGQR for complex types.
pub fn orgqr<T: Scalar>(a: &mut FMat<T>, k: usize, tau: &[T], w: &mut Work<T>) -> Result<()> {
    ensure!(k <= a.cols && a.cols <= a.rows && tau.len() >= k, "orgqr: need k <= n <= m and k taus");
    let routine = named::<T>("orgqr", "ungqr");
    let (m, n, ki, ld, ap, tp) = (a.m(), a.n(), k as Int, a.ld(), a.data.as_mut_ptr(), tau.as_ptr());
    let run = |wp: *mut T, lw: Int| {
        call_family::<T>(routine, |f, info| unsafe {
            match f {
                Family::Real(f) => (f.orgqr)(&m, &n, &ki, ap, &ld, tp, wp, &lw, info),
                Family::Complex(f) => (f.ungqr)(&m, &n, &ki, ap, &ld, tp, wp, &lw, info),
            }
        })
    };
    let sizes = w.sizes((routine, [0, 0], [a.rows, a.cols, k]), || {
        let mut q = T::zero();
        run(&mut q, -1)?;
        Ok((lwork::<T>(q.query_size(), Some(a.cols as u64), routine)?, 0, 0))
    })?;
    let (wp, lw, _, _) = w.parts(sizes, routine)?;
    run(wp, lw)
}

// ---- symmetric / Hermitian eigenproblems ----

/// Documented minimum (lwork, lrwork, liwork) of xSYEVD / xHEEVD.
pub fn syevd_min<T: Scalar>(jobz: u8, n: usize) -> (Option<u64>, Option<u64>, Option<u64>) {
    match (jobz, n, T::COMPLEX) {
        (_, 0 | 1, _) => (Some(1), Some(1), Some(1)),
        (b'V', n, false) => (poly(&[(1, &[]), (6, &[n]), (2, &[n, n])]), Some(1), poly(&[(3, &[]), (5, &[n])])),
        (b'V', n, true) => (poly(&[(2, &[n]), (1, &[n, n])]), poly(&[(1, &[]), (5, &[n]), (2, &[n, n])]),
                            poly(&[(3, &[]), (5, &[n])])),
        (_, n, false) => (poly(&[(2, &[n]), (1, &[])]), Some(1), Some(1)),
        (_, n, true) => (poly(&[(1, &[n]), (1, &[])]), Some(n as u64), Some(1)),
    }
}

/// Sizes from a query's three answers, each at least its documented minimum.
fn sizes_from<T: Scalar>(q: (f64, f64, Int), min: (Option<u64>, Option<u64>, Option<u64>), routine: &str) -> Result<Sizes> {
    let lr = if T::COMPLEX { lwork::<T>(q.1, min.1, routine)? } else { 0 };
    Ok((lwork::<T>(q.0, min.0, routine)?, lr, lwork::<T>(q.2 as f64, min.2, routine)?))
}

/// Eigen-decomposition of a symmetric (Hermitian) matrix by divide and conquer: xSYEVD or
/// xHEEVD; `jobz` b'V' keeps vectors in `a`.
pub fn syevd<T: Scalar>(jobz: u8, uplo: u8, a: &mut FMat<T>, ev: &mut [T::Real], w: &mut Work<T>) -> Result<()> {
    ensure!(a.rows == a.cols && ev.len() >= a.rows, "syevd: shapes");
    let routine = named::<T>("syevd", "heevd");
    let (n, ld, ap, evp) = (a.n(), a.ld(), a.data.as_mut_ptr(), ev.as_mut_ptr());
    let run = |wp: *mut T, lw: Int, rp: *mut T::Real, lrw: Int, ip: *mut Int, liw: Int| {
        call_family::<T>(routine, |f, info| unsafe {
            match f {
                Family::Real(f) => (f.syevd)(&jobz, &uplo, &n, ap, &ld, evp, wp, &lw, ip, &liw, info, 1, 1),
                Family::Complex(f) => (f.heevd)(&jobz, &uplo, &n, ap, &ld, evp, wp, &lw, rp, &lrw, ip, &liw, info, 1, 1),
            }
        })
    };
    let sizes = w.sizes((routine, [jobz, uplo], [a.rows, 0, 0]), || {
        let (mut q, mut qr, mut qi) = (T::zero(), T::Real::zero(), 0 as Int);
        run(&mut q, -1, &mut qr, -1, &mut qi, -1)?;
        sizes_from::<T>((q.query_size(), qr.query_size(), qi), syevd_min::<T>(jobz, a.rows), routine)
    })?;
    let (wp, lw, rp, ip) = w.parts(sizes, routine)?;
    run(wp, lw, rp, sizes.1.max(1) as Int, ip, sizes.2.max(1) as Int)
}

/// Generalized symmetric-definite eigenproblem A x = lambda B x (itype 1) by divide and
/// conquer: xSYGVD or xHEGVD. `b` is overwritten by its Cholesky factor; `info > n` means B
/// is not positive definite (its leading minor of order info - n).
pub fn sygvd<T: Scalar>(jobz: u8, uplo: u8, a: &mut FMat<T>, b: &mut FMat<T>, ev: &mut [T::Real], w: &mut Work<T>) -> Result<()> {
    ensure!(a.rows == a.cols && b.rows == a.rows && b.cols == a.cols && ev.len() >= a.rows, "sygvd: shapes");
    let routine = named::<T>("sygvd", "hegvd");
    let (n, ld, ap, ldb, bp, evp) = (a.n(), a.ld(), a.data.as_mut_ptr(), b.ld(), b.data.as_mut_ptr(), ev.as_mut_ptr());
    let run = |wp: *mut T, lw: Int, rp: *mut T::Real, lrw: Int, ip: *mut Int, liw: Int| {
        call_family::<T>(routine, |f, info| unsafe {
            match f {
                Family::Real(f) => (f.sygvd)(&1, &jobz, &uplo, &n, ap, &ld, bp, &ldb, evp, wp, &lw, ip, &liw, info, 1, 1),
                Family::Complex(f) => (f.hegvd)(&1, &jobz, &uplo, &n, ap, &ld, bp, &ldb, evp, wp, &lw, rp, &lrw, ip, &liw, info, 1, 1),
            }
        })
    };
    let sizes = w.sizes((routine, [jobz, uplo], [a.rows, 0, 0]), || {
        let (mut q, mut qr, mut qi) = (T::zero(), T::Real::zero(), 0 as Int);
        run(&mut q, -1, &mut qr, -1, &mut qi, -1)?;
        // xSYGVD's documented minima are xSYEVD's
        sizes_from::<T>((q.query_size(), qr.query_size(), qi), syevd_min::<T>(jobz, a.rows), routine)
    })?;
    let (wp, lw, rp, ip) = w.parts(sizes, routine)?;
    run(wp, lw, rp, sizes.1.max(1) as Int, ip, sizes.2.max(1) as Int)
}

// ---- general eigenproblem and Schur form ----

/// Eigenvalues (complex, `ev`) and optionally right eigenvectors (`vr`, n x n) of a general
/// matrix: xGEEV. For real types `vr` holds LAPACK's real pairs (column j + i column j+1 for
/// a complex pair), which the caller assembles; `info > 0`: the QR algorithm failed, and
/// eigenvalues info+1..n (1-based) converged. `a` is destroyed.
pub fn geev<T: Scalar>(a: &mut FMat<T>, ev: &mut [T::Complex], mut vr: VecOut<T>, w: &mut Work<T>) -> Result<()> {
    ensure!(a.rows == a.cols && ev.len() >= a.rows, "geev: shapes");
    let nn = a.rows;
    let jobvr = if vr.is_some() { b'V' } else { b'N' };
    let (pv, ldvr) = out_parts(&mut vr, if jobvr == b'V' { nn } else { 0 }, if jobvr == b'V' { nn } else { 0 }, "vr")?;
    let (n, ld, ap) = (a.n(), a.ld(), a.data.as_mut_ptr());
    // Real types write wr and wi, complex types w: both into `ev`'s buffer (2n reals either way).
    let (wre, wim) = (ev.as_mut_ptr() as *mut T, unsafe { (ev.as_mut_ptr() as *mut T).add(nn) });
    let wc = ev.as_mut_ptr() as *mut T;
    let none = std::ptr::NonNull::<T>::dangling().as_ptr();
    let run = |wp: *mut T, lw: Int, rp: *mut T::Real| {
        call_family::<T>("geev", |f, info| unsafe {
            match f {
                Family::Real(f) => (f.geev)(&b'N', &jobvr, &n, ap, &ld, wre, wim, none, &1, pv, &ldvr, wp, &lw, info, 1, 1),
                Family::Complex(f) => (f.geev)(&b'N', &jobvr, &n, ap, &ld, wc, none, &1, pv, &ldvr, wp, &lw, rp, info, 1, 1),
            }
        })
    };
    let min = if jobvr == b'V' { 4 * nn } else { 3 * nn }.max(1) as u64;
    let sizes = w.sizes(("geev", [jobvr, 0], [nn, 0, 0]), || {
        let (mut q, mut r) = (T::zero(), T::Real::zero());
        run(&mut q, -1, &mut r)?;
        Ok((lwork::<T>(q.query_size(), Some(min), "geev")?, 2 * nn, 0))
    })?;
    let (wp, lw, rp, _) = w.parts(sizes, "geev")?;
    run(wp, lw, rp)?;
    pairs_to_complex::<T>(ev);
    Ok(())
}

/// Real types' xGEEV and xGEES write WR into the first n reals of `ev`'s buffer and WI into the
/// next n: turn them into the n complex values the buffer is typed as.
fn pairs_to_complex<T: Scalar>(ev: &mut [T::Complex]) {
    if T::COMPLEX {
        return;
    }
    let n = ev.len();
    // SAFETY: `ev` holds n complex values, which are 2n reals of the same alignment.
    let reals = unsafe { std::slice::from_raw_parts(ev.as_ptr() as *const T::Real, 2 * n) }.to_vec();
    for j in 0..n {
        ev[j] = T::complex(reals[j], reals[n + j]);
    }
}

/// Schur decomposition A = Z T Z^H (xGEES, no sorting): `a` becomes T (quasi-triangular for
/// real types), `z` (n x n) the Schur vectors, `ev` the eigenvalues. `info > 0`: the QR
/// algorithm failed.
pub fn gees<T: Scalar>(a: &mut FMat<T>, z: &mut FMat<T>, ev: &mut [T::Complex], w: &mut Work<T>) -> Result<()> {
    ensure!(a.rows == a.cols && z.rows >= a.rows.max(1) && z.cols >= a.rows && ev.len() >= a.rows, "gees: shapes");
    let nn = a.rows;
    let (n, ld, ap, zp, ldz) = (a.n(), a.ld(), a.data.as_mut_ptr(), z.data.as_mut_ptr(), z.ld());
    let (wre, wim) = (ev.as_mut_ptr() as *mut T, unsafe { (ev.as_mut_ptr() as *mut T).add(nn) });
    let wc = ev.as_mut_ptr() as *mut T;
    let mut bwork = [0 as Int; 1]; // not referenced without sorting
    let bw = bwork.as_mut_ptr();
    let run = |wp: *mut T, lw: Int, rp: *mut T::Real| {
        let mut sdim: Int = 0;
        call_family::<T>("gees", |f, info| unsafe {
            match f {
                Family::Real(f) => (f.gees)(&b'V', &b'N', std::ptr::null(), &n, ap, &ld, &mut sdim, wre, wim, zp, &ldz, wp,
                                            &lw, bw, info, 1, 1),
                Family::Complex(f) => (f.gees)(&b'V', &b'N', std::ptr::null(), &n, ap, &ld, &mut sdim, wc, zp, &ldz, wp,
                                               &lw, rp, bw, info, 1, 1),
            }
        })
    };
    let min = (3 * nn).max(1) as u64;
    let sizes = w.sizes(("gees", [0, 0], [nn, 0, 0]), || {
        let (mut q, mut r) = (T::zero(), T::Real::zero());
        run(&mut q, -1, &mut r)?;
        Ok((lwork::<T>(q.query_size(), Some(min), "gees")?, nn, 0))
    })?;
    let (wp, lw, rp, _) = w.parts(sizes, "gees")?;
    run(wp, lw, rp)?;
    pairs_to_complex::<T>(&mut ev[..nn]);
    Ok(())
}

// ---- least squares ----

/// Documented minimum (lwork, lrwork, liwork) of xGELSD (SMLSIZ = 25, as ILAENV returns).
pub fn gelsd_min<T: Scalar>(m: usize, n: usize, nrhs: usize) -> (Option<u64>, Option<u64>, Option<u64>) {
    let mn = m.min(n);
    if mn == 0 {
        return (Some(1), Some(1), Some(1));
    }
    let sml = 25usize;
    let nlvl = ((mn as f64 / (sml + 1) as f64).log2().floor() as i64 + 1).max(0) as usize;
    let liw = poly(&[(3, &[mn, nlvl]), (11, &[mn])]);
    // Real: one workspace; complex: the same amount in rwork, and 2 min(m, n) + ... in work.
    let big = poly(&[(12, &[mn]), (2 * sml as u64, &[mn]), (8, &[mn, nlvl]), (1, &[mn, nrhs]), ((sml as u64 + 1).pow(2), &[])])
        .and_then(|l| l.checked_add(m.max(n) as u64));
    if T::COMPLEX {
        let lw = poly(&[(2, &[mn]), (1, &[mn, nrhs]), (1, &[m.max(n)])]);
        // 10 mn + 2 mn SMLSIZ + 8 mn NLVL + 3 SMLSIZ nrhs + max((SMLSIZ+1)^2, mn (1 + nrhs) + 2 nrhs)
        let last = poly(&[(1, &[mn]), (1, &[mn, nrhs]), (2, &[nrhs])]).map(|v| v.max((sml as u64 + 1).pow(2)));
        let lrw = poly(&[(10, &[mn]), (2 * sml as u64, &[mn]), (8, &[mn, nlvl]), (3 * sml as u64, &[nrhs])])
            .zip(last).and_then(|(a, b)| a.checked_add(b));
        (lw, lrw, liw)
    } else {
        (big, Some(1), liw)
    }
}

/// Minimum-norm least squares by SVD; `b` has `max(m, n)` rows. Returns the effective rank.
pub fn gelsd<T: Scalar>(a: &mut FMat<T>, b: &mut FMat<T>, s: &mut [T::Real], rcond: T::Real, w: &mut Work<T>) -> Result<usize> {
    ensure!(b.rows >= a.rows.max(a.cols) && s.len() >= a.rows.min(a.cols), "gelsd: shapes");
    let (m, n, nrhs, lda, ldb) = (a.m(), a.n(), b.n(), a.ld(), b.ld());
    let (ap, bp, sp) = (a.data.as_mut_ptr(), b.data.as_mut_ptr(), s.as_mut_ptr());
    let mut rank: Int = 0;
    let rk = &mut rank as *mut Int;
    let run = |wp: *mut T, lw: Int, rp: *mut T::Real, ip: *mut Int| {
        call_family::<T>("gelsd", |f, info| unsafe {
            match f {
                Family::Real(f) => (f.gelsd)(&m, &n, &nrhs, ap, &lda, bp, &ldb, sp, &rcond, rk, wp, &lw, ip, info),
                Family::Complex(f) => (f.gelsd)(&m, &n, &nrhs, ap, &lda, bp, &ldb, sp, &rcond, rk, wp, &lw, rp, ip, info),
            }
        })
    };
    let sizes = w.sizes(("gelsd", [0, 0], [a.rows, a.cols, b.cols]), || {
        let (mut q, mut qr, mut qi) = (T::zero(), T::Real::zero(), 0 as Int);
        run(&mut q, -1, &mut qr, &mut qi)?;
        sizes_from::<T>((q.query_size(), qr.query_size(), qi), gelsd_min::<T>(a.rows, a.cols, b.cols), "gelsd")
    })?;
    let (wp, lw, rp, ip) = w.parts(sizes, "gelsd")?;
    run(wp, lw, rp, ip)?;
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

/// Documented minimum (lwork, lrwork) of xGESDD.
pub fn gesdd_min<T: Scalar>(jobz: u8, m: usize, n: usize) -> (Option<u64>, Option<u64>) {
    let (mn, mx) = (m.min(n), m.max(n));
    if T::COMPLEX {
        let lw = poly(&[(2, &[mn]), (1, &[mx])]).and_then(|l| if jobz == b'N' { Some(l) } else { l.checked_add(poly(&[(1, &[mn, mn])])?) });
        let lrw = if jobz == b'N' {
            poly(&[(7, &[mn])])
        } else {
            let a = poly(&[(5, &[mn, mn]), (5, &[mn])]);
            let b = poly(&[(2, &[mx, mn]), (2, &[mn, mn]), (1, &[mn])]);
            a.zip(b).map(|(a, b)| a.max(b))
        };
        return (lw, lrw);
    }
    let extra = if jobz == b'N' { poly(&[(7, &[mn])]) } else { poly(&[(4, &[mn, mn]), (4, &[mn])]) };
    (extra.and_then(|e| poly(&[(3, &[mn])])?.checked_add(e.max(mx as u64))), Some(1))
}

/// SVD by divide and conquer. `jobz`: b'A' (full), b'S' (reduced) or b'N' (values only).
pub fn gesdd<T: Scalar>(jobz: u8, a: &mut FMat<T>, s: &mut [T::Real], mut u: VecOut<T>, mut vt: VecOut<T>, w: &mut Work<T>) -> Result<()> {
    let (m, n, lda, ap, sp) = (a.m(), a.n(), a.ld(), a.data.as_mut_ptr(), s.as_mut_ptr());
    let ((ur, uc), (vr, vc)) = job_dims(jobz, a.rows, a.cols);
    ensure!(s.len() >= a.rows.min(a.cols), "gesdd: s too short");
    let (pu, ldu) = out_parts(&mut u, ur, uc, "U")?;
    let (pv, ldvt) = out_parts(&mut vt, vr, vc, "Vt")?;
    let run = |wp: *mut T, lw: Int, rp: *mut T::Real, ip: *mut Int| {
        call_family::<T>("gesdd", |f, info| unsafe {
            match f {
                Family::Real(f) => (f.gesdd)(&jobz, &m, &n, ap, &lda, sp, pu, &ldu, pv, &ldvt, wp, &lw, ip, info, 1),
                Family::Complex(f) => (f.gesdd)(&jobz, &m, &n, ap, &lda, sp, pu, &ldu, pv, &ldvt, wp, &lw, rp, ip, info, 1),
            }
        })
    };
    let sizes = w.sizes(("gesdd", [jobz, 0], [a.rows, a.cols, 0]), || {
        let mut q = T::zero();
        let mut iw = [0 as Int; 1];
        let mut r = [T::Real::zero(); 1];
        // The query touches neither iwork (8 min(m, n)) nor rwork, whose sizes are documented.
        run(&mut q, -1, r.as_mut_ptr(), iw.as_mut_ptr())?;
        let (min, rmin) = gesdd_min::<T>(jobz, a.rows, a.cols);
        let liw = (a.rows.min(a.cols) as u64).checked_mul(8);
        let lrw = if T::COMPLEX { lwork::<T>(0.0, rmin, "gesdd")? } else { 0 };
        Ok((lwork::<T>(q.query_size(), min, "gesdd")?, lrw, lwork::<T>(0.0, liw, "gesdd")?))
    })?;
    let (wp, lw, rp, ip) = w.parts(sizes, "gesdd")?;
    run(wp, lw, rp, ip)
}

/// Documented minimum (lwork, lrwork) of xGESVD.
pub fn gesvd_min<T: Scalar>(m: usize, n: usize) -> (Option<u64>, Option<u64>) {
    let (mn, mx) = (m.min(n) as u64, m.max(n) as u64);
    if T::COMPLEX {
        return ((2 * mn).checked_add(mx).map(|v| v.max(1)), Some((5 * mn).max(1)));
    }
    (Some((3 * mn).saturating_add(mx).max(5 * mn).max(1)), Some(1))
}

/// SVD by QR iteration. `jobu`/`jobvt`: b'A', b'S' or b'N'.
pub fn gesvd<T: Scalar>(jobu: u8, jobvt: u8, a: &mut FMat<T>, s: &mut [T::Real], mut u: VecOut<T>, mut vt: VecOut<T>, w: &mut Work<T>) -> Result<()> {
    let (m, n, lda, ap, sp) = (a.m(), a.n(), a.ld(), a.data.as_mut_ptr(), s.as_mut_ptr());
    let ((ur, uc), _) = job_dims(jobu, a.rows, a.cols);
    let (_, (vr, vc)) = job_dims(jobvt, a.rows, a.cols);
    ensure!(s.len() >= a.rows.min(a.cols), "gesvd: s too short");
    let (pu, ldu) = out_parts(&mut u, ur, uc, "U")?;
    let (pv, ldvt) = out_parts(&mut vt, vr, vc, "Vt")?;
    let run = |wp: *mut T, lw: Int, rp: *mut T::Real| {
        call_family::<T>("gesvd", |f, info| unsafe {
            match f {
                Family::Real(f) => (f.gesvd)(&jobu, &jobvt, &m, &n, ap, &lda, sp, pu, &ldu, pv, &ldvt, wp, &lw, info, 1, 1),
                Family::Complex(f) => (f.gesvd)(&jobu, &jobvt, &m, &n, ap, &lda, sp, pu, &ldu, pv, &ldvt, wp, &lw, rp, info, 1, 1),
            }
        })
    };
    let sizes = w.sizes(("gesvd", [jobu, jobvt], [a.rows, a.cols, 0]), || {
        let mut q = T::zero();
        let mut r = [T::Real::zero(); 1];
        run(&mut q, -1, r.as_mut_ptr())?;
        let (min, rmin) = gesvd_min::<T>(a.rows, a.cols);
        let lrw = if T::COMPLEX { lwork::<T>(0.0, rmin, "gesvd")? } else { 0 };
        Ok((lwork::<T>(q.query_size(), min, "gesvd")?, lrw, 0))
    })?;
    let (wp, lw, rp, _) = w.parts(sizes, "gesvd")?;
    run(wp, lw, rp)
}

/// Bytes of `lwork` elements of `T`, `lrwork` of its real type and `liwork` integers (a
/// documented minimum): what one thread's workspace adds to a routine's memory check.
pub fn work_bytes<T: Scalar>((lwork, lrwork, liwork): (Option<u64>, Option<u64>, Option<u64>)) -> Option<u64> {
    let a = lwork?.checked_mul(std::mem::size_of::<T>() as u64)?;
    let r = lrwork?.checked_mul(std::mem::size_of::<T::Real>() as u64)?;
    let b = liwork?.checked_mul(std::mem::size_of::<Int>() as u64)?;
    a.checked_add(r)?.checked_add(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_minima_do_not_wrap() {
        // n = 32768: LWMIN = 1 + 6n + 2n^2 wraps a 32-bit integer (numpy#25564).
        let (l, _, li) = syevd_min::<f64>(b'V', 32768);
        assert_eq!(l, Some(1 + 6 * 32768 + 2 * 32768u64 * 32768));
        assert_eq!(li, Some(3 + 5 * 32768));
        assert!(l.unwrap() > i32::MAX as u64);
        // xHEEVD's real workspace: 1 + 5n + 2n^2.
        assert_eq!(syevd_min::<crate::scalar::C64>(b'V', 32768).1, Some(1 + 5 * 32768 + 2 * 32768u64 * 32768));
        // gesdd with vectors above min(m, n) ~ 26755 needs more than 2^31 elements.
        assert!(gesdd_min::<f64>(b'S', 30000, 30000).0.unwrap() > i32::MAX as u64);
        assert_eq!(gesdd_min::<f64>(b'N', 10, 4).0, Some(3 * 4 + 28));
        assert_eq!(gesdd_min::<crate::scalar::C32>(b'N', 10, 4), (Some(18), Some(28)));
        assert_eq!(gesvd_min::<f64>(10, 4).0, Some(22));
        assert_eq!(syevd_min::<f64>(b'V', usize::MAX).0, None);
    }

    #[test]
    fn queries_are_checked() {
        assert_eq!(lwork::<f64>(100.0, Some(10), "gesdd").unwrap(), 100);
        assert_eq!(lwork::<f64>(5.0, Some(10), "gesdd").unwrap(), 10);
        // float32 rounds 2^24 + 1 down to 2^24: the size is taken above it.
        assert!(lwork::<f32>(16_777_216.0, Some(1), "gesdd").unwrap() > 16_777_217);
        assert!(lwork::<crate::scalar::C32>(16_777_216.0, Some(1), "gesdd").unwrap() > 16_777_217);
        assert!(lwork::<f64>(-1.0, Some(1), "gesdd").is_err());
        assert!(lwork::<f64>(f64::NAN, Some(1), "gesdd").is_err());
        assert!(matches!(lwork::<f64>(1e300, Some(1), "gesdd"), Err(CoreError::Memory { .. })));
        assert!(matches!(lwork::<f64>(1.0, None, "gesdd"), Err(CoreError::Memory { .. })));
    }
}
