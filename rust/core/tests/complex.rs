//! The routines over the four LAPACK types (f32, f64, c64 = C32, c128 = C64): each check is
//! written once, generically over `Scalar`, against the defining identity of its result
//! (residuals, reconstructions, orthogonality), for the native small path (n <= 8) and LAPACK,
//! for C-ordered input (loaded by the transposed-memcpy trick) and Fortran-ordered input,
//! for the triangle a symmetric routine reads (the other one holds garbage), for stacks
//! against single calls, and for the facts carried by errors.

use lapack_ai_core::routines::solve::Assume;
use lapack_ai_core::routines::{cholesky, cond, det, eig, eigh, factored, inv, lstsq, qr, solve, svd};
use lapack_ai_core::scalar::{Scalar, C32, C64};
use lapack_ai_core::CoreError;
use ndarray::{s, Array2, Array3, ArrayD, Axis, Ix1, Ix2, ShapeBuilder};
use num_traits::{Float, ToPrimitive, Zero};
use proptest::prelude::*;

// ---------------------------------------------------------------- helpers

/// xorshift64: reproducible matrices without a random crate.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    /// Uniform in [-0.5, 0.5).
    fn next(&mut self) -> f64 {
        let s = &mut self.0;
        *s ^= *s << 13;
        *s ^= *s >> 7;
        *s ^= *s << 17;
        (*s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }
    /// Real part and, for complex types, an imaginary part of the same distribution.
    fn scalar<T: Scalar>(&mut self) -> T {
        let (re, im) = (self.next(), self.next());
        T::from_parts(re, if T::COMPLEX { im } else { 0.0 }).unwrap()
    }
}

fn eps<T: Scalar>() -> f64 {
    T::Real::epsilon().to_f64().unwrap()
}

/// The relative tolerance of a backward-stable n x n computation.
fn tol<T: Scalar>(n: usize) -> f64 {
    100.0 * eps::<T>() * n.max(1) as f64
}

fn sc<T: Scalar>(re: f64, im: f64) -> T {
    T::from_parts(re, im).unwrap()
}

fn real<T: Scalar>(x: f64) -> T {
    sc(x, 0.0)
}

fn abs<T: Scalar>(x: T) -> f64 {
    x.modulus().to_f64().unwrap()
}

fn f64_of<R: Scalar>(x: R) -> f64 {
    x.re().to_f64().unwrap()
}

fn random<T: Scalar>(m: usize, n: usize, seed: u64) -> Array2<T> {
    let mut r = Rng::new(seed);
    Array2::from_shape_fn((m, n), |_| r.scalar::<T>())
}

fn eye<T: Scalar>(n: usize) -> Array2<T> {
    Array2::from_shape_fn((n, n), |(i, j)| if i == j { T::one() } else { T::zero() })
}

fn mm<T: Scalar>(a: &Array2<T>, b: &Array2<T>) -> Array2<T> {
    let (m, k) = a.dim();
    let (k2, n) = b.dim();
    assert_eq!(k, k2, "mm: {:?} x {:?}", a.dim(), b.dim());
    let mut c = Array2::<T>::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            let mut acc = T::zero();
            for l in 0..k {
                acc = acc + a[[i, l]] * b[[l, j]];
            }
            c[[i, j]] = acc;
        }
    }
    c
}

/// Conjugate transpose.
fn ct<T: Scalar>(a: &Array2<T>) -> Array2<T> {
    a.t().mapv(|x| x.conj())
}

/// Plain transpose.
fn tp<T: Scalar>(a: &Array2<T>) -> Array2<T> {
    a.t().to_owned()
}

fn fro<T: Scalar>(a: &Array2<T>) -> f64 {
    a.iter().map(|&x| abs(x).powi(2)).sum::<f64>().sqrt()
}

fn dist<T: Scalar>(a: &Array2<T>, b: &Array2<T>) -> f64 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b.iter()).map(|(&x, &y)| abs(x - y).powi(2)).sum::<f64>().sqrt()
}

/// Largest column sum of moduli.
fn norm1<T: Scalar>(a: &Array2<T>) -> f64 {
    a.columns().into_iter().map(|c| c.iter().map(|&x| abs(x)).sum::<f64>()).fold(0.0, f64::max)
}

fn norm_inf<T: Scalar>(a: &Array2<T>) -> f64 {
    norm1(&tp(a))
}

fn scale<T: Scalar>(a: &Array2<T>, f: f64) -> Array2<T> {
    a.mapv(|x| x * real::<T>(f))
}

fn add<T: Scalar>(a: &Array2<T>, b: &Array2<T>) -> Array2<T> {
    let mut c = a.clone();
    c.zip_mut_with(b, |x, &y| *x = *x + y);
    c
}

/// Columns of `v` times the diagonal `w`.
fn times_diag<T: Scalar>(v: &Array2<T>, w: &[T]) -> Array2<T> {
    Array2::from_shape_fn(v.dim(), |(i, j)| v[[i, j]] * w[j])
}

/// The same matrix, stored Fortran-ordered.
fn f_order<T: Scalar>(a: &Array2<T>) -> Array2<T> {
    let mut f = Array2::<T>::zeros(a.dim().f());
    f.assign(a);
    f
}

/// The matrix in both layouts: C-ordered (standard) and Fortran-ordered.
fn layouts<T: Scalar>(a: &Array2<T>) -> [(&'static str, Array2<T>); 2] {
    let c = a.as_standard_layout().to_owned();
    assert!(c.is_standard_layout());
    [("C", c), ("F", f_order(a))]
}

fn two<T: Clone>(x: ArrayD<T>) -> Array2<T> {
    x.into_dimensionality::<Ix2>().unwrap()
}

fn one<T: Clone>(x: ArrayD<T>) -> Vec<T> {
    x.into_dimensionality::<Ix1>().unwrap().to_vec()
}

fn symmetric<T: Scalar>(n: usize, seed: u64) -> Array2<T> {
    let r = random::<T>(n, n, seed);
    add(&r, &tp(&r))
}

fn hermitian<T: Scalar>(n: usize, seed: u64) -> Array2<T> {
    let r = random::<T>(n, n, seed);
    add(&r, &ct(&r))
}

/// Hermitian positive definite: R R^H + I.
fn hpd<T: Scalar>(n: usize, seed: u64) -> Array2<T> {
    let r = random::<T>(n, n, seed);
    add(&mm(&r, &ct(&r)), &eye(n))
}

/// Well conditioned general matrix: random plus a dominant diagonal.
fn dominant<T: Scalar>(n: usize, seed: u64) -> Array2<T> {
    add(&random::<T>(n, n, seed), &scale(&eye::<T>(n), n as f64 * 0.75 + 1.0))
}

/// `a`'s triangle named by `lower` (with the diagonal); garbage in the other one, which
/// routines reading one triangle must not look at.
fn masked<T: Scalar>(a: &Array2<T>, lower: bool, seed: u64) -> Array2<T> {
    let mut g = Rng::new(seed ^ 0xdead_beef);
    Array2::from_shape_fn(a.dim(), |(i, j)| {
        let stored = if lower { i >= j } else { i <= j };
        if stored { a[[i, j]] } else { g.scalar::<T>() * real::<T>(37.0) + real::<T>(5.0) }
    })
}

fn check(what: &str, err: f64, bound: f64) {
    assert!(err.is_finite() && err <= bound, "{what}: {err:e} > {bound:e}");
}

/// Every value of `a` has one in `b` within `tol`, and the other way round.
fn same_set<C: Scalar>(what: &str, a: &[C], b: &[C], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in [(a, b), (b, a)] {
        for &v in x {
            let d = y.iter().map(|&w| abs(v - w)).fold(f64::INFINITY, f64::min);
            assert!(d <= tol, "{what}: {v:?} not in {y:?} ({d:e} > {tol:e})");
        }
    }
}

macro_rules! all_types {
    ($f:ident $(, $arg:expr)*) => {{
        $f::<f32>($($arg),*);
        $f::<f64>($($arg),*);
        $f::<C32>($($arg),*);
        $f::<C64>($($arg),*);
    }};
}

// ---------------------------------------------------------------- solve

fn system<T: Scalar>(assume: Assume, n: usize, seed: u64) -> Array2<T> {
    match assume {
        Assume::General => random(n, n, seed),
        Assume::Symmetric => symmetric(n, seed),
        Assume::Hermitian => hermitian(n, seed),
        Assume::Positive => hpd(n, seed),
    }
}

/// Solve in both layouts, reading one triangle for the symmetric kinds: residuals, rcond in
/// (0, 1] and no smaller than the exact one, and both layouts agree to within conditioning.
fn solve_case<T: Scalar>(assume: Assume, lower: bool, n: usize, k: usize, seed: u64) {
    let full = system::<T>(assume, n, seed);
    let input = if assume == Assume::General { full.clone() } else { masked(&full, lower, seed) };
    let b = random::<T>(n, k, seed + 1);
    let what = format!("{} {assume:?} lower={lower} n={n} k={k} seed={seed}", T::DTYPE);
    let exact_rc = if n == 0 {
        f64::INFINITY
    } else {
        let ai = two(inv::inv(full.view().into_dyn(), true).unwrap().x);
        1.0 / (norm1(&full) * norm1(&ai))
    };
    let mut got = Vec::new();
    for (lay, a) in layouts(&input) {
        let r = solve::solve(a.view().into_dyn(), b.view().into_dyn(), assume, lower, true)
            .unwrap_or_else(|e| panic!("{what} {lay}: {e:?}"));
        let x = two(r.x);
        assert_eq!(x.dim(), (n, k), "{what} {lay}");
        let res = dist(&mm(&full, &x), &b);
        check(&format!("{what} {lay}: residual"), res, tol::<T>(n) * fro(&full) * fro(&x) + tol::<T>(n) * fro(&b) * 1e-3);
        if n == 0 {
            assert_eq!(r.rcond.shape(), &[0]);
            continue;
        }
        let rc = f64_of(r.rcond[[]]);
        assert!(rc > 0.0 && rc <= 1.0 + tol::<T>(n), "{what} {lay}: rcond {rc}");
        // Exact for the native path (n <= 8, general or positive); else an upper bound.
        let native = n <= 8 && matches!(assume, Assume::General | Assume::Positive);
        let slack = 1e3 * eps::<T>() * n as f64 / exact_rc;
        if native {
            check(&format!("{what} {lay}: exact rcond {rc} vs {exact_rc}"), (rc - exact_rc).abs() / exact_rc, slack.max(1e-6));
        } else {
            assert!(rc >= exact_rc * (1.0 - slack.min(0.5)), "{what} {lay}: rcond {rc} below the exact {exact_rc}");
            assert!(rc <= exact_rc * 10.0 * n as f64, "{what} {lay}: rcond {rc} far above the exact {exact_rc}");
        }
        got.push((x, rc));
    }
    if got.len() == 2 {
        let (xc, xf) = (&got[0].0, &got[1].0);
        check(&format!("{what}: C against F"), dist(xc, xf), 1e3 * eps::<T>() * n as f64 / exact_rc * fro(xf));
    }
}

fn solve_all_kinds<T: Scalar>() {
    let mut seed = 1;
    for assume in [Assume::General, Assume::Symmetric, Assume::Hermitian, Assume::Positive] {
        for lower in [true, false] {
            for n in [1, 2, 3, 5, 8, 9, 20] {
                seed += 1;
                solve_case::<T>(assume, lower, n, 3, seed);
            }
        }
    }
}

#[test]
fn solve_residuals_all_kinds_both_layouts_both_triangles() {
    all_types!(solve_all_kinds);
}

/// From n = 128 a C-ordered general system is factored as A^T.
///
/// KNOWN CRASH (core bug, left failing on purpose): at this size xGETRF runs OpenBLAS's
/// multithreaded `?getrf_parallel`, whose stack frame is 528 KiB and which recurses about four
/// levels deep; on the test harness's 2 MiB thread stack that overflows past the guard page
/// and the process dies with SIGSEGV (intermittently: it depends on what is mapped below the
/// stack; otherwise it silently scribbles on that memory). Passes with RUST_MIN_STACK=67108864
/// or OPENBLAS_NUM_THREADS=1. See `getrf_from_a_thread_with_the_default_rust_stack` below.
fn solve_transposed_lu<T: Scalar>() {
    solve_case::<T>(Assume::General, false, 130, 2, 99);
    // Singular at this size: `solve_singular` (n = 130).
}

#[test]
fn solve_general_large_c_ordered_uses_transposed_lu() {
    all_types!(solve_transposed_lu);
}

/// A matrix equal to its transpose but not Hermitian (complex symmetric) and one equal to its
/// conjugate transpose but not symmetric: each kind must treat them as what they are, whatever
/// the layout (for C order, A^T = conj(A) when A is Hermitian).
fn solve_symmetric_is_not_hermitian<T: Scalar>() {
    if !T::COMPLEX {
        return;
    }
    for n in [4, 20] {
        let s = symmetric::<T>(n, 5);
        let h = hermitian::<T>(n, 6);
        assert!(dist(&s, &ct(&s)) > 0.1 && dist(&h, &tp(&h)) > 0.1);
        let b = random::<T>(n, 2, 7);
        for (lay, a) in layouts(&s) {
            let x = two(solve::solve(a.view().into_dyn(), b.view().into_dyn(), Assume::Symmetric, true, true).unwrap().x);
            check(&format!("{} complex symmetric {lay} n={n}", T::DTYPE), dist(&mm(&s, &x), &b), tol::<T>(n) * fro(&s) * fro(&x));
        }
        for (lay, a) in layouts(&h) {
            for lower in [true, false] {
                let x = two(solve::solve(a.view().into_dyn(), b.view().into_dyn(), Assume::Hermitian, lower, true).unwrap().x);
                check(&format!("{} hermitian {lay} lower={lower} n={n}", T::DTYPE), dist(&mm(&h, &x), &b), tol::<T>(n) * fro(&h) * fro(&x));
            }
        }
    }
}

#[test]
fn solve_complex_symmetric_against_hermitian() {
    all_types!(solve_symmetric_is_not_hermitian);
}

fn solve_singular<T: Scalar>() {
    // Column 2 (0-based) is zero: the first zero pivot of A's LU is the third, whatever path
    // (native, LAPACK, and LAPACK on the transpose for a C-ordered n >= 128, refactored as A
    // after A^T's LU failed, so the pivot reported is A's own).
    for n in [5, 20, 130] {
        let mut a = random::<T>(n, n, 3);
        a.column_mut(2).fill(T::zero());
        let b = random::<T>(n, 1, 4);
        for (lay, a) in layouts(&a) {
            let err = solve::solve(a.view().into_dyn(), b.view().into_dyn(), Assume::General, false, true).err();
            assert_eq!(err, Some(CoreError::Lapack { routine: format!("{}getrf", T::PREFIX), info: 3, batch: 0 }),
                       "{} n={n} {lay}", T::DTYPE);
        }
    }
    // Not positive definite: the leading minor of order 2 is negative.
    for n in [3, 20] {
        let mut a = eye::<T>(n);
        a[[1, 1]] = real(-1.0);
        let b = random::<T>(n, 1, 4);
        for (lay, a) in layouts(&a) {
            let err = solve::solve(a.view().into_dyn(), b.view().into_dyn(), Assume::Positive, true, true).err();
            assert_eq!(err, Some(CoreError::Lapack { routine: format!("{}potrf", T::PREFIX), info: 2, batch: 0 }),
                       "{} n={n} {lay}", T::DTYPE);
        }
    }
}

#[test]
fn solve_singular_reports_the_zero_pivot_of_a() {
    all_types!(solve_singular);
}

fn solve_stack<T: Scalar>() {
    for n in [4, 20] {
        for assume in [Assume::General, Assume::Hermitian, Assume::Positive] {
            let mut a = Array3::<T>::zeros((3, n, n));
            for i in 0..3 {
                a.index_axis_mut(Axis(0), i).assign(&system::<T>(assume, n, 40 + i as u64));
            }
            let b = Array3::from_shape_fn((3, n, 2), |(i, r, c)| real::<T>((i * 7 + r * 3 + c) as f64 * 0.1 - 1.0));
            // C-ordered stack, and the same values in a Fortran-ordered buffer.
            let mut af = Array3::<T>::zeros((3, n, n).f());
            af.assign(&a);
            for stack in [a.view(), af.view()] {
                let all = solve::solve(stack.into_dyn(), b.view().into_dyn(), assume, true, true).unwrap();
                assert_eq!(all.x.shape(), &[3, n, 2]);
                assert_eq!(all.rcond.shape(), &[3]);
                for i in 0..3 {
                    let single = solve::solve(stack.index_axis(Axis(0), i).into_dyn(), b.index_axis(Axis(0), i).into_dyn(), assume, true, true).unwrap();
                    let xs = two(single.x);
                    let xa = all.x.index_axis(Axis(0), i).into_dimensionality::<Ix2>().unwrap().to_owned();
                    // Within rounding: a stack may run on one BLAS thread per matrix, a single
                    // call on OpenBLAS's threads, which sum in another order.
                    let what = format!("{} {assume:?} n={n} stack item {i}", T::DTYPE);
                    check(&what, dist(&xa, &xs), tol::<T>(n) * fro(&xs));
                    let (rs, r1) = (f64_of(all.rcond[[i]]), f64_of(single.rcond[[]]));
                    check(&format!("{what}: rcond"), (rs - r1).abs(), tol::<T>(n) * r1);
                }
            }
        }
    }
}

#[test]
fn solve_stack_equals_single_calls() {
    all_types!(solve_stack);
}

// ---------------------------------------------------------------- inv, det, slogdet

fn inv_case<T: Scalar>() {
    for n in [1, 3, 8, 20] {
        let a = random::<T>(n, n, 10 + n as u64);
        for (lay, a_in) in layouts(&a) {
            let r = inv::inv(a_in.view().into_dyn(), true).unwrap();
            let x = two(r.x);
            let what = format!("{} inv n={n} {lay}", T::DTYPE);
            check(&what, dist(&mm(&a, &x), &eye(n)), tol::<T>(n) * fro(&a) * fro(&x));
            let rc = f64_of(r.rcond[[]]);
            let want = 1.0 / (norm1(&a) * norm1(&x));
            check(&format!("{what}: rcond"), (rc - want).abs(), tol::<T>(n) * want);
        }
        // Singular: the zero pivot is named.
        let mut s = a.clone();
        if n >= 2 {
            s.column_mut(1).fill(T::zero());
            let err = inv::inv(s.view().into_dyn(), true).err();
            assert_eq!(err, Some(CoreError::Lapack { routine: format!("{}getrf", T::PREFIX), info: 2, batch: 0 }));
        }
    }
}

#[test]
fn inv_times_a_is_identity() {
    all_types!(inv_case);
}

fn det_case<T: Scalar>() {
    for n in [1, 2, 5, 8, 9, 20] {
        // Triangular: the determinant is the product of the diagonal.
        let mut g = Rng::new(70 + n as u64);
        let diag: Vec<T> = (0..n).map(|_| g.scalar::<T>() + real::<T>(if g.next() > 0.0 { 1.0 } else { -1.0 })).collect();
        let prod = diag.iter().fold(T::one(), |p, &d| p * d);
        for lower in [true, false] {
            let r = random::<T>(n, n, 80 + n as u64);
            let t = Array2::from_shape_fn((n, n), |(i, j)| {
                if i == j { diag[i] } else if (i > j) == lower { r[[i, j]] } else { T::zero() }
            });
            // Rows reversed: the sign of the reversal permutation, (-1)^(n(n-1)/2).
            let rev = t.slice(s![..;-1, ..]).to_owned();
            let flip = if (n * (n.max(1) - 1) / 2) % 2 == 1 { -T::one() } else { T::one() };
            for (m, want) in [(&t, prod), (&rev, prod * flip)] {
                for (lay, a) in layouts(m) {
                    let what = format!("{} det n={n} lower={lower} {lay}", T::DTYPE);
                    let d = det::det(a.view().into_dyn(), true).unwrap()[[]];
                    check(&what, abs(d - want), tol::<T>(n) * abs(want));
                    let (sign, logdet) = det::slogdet(a.view().into_dyn(), true).unwrap();
                    let (sign, logdet) = (sign[[]], f64_of(logdet[[]]));
                    check(&format!("{what}: |sign| = 1"), (abs(sign) - 1.0).abs(), 10.0 * eps::<T>());
                    check(&format!("{what}: sign"), abs(sign - want * real::<T>(1.0 / abs(want))), tol::<T>(n));
                    check(&format!("{what}: logdet"), (logdet - abs(want).ln()).abs(), tol::<T>(n));
                }
            }
        }
        // det(A B) = det(A) det(B), for well-conditioned A and B.
        let a = dominant::<T>(n, 90 + n as u64);
        let b = dominant::<T>(n, 91 + n as u64);
        let ab = mm(&a, &b);
        let sl = |m: &Array2<T>| {
            let (s, l) = det::slogdet(m.view().into_dyn(), true).unwrap();
            (s[[]], f64_of(l[[]]))
        };
        for (lay, _) in layouts(&a) {
            let pick = |m: &Array2<T>| if lay == "C" { m.clone() } else { f_order(m) };
            let ((sa, la), (sb, lb), (sab, lab)) = (sl(&pick(&a)), sl(&pick(&b)), sl(&pick(&ab)));
            let what = format!("{} det(AB) n={n} {lay}", T::DTYPE);
            check(&format!("{what}: sign"), abs(sab - sa * sb), 10.0 * tol::<T>(n));
            check(&format!("{what}: logdet"), (lab - la - lb).abs(), 10.0 * tol::<T>(n));
        }
        // det(A^T) = det(A) and det(A^H) = conj(det(A)), for a matrix that needs pivoting.
        let g = random::<T>(n, n, 95 + n as u64);
        let d = |m: &Array2<T>| det::det(m.view().into_dyn(), true).unwrap()[[]];
        let dg = d(&g);
        for (lay, g_in) in layouts(&g) {
            let what = format!("{} det(A^T), det(A^H) n={n} {lay}", T::DTYPE);
            check(&format!("{what}: layout"), abs(d(&g_in) - dg), 1e3 * eps::<T>() * n as f64 * abs(dg));
            let (gt, gh) = (tp(&g_in), ct(&g_in));
            check(&format!("{what}: transpose"), abs(d(&gt) - dg), 1e3 * eps::<T>() * n as f64 * abs(dg));
            check(&format!("{what}: conjugate transpose"), abs(d(&gh) - dg.conj()), 1e3 * eps::<T>() * n as f64 * abs(dg));
        }
        // Singular: sign 0, logdet -inf, no error.
        if n >= 2 {
            let mut z = a.clone();
            z.row_mut(n - 1).fill(T::zero());
            let (s, l) = det::slogdet(z.view().into_dyn(), true).unwrap();
            assert_eq!(s[[]], T::zero());
            assert!(f64_of(l[[]]) == f64::NEG_INFINITY);
        }
    }
}

fn det_empty<T: Scalar>() {
    let e = Array2::<T>::zeros((0, 0));
    let (s, l) = det::slogdet(e.view().into_dyn(), true).unwrap();
    assert_eq!((s[[]], f64_of(l[[]])), (T::one(), 0.0));
}

#[test]
fn det_and_slogdet_of_triangular_permuted_and_products() {
    all_types!(det_case);
    all_types!(det_empty);
}

// ---------------------------------------------------------------- cholesky

fn cholesky_case<T: Scalar>() {
    for n in [1, 3, 8, 9, 20] {
        let a = hpd::<T>(n, 100 + n as u64);
        for lower in [true, false] {
            let input = masked(&a, lower, 5);
            for (lay, a_in) in layouts(&input) {
                let what = format!("{} cholesky n={n} lower={lower} {lay}", T::DTYPE);
                let c = two(cholesky::cholesky(a_in.view().into_dyn(), lower, true, true).unwrap());
                for i in 0..n {
                    assert!(c[[i, i]].im() == T::Real::zero() && f64_of(c[[i, i]]) > 0.0, "{what}: diagonal {:?}", c[[i, i]]);
                    for j in 0..n {
                        if (lower && j > i) || (!lower && i > j) {
                            assert_eq!(c[[i, j]], T::zero(), "{what}: ({i}, {j})");
                        }
                    }
                }
                let rec = if lower { mm(&c, &ct(&c)) } else { mm(&ct(&c), &c) };
                check(&what, dist(&rec, &a), tol::<T>(n) * fro(&a));
                // Without cleaning, the other triangle keeps the input's entries.
                let raw = two(cholesky::cholesky(a_in.view().into_dyn(), lower, false, true).unwrap());
                for i in 0..n {
                    for j in 0..n {
                        let other = if lower { j > i } else { i > j };
                        let want = if other { input[[i, j]] } else { c[[i, j]] };
                        assert_eq!(raw[[i, j]], want, "{what}: unclean ({i}, {j})");
                    }
                }
            }
        }
    }
}

#[test]
fn cholesky_reconstructs_both_triangles_both_layouts() {
    all_types!(cholesky_case);
}

// ---------------------------------------------------------------- eigh

fn eigh_case<T: Scalar>() {
    for n in [1, 2, 5, 9, 20] {
        let a = hermitian::<T>(n, 120 + n as u64);
        for lower in [true, false] {
            let input = masked(&a, lower, 6);
            for (lay, a_in) in layouts(&input) {
                let what = format!("{} eigh n={n} lower={lower} {lay}", T::DTYPE);
                let (w, v) = eigh::eigh(a_in.view().into_dyn(), lower, true, true).unwrap();
                let (w, v) = (one(w), two(v.unwrap()));
                assert!(w.windows(2).all(|p| p[0] <= p[1]), "{what}: not ascending {w:?}");
                let wt: Vec<T> = w.iter().map(|&x| T::from_real(x)).collect();
                check(&format!("{what}: A V = V W"), dist(&mm(&a, &v), &times_diag(&v, &wt)), tol::<T>(n) * fro(&a));
                check(&format!("{what}: V^H V = I"), dist(&mm(&ct(&v), &v), &eye(n)), tol::<T>(n));
                let (w2, none) = eigh::eigh(a_in.view().into_dyn(), lower, false, true).unwrap();
                assert!(none.is_none());
                for (x, y) in one(w2).iter().zip(&w) {
                    check(&format!("{what}: values alone"), f64_of(*x - *y).abs(), tol::<T>(n) * fro(&a));
                }
            }
        }
    }
}

#[test]
fn eigh_vectors_both_triangles_both_layouts() {
    all_types!(eigh_case);
}

// ---------------------------------------------------------------- svd

fn svd_case<T: Scalar>() {
    use svd::{Driver, Vectors};
    for (m, n) in [(1, 1), (6, 4), (4, 6), (1, 5), (20, 13), (13, 20)] {
        let a = random::<T>(m, n, (m * 31 + n) as u64);
        let k = m.min(n);
        for (lay, a_in) in layouts(&a) {
            let s_only = one(svd::svd(a_in.view().into_dyn(), Vectors::None, Vectors::None, Driver::Gesdd, true).unwrap().s);
            for driver in [Driver::Gesdd, Driver::Gesvd] {
                let mut jobs = vec![(Vectors::Reduced, Vectors::Reduced), (Vectors::Full, Vectors::Full)];
                if driver == Driver::Gesvd {
                    jobs.extend([(Vectors::Full, Vectors::Reduced), (Vectors::Reduced, Vectors::Full),
                                 (Vectors::Reduced, Vectors::None), (Vectors::None, Vectors::Full)]);
                }
                for (ju, jv) in jobs {
                    let what = format!("{} svd {m}x{n} {driver:?} {ju:?}/{jv:?} {lay}", T::DTYPE);
                    let r = svd::svd(a_in.view().into_dyn(), ju, jv, driver, true).unwrap_or_else(|e| panic!("{what}: {e:?}"));
                    let s = one(r.s);
                    assert_eq!(s.len(), k, "{what}");
                    assert!(s.windows(2).all(|p| p[0] >= p[1]) && s.iter().all(|&x| x >= T::Real::zero()), "{what}: {s:?}");
                    for (x, y) in s.iter().zip(&s_only) {
                        check(&format!("{what}: s"), f64_of(*x - *y).abs(), tol::<T>(m.max(n)) * fro(&a));
                    }
                    let u = r.u.map(two);
                    let vt = r.vt.map(two);
                    assert_eq!(u.is_some(), ju != Vectors::None, "{what}");
                    assert_eq!(vt.is_some(), jv != Vectors::None, "{what}");
                    if let Some(u) = &u {
                        assert_eq!(u.dim(), (m, if ju == Vectors::Full { m } else { k }), "{what}");
                        check(&format!("{what}: U^H U"), dist(&mm(&ct(u), u), &eye(u.ncols())), tol::<T>(m));
                    }
                    if let Some(vt) = &vt {
                        assert_eq!(vt.dim(), (if jv == Vectors::Full { n } else { k }, n), "{what}");
                        check(&format!("{what}: Vt Vt^H"), dist(&mm(vt, &ct(vt)), &eye(vt.nrows())), tol::<T>(n));
                    }
                    if let (Some(u), Some(vt)) = (&u, &vt) {
                        let st: Vec<T> = s.iter().map(|&x| T::from_real(x)).collect();
                        let us = times_diag(&u.slice(s![.., ..k]).to_owned(), &st);
                        let rec = mm(&us, &vt.slice(s![..k, ..]).to_owned());
                        check(&format!("{what}: U S Vt = A"), dist(&rec, &a), tol::<T>(m.max(n)) * fro(&a));
                    }
                }
            }
        }
    }
}

#[test]
fn svd_reconstructs_both_drivers_both_layouts() {
    all_types!(svd_case);
}

// ---------------------------------------------------------------- qr

fn qr_case<T: Scalar>() {
    for (m, n) in [(1, 1), (6, 4), (4, 6), (20, 20), (13, 7)] {
        let a = random::<T>(m, n, (m * 17 + n) as u64);
        let k = m.min(n);
        for (lay, a_in) in layouts(&a) {
            let (_, r_only) = qr::qr(a_in.view().into_dyn(), qr::Mode::R, true).unwrap();
            let r_only = two(r_only);
            assert_eq!(r_only.dim(), (k, n));
            for mode in [qr::Mode::Reduced, qr::Mode::Complete] {
                let what = format!("{} qr {m}x{n} {mode:?} {lay}", T::DTYPE);
                let (q, r) = qr::qr(a_in.view().into_dyn(), mode, true).unwrap();
                let (q, r) = (two(q.unwrap()), two(r));
                let qc = if mode == qr::Mode::Complete { m } else { k };
                assert_eq!(q.dim(), (m, qc), "{what}");
                assert_eq!(r.dim(), (qc, n), "{what}");
                for i in 0..qc {
                    for j in 0..n.min(i) {
                        assert_eq!(r[[i, j]], T::zero(), "{what}: R({i}, {j})");
                    }
                }
                check(&format!("{what}: Q^H Q"), dist(&mm(&ct(&q), &q), &eye(qc)), tol::<T>(m));
                check(&format!("{what}: QR = A"), dist(&mm(&q, &r), &a), tol::<T>(m.max(n)) * fro(&a));
                check(&format!("{what}: R alone"), dist(&r.slice(s![..k, ..]).to_owned(), &r_only), tol::<T>(m.max(n)) * fro(&a));
            }
        }
    }
}

#[test]
fn qr_orthonormal_and_reconstructs() {
    all_types!(qr_case);
}

// ---------------------------------------------------------------- lstsq

fn lstsq_case<T: Scalar>() {
    let minus_one = T::Real::from_parts(-1.0, 0.0).unwrap();
    // Overdetermined, full rank: the residual is orthogonal to A's columns.
    let (m, n) = (12, 5);
    let a = random::<T>(m, n, 200);
    let b = random::<T>(m, 2, 201);
    for ((lay, a_in), (_, b_in)) in layouts(&a).into_iter().zip(layouts(&b)) {
        let what = format!("{} lstsq {m}x{n} {lay}", T::DTYPE);
        let ls = lstsq::lstsq(a_in.view(), b_in.view(), minus_one, true).unwrap();
        assert_eq!(ls.rank, n, "{what}");
        assert_eq!(ls.x.dim(), (n, 2));
        let r = add(&b, &scale(&mm(&a, &ls.x), -1.0));
        check(&format!("{what}: A^H r"), fro(&mm(&ct(&a), &r)), tol::<T>(m) * fro(&a) * (fro(&a) * fro(&ls.x) + fro(&b)));
        let res = ls.residuals.to_vec();
        assert_eq!(res.len(), 2, "{what}");
        for (j, &rj) in res.iter().enumerate() {
            let want = r.column(j).iter().map(|&v| abs(v).powi(2)).sum::<f64>();
            check(&format!("{what}: residual {j}"), (f64_of(rj) - want).abs(), tol::<T>(m) * fro(&b).powi(2));
        }
        assert!(ls.s.windows(2).into_iter().all(|p| p[0] >= p[1]), "{what}");
    }
    // Underdetermined: exact fit, the minimum-norm solution x = A^H (A A^H)^-1 b, no residuals.
    let a = random::<T>(5, 12, 202);
    let b = random::<T>(5, 2, 203);
    let aah = mm(&a, &ct(&a));
    let y = two(solve::solve(aah.view().into_dyn(), b.view().into_dyn(), Assume::Positive, true, true).unwrap().x);
    let xmin = mm(&ct(&a), &y);
    for (lay, a_in) in layouts(&a) {
        let what = format!("{} lstsq 5x12 {lay}", T::DTYPE);
        let ls = lstsq::lstsq(a_in.view(), b.view(), minus_one, true).unwrap();
        assert_eq!(ls.rank, 5, "{what}");
        assert_eq!(ls.residuals.len(), 0, "{what}");
        check(&format!("{what}: min norm"), dist(&ls.x, &xmin), 10.0 * tol::<T>(12) * fro(&xmin));
    }
}

#[test]
fn lstsq_residual_orthogonal_and_min_norm() {
    all_types!(lstsq_case);
}

// ---------------------------------------------------------------- rcond

fn rcond_case<T: Scalar>() {
    for n in [1, 4, 9, 20] {
        let a = random::<T>(n, n, 300 + n as u64);
        let ai = two(inv::inv(a.view().into_dyn(), true).unwrap().x);
        let p = hpd::<T>(n, 310 + n as u64);
        let pi = two(inv::inv(p.view().into_dyn(), true).unwrap().x);
        // Estimates: never below the exact value, and not far above it.
        let within = |what: &str, est: f64, exact: f64| {
            assert!(est >= exact * (1.0 - 1e3 * eps::<T>() * n as f64 / exact).max(0.5) && est <= exact * 3.0 * n as f64 + tol::<T>(n),
                    "{what}: estimate {est} against exact {exact}");
        };
        for (lay, a_in) in layouts(&a) {
            for (norm, exact) in [(b'1', 1.0 / (norm1(&a) * norm1(&ai))), (b'I', 1.0 / (norm_inf(&a) * norm_inf(&ai)))] {
                let est = f64_of(cond::rcond(a_in.view().into_dyn(), norm, false, true).unwrap()[[]]);
                within(&format!("{} rcond n={n} norm={} {lay}", T::DTYPE, norm as char), est, exact);
            }
        }
        // Positive definite: the lower triangle is read.
        let exact = 1.0 / (norm1(&p) * norm1(&pi));
        for (lay, p_in) in layouts(&masked(&p, true, 8)) {
            let est = f64_of(cond::rcond(p_in.view().into_dyn(), b'1', true, true).unwrap()[[]]);
            within(&format!("{} rcond positive n={n} {lay}", T::DTYPE), est, exact);
        }
        // Singular: 0, not an error.
        if n >= 2 {
            let mut z = a.clone();
            z.column_mut(n - 1).fill(T::zero());
            for (lay, z_in) in layouts(&z) {
                let est = f64_of(cond::rcond(z_in.view().into_dyn(), b'1', false, true).unwrap()[[]]);
                assert_eq!(est, 0.0, "{} singular n={n} {lay}", T::DTYPE);
            }
        }
    }
}

#[test]
fn rcond_estimates_bound_the_exact_value() {
    all_types!(rcond_case);
}

// ---------------------------------------------------------------- eig, schur

fn rotation<T: Scalar>() -> Array2<T> {
    Array2::from_shape_vec((2, 2), vec![T::zero(), -T::one(), T::one(), T::zero()]).unwrap()
}

/// A V = V diag(w) with unit columns, for `a` given in both layouts; returns w.
fn eig_check<T: Scalar>(what: &str, a: &Array2<T>) -> Vec<T::Complex> {
    let n = a.nrows();
    let ac = a.mapv(|x| x.to_complex());
    let mut first: Option<Vec<T::Complex>> = None;
    for (lay, a_in) in layouts(a) {
        let what = format!("{what} {lay}");
        let (w, v) = eig::eig(a_in.view().into_dyn(), true).unwrap_or_else(|e| panic!("{what}: {e:?}"));
        let (w, v) = (one(w), two(v.unwrap()));
        assert_eq!(v.dim(), (n, n), "{what}");
        check(&format!("{what}: A V = V W"), dist(&mm(&ac, &v), &times_diag(&v, &w)), tol::<T>(n) * fro(a).max(1.0) * (n as f64).sqrt());
        for j in 0..n {
            let norm = v.column(j).iter().map(|&x| abs(x).powi(2)).sum::<f64>().sqrt();
            check(&format!("{what}: |v_{j}|"), (norm - 1.0).abs(), tol::<T>(n));
        }
        if !T::COMPLEX {
            // Real input: pairs of conjugate values with conjugate vectors, positive part first.
            let mut j = 0;
            while j < n {
                if w[j].im() != T::Real::zero() {
                    assert!(w[j].im() > T::Real::zero() && j + 1 < n, "{what}: {w:?}");
                    assert_eq!(w[j + 1], w[j].conj(), "{what}");
                    for r in 0..n {
                        assert_eq!(v[[r, j + 1]], v[[r, j]].conj(), "{what}");
                    }
                    j += 2;
                } else {
                    assert!(v.column(j).iter().all(|x| x.im() == T::Real::zero()), "{what}: real value, complex vector");
                    j += 1;
                }
            }
        }
        let (w2, none) = eig::eig(a_in.view().into_dyn(), false).unwrap();
        assert!(none.is_none());
        same_set(&format!("{what}: values alone"), &one(w2), &w, tol::<T>(n) * fro(a).max(1.0));
        match &first {
            None => first = Some(w),
            Some(w0) => same_set(&format!("{what}: C against F"), w0, &w, 1e3 * eps::<T>() * fro(a).max(1.0) * n as f64),
        }
    }
    first.unwrap()
}

fn eig_case<T: Scalar>() {
    let i = T::Complex::from_parts(0.0, 1.0).unwrap();
    let w = eig_check::<T>(&format!("{} rotation", T::DTYPE), &rotation::<T>());
    same_set("rotation: +-i", &w, &[i, -i], 10.0 * eps::<T>());
    for n in [1, 3, 7, 20] {
        let a = random::<T>(n, n, 400 + n as u64);
        eig_check::<T>(&format!("{} eig n={n}", T::DTYPE), &a);
    }
    // A real matrix with several complex pairs: a block diagonal of scaled rotations, mixed.
    let n = 6;
    let mut blk = Array2::<T>::zeros((n, n));
    for b in 0..3 {
        let r = scale(&rotation::<T>(), b as f64 + 1.0);
        blk.slice_mut(s![2 * b..2 * b + 2, 2 * b..2 * b + 2]).assign(&add(&r, &scale(&eye(2), b as f64 * 0.5)));
    }
    let q = two(qr::qr(random::<T>(n, n, 410).view().into_dyn(), qr::Mode::Complete, true).unwrap().0.unwrap());
    let a = mm(&mm(&q, &blk), &ct(&q));
    let w = eig_check::<T>(&format!("{} eig blocks", T::DTYPE), &a);
    let want: Vec<T::Complex> = (0..3).flat_map(|b| {
        let (re, im) = (b as f64 * 0.5, b as f64 + 1.0);
        [T::Complex::from_parts(re, im).unwrap(), T::Complex::from_parts(re, -im).unwrap()]
    }).collect();
    same_set(&format!("{} eig blocks: values", T::DTYPE), &w, &want, tol::<T>(n) * 10.0);
    // Empty.
    let e = Array2::<T>::zeros((0, 0));
    let (w, v) = eig::eig(e.view().into_dyn(), true).unwrap();
    assert_eq!((w.shape(), v.unwrap().shape()), (&[0][..], &[0, 0][..]));
}

#[test]
fn eig_vectors_and_conjugate_pairs() {
    all_types!(eig_case);
}

fn eig_refuses_non_finite<T: Scalar>() {
    let nan = T::from_real(T::Real::nan());
    let inf = T::from_real(T::Real::infinity());
    for bad in [nan, inf] {
        let mut a = random::<T>(4, 4, 5);
        a[[1, 2]] = bad;
        for (lay, a_in) in layouts(&a) {
            for vectors in [true, false] {
                let err = eig::eig(a_in.view().into_dyn(), vectors).err();
                assert_eq!(err, Some(CoreError::NonFinite { arg: "a", batch: 0, always: true }), "{} {lay}", T::DTYPE);
            }
            let err = eig::schur(a_in.view().into_dyn()).err();
            assert_eq!(err, Some(CoreError::NonFinite { arg: "a", batch: 0, always: true }), "{} schur {lay}", T::DTYPE);
        }
        // In a stack: the index of the matrix that holds it.
        let mut st = Array3::<T>::zeros((3, 4, 4));
        for i in 0..3 {
            st.index_axis_mut(Axis(0), i).assign(&random::<T>(4, 4, 6 + i as u64));
        }
        st[[2, 0, 3]] = bad;
        let err = eig::eig(st.view().into_dyn(), true).err();
        assert_eq!(err, Some(CoreError::NonFinite { arg: "a", batch: 2, always: true }), "{} stack", T::DTYPE);
    }
}

#[test]
fn eig_and_schur_refuse_nan_and_inf() {
    all_types!(eig_refuses_non_finite);
}

fn eig_stack<T: Scalar>() {
    for n in [5, 20] {
        let a = Array3::from_shape_fn((3, n, n), |(b, i, j)| {
            let mut g = Rng::new((b * 1000 + i * n + j) as u64 + 7);
            g.scalar::<T>()
        });
        let (w, v) = eig::eig(a.view().into_dyn(), true).unwrap();
        let v = v.unwrap();
        assert_eq!((w.shape(), v.shape()), (&[3, n][..], &[3, n, n][..]));
        for i in 0..3 {
            let (ws, vs) = eig::eig(a.index_axis(Axis(0), i).into_dyn(), true).unwrap();
            let (ws, vs) = (one(ws), two(vs.unwrap()));
            let wa = w.index_axis(Axis(0), i).to_owned().into_dimensionality::<Ix1>().unwrap().to_vec();
            let va = v.index_axis(Axis(0), i).to_owned().into_dimensionality::<Ix2>().unwrap();
            for (x, y) in wa.iter().zip(&ws) {
                check(&format!("{} eig stack n={n} item {i}: w", T::DTYPE), abs(*x - *y), 10.0 * eps::<T>() * n as f64);
            }
            check(&format!("{} eig stack n={n} item {i}: v", T::DTYPE), dist(&va, &vs), 10.0 * eps::<T>() * n as f64);
        }
    }
}

#[test]
fn eig_stack_equals_single_calls() {
    all_types!(eig_stack);
}

fn schur_case<T: Scalar>() {
    let mut cases = vec![("rotation".to_string(), rotation::<T>())];
    for n in [1, 3, 7, 20] {
        cases.push((format!("n={n}"), random::<T>(n, n, 500 + n as u64)));
    }
    for (name, a) in cases {
        let n = a.nrows();
        let w_eig = one(eig::eig(a.view().into_dyn(), false).unwrap().0);
        for (lay, a_in) in layouts(&a) {
            let what = format!("{} schur {name} {lay}", T::DTYPE);
            let (t, z) = eig::schur(a_in.view().into_dyn()).unwrap_or_else(|e| panic!("{what}: {e:?}"));
            let (t, z) = (two(t), two(z));
            check(&format!("{what}: Z^H Z"), dist(&mm(&ct(&z), &z), &eye(n)), tol::<T>(n));
            check(&format!("{what}: Z T Z^H = A"), dist(&mm(&mm(&z, &t), &ct(&z)), &a), tol::<T>(n) * fro(&a));
            let small = tol::<T>(n) * fro(&a);
            let mut w = Vec::new();
            if T::COMPLEX {
                for i in 0..n {
                    for j in 0..i {
                        assert!(abs(t[[i, j]]) <= small, "{what}: T({i}, {j}) = {:?}", t[[i, j]]);
                    }
                    w.push(t[[i, i]].to_complex());
                }
            } else {
                for i in 0..n {
                    for j in 0..i.saturating_sub(1) {
                        assert!(abs(t[[i, j]]) <= small, "{what}: T({i}, {j}) = {:?}", t[[i, j]]);
                    }
                }
                let mut j = 0;
                while j < n {
                    if j + 1 < n && t[[j + 1, j]] != T::zero() {
                        // A standardised 2x2 block [[a, b], [c, a]] with b c < 0: a +- i sqrt(-bc).
                        assert!(j + 2 >= n || t[[j + 2, j + 1]] == T::zero(), "{what}: overlapping blocks at {j}");
                        let (a0, b0, c0, d0) = (f64_of(t[[j, j]]), f64_of(t[[j, j + 1]]), f64_of(t[[j + 1, j]]), f64_of(t[[j + 1, j + 1]]));
                        check(&format!("{what}: block diagonal at {j}"), (a0 - d0).abs(), small);
                        assert!(b0 * c0 < 0.0, "{what}: block at {j} has real eigenvalues");
                        let im = (-b0 * c0).sqrt();
                        w.push(T::Complex::from_parts(a0, im).unwrap());
                        w.push(T::Complex::from_parts(a0, -im).unwrap());
                        j += 2;
                    } else {
                        w.push(t[[j, j]].to_complex());
                        j += 1;
                    }
                }
            }
            same_set(&format!("{what}: eigenvalues on T's diagonal"), &w, &w_eig, 1e3 * eps::<T>() * fro(&a).max(1.0) * n as f64);
        }
    }
}

#[test]
fn schur_unitary_triangular_reconstructs() {
    all_types!(schur_case);
}

// ---------------------------------------------------------------- lu_factor, lu_solve

/// P L U from lu_factor's output, with SciPy's pivots: row i was swapped with row piv[i].
fn lu_rebuild<T: Scalar>(lu: &Array2<T>, piv: &[i64]) -> Array2<T> {
    let (m, n) = lu.dim();
    let k = m.min(n);
    let l = Array2::from_shape_fn((m, k), |(i, j)| if i == j { T::one() } else if i > j { lu[[i, j]] } else { T::zero() });
    let u = Array2::from_shape_fn((k, n), |(i, j)| if i <= j { lu[[i, j]] } else { T::zero() });
    let mut a = mm(&l, &u);
    for i in (0..k).rev() {
        let p = piv[i] as usize;
        if p != i {
            for c in 0..n {
                a.swap([i, c], [p, c]);
            }
        }
    }
    a
}

fn lu_case<T: Scalar>() {
    for (m, n) in [(1, 1), (5, 5), (8, 8), (20, 20), (6, 3), (3, 6)] {
        let a = random::<T>(m, n, 600 + (m * 10 + n) as u64);
        for (lay, a_in) in layouts(&a) {
            let what = format!("{} lu_factor {m}x{n} {lay}", T::DTYPE);
            let f = factored::lu_factor(a_in.view().into_dyn(), true).unwrap();
            let (lu, piv, info) = (two(f.lu), one(f.piv), f.info[[]]);
            assert_eq!(info, 0, "{what}");
            assert_eq!(piv.len(), m.min(n), "{what}");
            assert!(piv.iter().enumerate().all(|(i, &p)| p as usize >= i && (p as usize) < m), "{what}: {piv:?}");
            let piv64: Vec<i64> = piv.to_vec();
            check(&format!("{what}: P L U = A"), dist(&lu_rebuild(&lu, &piv64), &a), tol::<T>(m.max(n)) * fro(&a));
            if m != n {
                continue;
            }
            let b = random::<T>(n, 3, 650);
            for trans in [b'N', b'T', b'C'] {
                let op = match trans {
                    b'N' => a.clone(),
                    b'T' => tp(&a),
                    _ => ct(&a),
                };
                for (llay, lu_in) in layouts(&lu) {
                    let x = two(factored::lu_solve(lu_in.view().into_dyn(), f_piv(&piv).view().into_dyn(), b.view().into_dyn(), trans, true).unwrap());
                    check(&format!("{what} lu_solve {} lu {llay}", trans as char), dist(&mm(&op, &x), &b), tol::<T>(n) * fro(&a) * fro(&x));
                }
            }
        }
    }
    // A singular matrix is no error: info names the first zero of U's diagonal.
    let mut a = random::<T>(6, 6, 660);
    a.column_mut(3).fill(T::zero());
    let f = factored::lu_factor(a.view().into_dyn(), true).unwrap();
    assert_eq!(f.info[[]], 4, "{}", T::DTYPE);
    assert_eq!(two(f.lu)[[3, 3]], T::zero());
}

fn f_piv(piv: &[lapack_ai_core::blas::Int]) -> ndarray::Array1<lapack_ai_core::blas::Int> {
    ndarray::Array1::from(piv.to_vec())
}

#[test]
fn lu_factor_rebuilds_and_lu_solve_all_transposes() {
    all_types!(lu_case);
}

fn lu_solve_bad_pivots<T: Scalar>() {
    let a = random::<T>(4, 4, 670);
    let f = factored::lu_factor(a.view().into_dyn(), true).unwrap();
    let lu = two(f.lu);
    let b = random::<T>(4, 1, 671);
    for bad in [4, -1, 100] {
        let mut piv = one(f.piv.clone());
        piv[1] = bad;
        let err = factored::lu_solve(lu.view().into_dyn(), f_piv(&piv).view().into_dyn(), b.view().into_dyn(), b'N', true).err();
        assert!(matches!(err, Some(CoreError::Shape(_))), "{} pivot {bad}: {err:?}", T::DTYPE);
    }
    // Wrong number of pivots.
    let piv = f_piv(&one(f.piv.clone())[..3]);
    let err = factored::lu_solve(lu.view().into_dyn(), piv.view().into_dyn(), b.view().into_dyn(), b'N', true).err();
    assert!(matches!(err, Some(CoreError::Shape(_))), "{}: {err:?}", T::DTYPE);
}

#[test]
fn lu_solve_refuses_pivots_outside_the_matrix() {
    all_types!(lu_solve_bad_pivots);
}

fn lu_stack<T: Scalar>() {
    for n in [5, 20] {
        let a = Array3::from_shape_fn((3, n, n), |(b, i, j)| {
            let mut g = Rng::new((b * 977 + i * n + j) as u64 + 11);
            g.scalar::<T>()
        });
        let b = Array3::from_shape_fn((3, n, 2), |(k, i, j)| real::<T>(((k + 1) * (i + 2 * j)) as f64 * 0.05 - 0.3));
        let f = factored::lu_factor(a.view().into_dyn(), true).unwrap();
        assert_eq!((f.lu.shape(), f.piv.shape(), f.info.shape()), (&[3, n, n][..], &[3, n][..], &[3][..]));
        for trans in [b'N', b'C'] {
            let x = factored::lu_solve(f.lu.view(), f.piv.view(), b.view().into_dyn(), trans, true).unwrap();
            for i in 0..3 {
                let fi = factored::lu_factor(a.index_axis(Axis(0), i).into_dyn(), true).unwrap();
                assert_eq!(fi.lu, f.lu.index_axis(Axis(0), i), "{} lu_factor stack item {i}", T::DTYPE);
                assert_eq!(fi.piv, f.piv.index_axis(Axis(0), i));
                let xi = two(factored::lu_solve(fi.lu.view(), fi.piv.view(), b.index_axis(Axis(0), i).into_dyn(), trans, true).unwrap());
                let xa = x.index_axis(Axis(0), i).to_owned().into_dimensionality::<Ix2>().unwrap();
                check(&format!("{} lu_solve stack n={n} {} item {i}", T::DTYPE, trans as char), dist(&xa, &xi), 4.0 * eps::<T>() * fro(&xi));
            }
        }
    }
}

#[test]
fn lu_solve_stack_equals_single_calls() {
    all_types!(lu_stack);
}

// ---------------------------------------------------------------- cho_solve

fn cho_solve_case<T: Scalar>() {
    for n in [1, 4, 9, 20] {
        let a = hpd::<T>(n, 700 + n as u64);
        let b = random::<T>(n, 3, 701);
        for lower in [true, false] {
            for (lay, a_in) in layouts(&a) {
                // Unclean factor: the other triangle holds A's entries and must not be read.
                let c = two(cholesky::cholesky(a_in.view().into_dyn(), lower, false, true).unwrap());
                for (clay, c_in) in layouts(&c) {
                    let x = two(factored::cho_solve(c_in.view().into_dyn(), b.view().into_dyn(), lower, true).unwrap());
                    check(&format!("{} cho_solve n={n} lower={lower} a {lay} c {clay}", T::DTYPE), dist(&mm(&a, &x), &b),
                          tol::<T>(n) * fro(&a) * fro(&x));
                }
            }
        }
    }
}

#[test]
fn cho_solve_from_either_triangle() {
    all_types!(cho_solve_case);
}

// ---------------------------------------------------------------- solve_triangular

fn triangular_case<T: Scalar>() {
    for n in [1, 4, 9, 20] {
        let r = random::<T>(n, n, 800 + n as u64);
        let b = random::<T>(n, 2, 801);
        for lower in [true, false] {
            for unit in [false, true] {
                // The triangle in use, a diagonal away from zero, and garbage elsewhere (a zero
                // diagonal when `unit`: it must not be read).
                let mut g = Rng::new(802);
                let input = Array2::from_shape_fn((n, n), |(i, j)| {
                    if i == j {
                        if unit { T::zero() } else { r[[i, j]] + real::<T>(2.0) }
                    } else if (i > j) == lower {
                        r[[i, j]]
                    } else {
                        g.scalar::<T>() * real::<T>(50.0)
                    }
                });
                let t = Array2::from_shape_fn((n, n), |(i, j)| {
                    if i == j { if unit { T::one() } else { input[[i, j]] } } else if (i > j) == lower { input[[i, j]] } else { T::zero() }
                });
                for trans in [b'N', b'T', b'C'] {
                    let op = match trans {
                        b'N' => t.clone(),
                        b'T' => tp(&t),
                        _ => ct(&t),
                    };
                    for (lay, a_in) in layouts(&input) {
                        let what = format!("{} solve_triangular n={n} lower={lower} unit={unit} {} {lay}", T::DTYPE, trans as char);
                        let x = two(factored::solve_triangular(a_in.view().into_dyn(), b.view().into_dyn(), trans, lower, unit, true)
                            .unwrap_or_else(|e| panic!("{what}: {e:?}")));
                        check(&what, dist(&mm(&op, &x), &b), tol::<T>(n) * fro(&t) * fro(&x));
                    }
                }
            }
        }
    }
}

#[test]
fn solve_triangular_all_variants() {
    all_types!(triangular_case);
}

fn triangular_singular<T: Scalar>() {
    let n = 5;
    let mut t = Array2::from_shape_fn((n, n), |(i, j)| if i >= j { real::<T>((i + j) as f64 + 1.0) } else { T::zero() });
    t[[2, 2]] = T::zero();
    let b = random::<T>(n, 1, 9);
    for (lay, a_in) in layouts(&t) {
        for trans in [b'N', b'T', b'C'] {
            let err = factored::solve_triangular(a_in.view().into_dyn(), b.view().into_dyn(), trans, true, false, true).err();
            assert_eq!(err, Some(CoreError::Lapack { routine: format!("{}trtrs", T::PREFIX), info: 3, batch: 0 }), "{} {lay}", T::DTYPE);
        }
        // With a unit diagonal the zero is not read.
        assert!(factored::solve_triangular(a_in.view().into_dyn(), b.view().into_dyn(), b'N', true, true, true).is_ok());
    }
    // In a stack: the first failing matrix.
    let mut st = Array3::<T>::zeros((3, n, n));
    for i in 0..3 {
        st.index_axis_mut(Axis(0), i).assign(&eye::<T>(n));
    }
    st[[1, 4, 4]] = T::zero();
    st[[2, 0, 0]] = T::zero();
    let bs = Array3::<T>::from_elem((3, n, 1), T::one());
    let err = factored::solve_triangular(st.view().into_dyn(), bs.view().into_dyn(), b'N', false, false, true).err();
    assert_eq!(err, Some(CoreError::Lapack { routine: format!("{}trtrs", T::PREFIX), info: 5, batch: 1 }), "{} stack", T::DTYPE);
}

#[test]
fn solve_triangular_singular_names_the_zero_diagonal() {
    all_types!(triangular_singular);
}

// ---------------------------------------------------------------- eigh_general

fn eigh_general_case<T: Scalar>() {
    for n in [1, 3, 9, 20] {
        let a = hermitian::<T>(n, 900 + n as u64);
        let bm = hpd::<T>(n, 901 + n as u64);
        for lower in [true, false] {
            let (ai, bi) = (masked(&a, lower, 902), masked(&bm, lower, 903));
            for ((lay, a_in), (_, b_in)) in layouts(&ai).into_iter().zip(layouts(&bi)) {
                let what = format!("{} eigh_general n={n} lower={lower} {lay}", T::DTYPE);
                let (w, v) = eigh::eigh_general(a_in.view().into_dyn(), b_in.view().into_dyn(), lower, true, true)
                    .unwrap_or_else(|e| panic!("{what}: {e:?}"));
                let (w, v) = (one(w), two(v.unwrap()));
                assert!(w.windows(2).all(|p| p[0] <= p[1]), "{what}: {w:?}");
                let wt: Vec<T> = w.iter().map(|&x| T::from_real(x)).collect();
                let scale_v = fro(&v);
                check(&format!("{what}: A V = B V W"), dist(&mm(&a, &v), &times_diag(&mm(&bm, &v), &wt)),
                      tol::<T>(n) * (fro(&a) + fro(&bm) * w.iter().map(|x| f64_of(*x).abs()).fold(0.0, f64::max)) * scale_v);
                check(&format!("{what}: V^H B V = I"), dist(&mm(&mm(&ct(&v), &bm), &v), &eye(n)), tol::<T>(n) * fro(&bm) * scale_v * scale_v);
                let (w2, none) = eigh::eigh_general(a_in.view().into_dyn(), b_in.view().into_dyn(), lower, false, true).unwrap();
                assert!(none.is_none());
                for (x, y) in one(w2).iter().zip(&w) {
                    check(&format!("{what}: values alone"), f64_of(*x - *y).abs(), tol::<T>(n) * (1.0 + f64_of(*y).abs()) * 10.0);
                }
            }
        }
    }
}

#[test]
fn eigh_general_vectors_b_orthonormal() {
    all_types!(eigh_general_case);
}

fn eigh_general_b_not_positive<T: Scalar>() {
    let n = 4;
    let a = hermitian::<T>(n, 950);
    let mut b = eye::<T>(n);
    b[[2, 2]] = real(-1.0);
    let routine = format!("{}{}", T::PREFIX, if T::COMPLEX { "hegvd" } else { "sygvd" });
    for lower in [true, false] {
        for vectors in [true, false] {
            let err = eigh::eigh_general(a.view().into_dyn(), b.view().into_dyn(), lower, vectors, true).err();
            assert_eq!(err, Some(CoreError::Lapack { routine: routine.clone(), info: n as i64 + 3, batch: 0 }), "{}", T::DTYPE);
        }
    }
}

#[test]
fn eigh_general_b_not_positive_definite_is_info_above_n() {
    all_types!(eigh_general_b_not_positive);
}

// ---------------------------------------------------------------- property: solve

fn prop_solve<T: Scalar>(n: usize, k: usize, kind: usize, lower: bool, c_order: bool, seed: u64) -> Result<(), TestCaseError> {
    let assume = [Assume::General, Assume::Symmetric, Assume::Hermitian, Assume::Positive][kind];
    // Diagonally dominant general systems: proptest's random sizes must not draw a singular one.
    let full = if assume == Assume::General { dominant::<T>(n, seed) } else { system::<T>(assume, n, seed) };
    let full = if assume == Assume::Symmetric || assume == Assume::Hermitian {
        add(&full, &scale(&eye(n), 2.0 * n as f64))
    } else {
        full
    };
    let input = if assume == Assume::General { full.clone() } else { masked(&full, lower, seed) };
    let input = if c_order { input } else { f_order(&input) };
    let b = random::<T>(n, k, seed + 1);
    let b_in = if c_order { b.clone() } else { f_order(&b) };
    let r = solve::solve(input.view().into_dyn(), b_in.view().into_dyn(), assume, lower, true);
    prop_assert!(r.is_ok(), "{} {assume:?} n={n}: {:?}", T::DTYPE, r.err());
    let r = r.unwrap();
    let x = two(r.x);
    prop_assert_eq!(x.dim(), (n, k));
    let res = dist(&mm(&full, &x), &b);
    let bound = tol::<T>(n) * fro(&full) * fro(&x);
    prop_assert!(res <= bound, "{} {assume:?} n={n} k={k} lower={lower} c={c_order}: residual {res:e} > {bound:e}", T::DTYPE);
    if n > 0 {
        let rc = f64_of(r.rcond[[]]);
        prop_assert!(rc > 0.0 && rc <= 1.0 + tol::<T>(n));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn solve_random_sizes_all_types(n in 0usize..=9, k in 0usize..=3, kind in 0usize..4, lower in any::<bool>(),
                                    c_order in any::<bool>(), seed in 1u64..1_000_000) {
        prop_solve::<f32>(n, k, kind, lower, c_order, seed)?;
        prop_solve::<f64>(n, k, kind, lower, c_order, seed)?;
        prop_solve::<C32>(n, k, kind, lower, c_order, seed)?;
        prop_solve::<C64>(n, k, kind, lower, c_order, seed)?;
    }
}


/// Minimal reproducer of the crash noted at `solve_transposed_lu`: any routine that reaches
/// xGETRF (inv, solve General n > 8, det n > 8, lu_factor, rcond) on a matrix with
/// m * n >= 10000, called with OpenBLAS multithreaded from a thread with Rust's default 2 MiB
/// stack (std::thread::spawn, rayon workers, the test harness), overflows that stack inside
/// OpenBLAS's `?getrf_parallel` (528 KiB frame, recursive) and usually dies with SIGSEGV.
#[test]
fn getrf_from_a_thread_with_the_default_rust_stack() {
    let a = random::<f64>(300, 300, 1);
    let x = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || inv::inv(a.view().into_dyn(), true).map(|r| r.x.len()))
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(x, Ok(300 * 300));
}
