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
