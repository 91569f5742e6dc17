//! The 4x4 schemes generated from rust/core/schemes/*.json are exact, and the rank-47 one
//! (AlphaTensor's GF(2) scheme) is wrong over the reals, as the JSON files' own checks say.

use lapack_ai_core::alpha::{offered, scheme, SCHEMES};

fn standard(a: &[f64; 16], b: &[f64; 16]) -> [f64; 16] {
    let mut c = [0.0; 16];
    for i in 0..4 {
        for j in 0..4 {
            c[4 * i + j] = (0..4).map(|k| a[4 * i + k] * b[4 * k + j]).sum();
        }
    }
    c
}

fn unit(p: usize) -> [f64; 16] {
    let mut e = [0.0; 16];
    e[p] = 1.0;
    e
}

/// Entries of C, over all 256 pairs of unit matrices, where the scheme differs from A B. The
/// product is bilinear, so zero proves the scheme exact for every A and B (the Brent
/// equations); the arithmetic here is exact (dyadic coefficients, a few terms each).
fn wrong_entries(s: &lapack_ai_core::alpha::Scheme) -> usize {
    let mut bad = 0;
    for p in 0..16 {
        for q in 0..16 {
            let (a, b) = (unit(p), unit(q));
            let (got, want) = (s.apply(&a, &b), standard(&a, &b));
            bad += got.iter().zip(want).filter(|(g, w)| *g != w).count();
        }
    }
    bad
}

#[test]
fn the_offered_schemes_are_the_verified_files() {
    let keys: Vec<_> = offered().map(|s| (s.key, s.rank)).collect();
    assert_eq!(keys, [("rank48_rational", 48), ("rank48_rational_accurate", 48), ("rank48_rational_uv_pm1", 48),
                      ("rank49_alphatensor_real", 49), ("rank49_plinopt_156", 49), ("rank49_strassen_squared", 49)]);
    assert_eq!(scheme("rank49_strassen_squared").unwrap().naive_additions(), 318); // as the file states
    assert_eq!(scheme("rank49_alphatensor_real").unwrap().naive_additions(), 468);
    assert_eq!(scheme("rank48_rational").unwrap().naive_additions(), 960);
}

#[test]
fn every_offered_scheme_is_exact() {
    for s in offered() {
        assert_eq!(wrong_entries(s), 0, "{}", s.key);
    }
}

#[test]
fn every_offered_scheme_multiplies_integer_matrices_exactly() {
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % 2001) as f64 - 1000.0
    };
    for s in offered() {
        for _ in 0..50 {
            let a: [f64; 16] = std::array::from_fn(|_| next());
            let b: [f64; 16] = std::array::from_fn(|_| next());
            assert_eq!(s.apply(&a, &b), standard(&a, &b), "{}", s.key);
        }
    }
}

#[test]
fn the_rank_47_scheme_holds_modulo_2_only() {
    let s = scheme("rank47_mod2_negative_control").unwrap();
    assert!(!s.offered && s.rank == 47);
    assert_eq!(wrong_entries(s), 465); // of 4096 tensor entries, as schemes/verify.py reports
    for p in 0..16 {
        for q in 0..16 {
            let (a, b) = (unit(p), unit(q));
            for (g, w) in s.apply(&a, &b).iter().zip(standard(&a, &b)) {
                assert_eq!((g - w).rem_euclid(2.0), 0.0); // right modulo 2 everywhere
            }
        }
    }
    assert_eq!(SCHEMES.iter().filter(|s| !s.offered).count(), 1);
}

/// One level over a 4x4 block partition, each block product by BLAS, equals the plain GEMM
/// exactly on integer matrices (every partial sum is an exact f64), for every offered scheme and
/// for row-major, column-major and strided operands, rectangular shapes included.
#[test]
fn one_level_is_exact_on_integer_blocks_in_any_layout() {
    use lapack_ai_core::alpha::{one_level, Workspace};
    use lapack_ai_core::routines::gemm::gemm1;
    use ndarray::{s, Array2, ShapeBuilder};

    if lapack_ai_core::blas::lib().is_err() {
        panic!("set LAPACK_AI_OPENBLAS to run the BLAS tests");
    }
    let (m, k, n) = (24, 36, 20);
    let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 13) % 17) as f64 - 8.0);
    let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 3) % 11) as f64 - 5.0);
    let af = { let mut x = Array2::zeros((m, k).f()); x.assign(&a); x };
    let wide = Array2::from_shape_fn((k, 2 * n), |(i, j)| if j % 2 == 0 { b[(i, j / 2)] } else { f64::NAN });
    let b_strided = wide.slice(s![.., ..;2]);
    let mut want = Array2::zeros((m, n));
    gemm1(a.view(), b.view(), want.view_mut(), 1.0, 0.0).unwrap();
    for s in offered() {
        // one workspace for both calls, as a stack reuses it (in groups of 3 products and in one)
        for most in [Some(3), None] {
            let mut ws = Workspace::grouped(s, (m, n, k), most).unwrap();
            for (av, bv) in [(a.view(), b.view()), (af.view(), b_strided)] {
                let mut c = Array2::from_elem((m, n).f(), f64::NAN); // C is overwritten, NaN never read
                one_level(s, &mut ws, av, bv, c.view_mut(), 1.0, 0.0).unwrap();
                assert_eq!(c, want, "{} at most {most:?} products a group", s.key);
            }
        }
    }
    let s = scheme("rank49_strassen_squared").unwrap();
    let mut c = Array2::zeros((m, n + 1));
    assert!(one_level(s, &mut Workspace::new(s, (m, n + 1, k)).unwrap(), a.view(), b.view(), c.view_mut(), 1.0, 0.0).is_err());
    // a workspace made for other dimensions is refused, not misused
    let mut c = Array2::zeros((m, n));
    assert!(one_level(s, &mut Workspace::new(s, (m, n + 4, k)).unwrap(), a.view(), b.view(), c.view_mut(), 1.0, 0.0).is_err());
}

/// Integer matrices with every product exact in f64: (m x k, k x n, C).
fn integer_case(m: usize, n: usize, k: usize, salt: usize) -> (ndarray::Array2<f64>, ndarray::Array2<f64>, ndarray::Array2<f64>) {
    use ndarray::Array2;
    (Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 13 + salt) % 17) as f64 - 8.0),
     Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 3 + salt) % 11) as f64 - 5.0),
     Array2::from_shape_fn((m, n), |(i, j)| ((i + 2 * j + salt) % 9) as f64 - 4.0))
}

/// gemm_alpha on the CPU: one level on the leading multiples of 4 and the remainders peeled,
/// for every offered scheme, sizes not divisible by 4 (and below 4), transposed operands and
/// alpha/beta, equals the plain GEMM exactly on integers; beta = 0 never reads C.
#[test]
fn cpu_gemm_alpha_peels_any_shape_exactly() {
    use lapack_ai_core::routines::gemm::gemm1;
    use lapack_ai_core::alpha::Workspace;
    use lapack_ai_core::routines::gemm_alpha::cpu;

    lapack_ai_core::blas::lib().expect("set LAPACK_AI_OPENBLAS to run the BLAS tests");
    for &(m, n, k) in &[(8, 8, 8), (13, 10, 9), (5, 7, 6), (3, 8, 8), (8, 2, 8), (8, 8, 3), (17, 21, 19)] {
        let (a, b, c0) = integer_case(m, n, k, m + n);
        let at = a.t().to_owned(); // op(A) = at^T: a transposed view
        for s in offered() {
            for (alpha, beta) in [(1.0, 0.0), (2.0, -1.0), (-0.5, 3.0)] {
                let mut want = c0.clone();
                gemm1(a.view(), b.view(), want.view_mut(), alpha, beta).unwrap();
                let mut got = if beta == 0.0 { ndarray::Array2::from_elem((m, n), f64::NAN) } else { c0.clone() };
                let mut ws = Workspace::new(s, (m & !3, n & !3, k & !3)).unwrap();
                cpu(s, &mut ws, at.t(), b.view(), got.view_mut(), alpha, beta).unwrap();
                assert_eq!(got, want, "{} {m}x{n}x{k} alpha={alpha} beta={beta}", s.key);
            }
        }
    }
}

/// The OpenCL level (generated kernels, stacked GEMM of the block products) on the first
/// usable device, PoCL in CI: exact on integers for every offered scheme, with the products
/// in one group and in groups of 5 (the memory-bounded path), alpha/beta and peeled sizes.
#[test]
fn opencl_gemm_alpha_is_exact_on_integers() {
    use lapack_ai_core::opencl;
    use lapack_ai_core::routines::gemm::gemm1;

    lapack_ai_core::blas::lib().expect("set LAPACK_AI_OPENBLAS to run the BLAS tests");
    let found = opencl::devices();
    let Some(dev) = found.list.iter().find(|d| d.unusable.is_none() && d.fp64) else {
        eprintln!("SKIP: no OpenCL device with fp64: {:?}", found.problem);
        return;
    };
    let gpu = opencl::gpu(dev.index).expect("runtime");
    // Every scheme in one group; Strassen squared also in groups of 20 (each group is its own
    // generated program: PoCL compiles each, so one scheme is enough to prove the grouping).
    for group in [None, Some(20)] {
        for &(m, n, k) in &[(32, 24, 40), (37, 22, 19)] {
            let (a, b, c0) = integer_case(m, n, k, 3);
            for s in offered().filter(|s| group.is_none() || s.key == "rank49_strassen_squared") {
                for (alpha, beta) in [(1.0, 0.0), (2.0, -1.0)] {
                    let mut want = c0.clone();
                    gemm1(a.view(), b.view(), want.view_mut(), alpha, beta).unwrap();
                    let mut got = if beta == 0.0 { ndarray::Array2::from_elem((m, n), f64::NAN) } else { c0.clone() };
                    let run = opencl::alpha::gemm_alpha_grouped(&gpu, s, a.view(), b.view(), got.view_mut(), alpha, beta, group)
                        .unwrap();
                    assert_eq!(got, want, "{} {m}x{n}x{k} group {group:?} alpha={alpha} beta={beta}", s.key);
                    assert!(run.kernel.contains(" over "), "{}", run.kernel);
                }
            }
        }
    }
}
