//! The tall-skinny SVD (kernels/svd_tall.cl, opencl::svd_tall) on whatever OpenCL device
//! exists (PoCL in CI), from Rust: LAPACK's test ratios (xDRVBD, at most 35) and the CPU
//! routine's singular values; tall and wide, both layouts and dtypes; ill-conditioned and
//! exactly rank-deficient input; what is declined and what is refused. Skips, saying so, when
//! no device is present.

mod common;

use std::time::Instant;

use common::{device, ratios, to_f64, Rng};
use lapack_ai_core::opencl::{svd_tall::{self, Tall}, Gpu};
use lapack_ai_core::routines::svd::{self, Driver, Vectors};
use lapack_ai_core::{CoreError, Scalar};
use ndarray::{Array2, Array3, Axis};
use num_traits::Float;

/// Decomposes `a` (one matrix) on the device with thin vectors and checks it against LAPACK's
/// ratios and the CPU's singular values; panics unless the device decomposed it.
fn check<T: Scalar + Float>(gpu: &Gpu, a: &Array2<f64>, fortran: bool, what: &str) {
    let at: Array2<T> = a.mapv(|x| T::from(x).unwrap());
    let owned;
    let view = if fortran {
        owned = at.t().as_standard_layout().to_owned();
        owned.t().into_dyn()
    } else {
        at.view().into_dyn()
    };
    let (out, run) = svd_tall::svd(gpu, view.clone(), Vectors::Reduced, Vectors::Reduced, true, Instant::now()).expect("device run");
    let r = match out {
        Tall::Done(r) => r,
        Tall::Refused(e) => panic!("{what}: refused: {e}"),
        Tall::Declined(why) => panic!("{what}: declined: {why}"),
    };
    assert!(run.kernel.starts_with("svd-cholqr-") && run.bytes_from_device > 0 && run.kernel_ns > 0);
    let exact = at.mapv(|x| x.to_f64().unwrap()).insert_axis(Axis(0));
    let stacked = |x: ndarray::ArrayD<T>| x.insert_axis(Axis(0));
    let r3 = svd::Svd { u: r.u.clone().map(stacked), s: r.s.clone().insert_axis(Axis(0)), vt: r.vt.clone().map(stacked) };
    let rt = ratios(&exact, &r3, Vectors::Reduced, Vectors::Reduced);
    assert!(rt.iter().all(|&x| x <= 35.0), "{what} {} fortran={fortran}: ratios {rt:?}", T::DTYPE);
    let cpu = svd::svd(view, Vectors::None, Vectors::None, Driver::Gesdd, true).unwrap();
    let (ds, cs) = (to_f64(&r.s), to_f64(&cpu.s));
    let k = a.nrows().min(a.ncols());
    let norm = cs.iter().copied().fold(0.0, f64::max);
    let err = ds.iter().zip(cs.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(err <= 35.0 * k as f64 * T::epsilon().to_f64().unwrap() * norm, "{what}: values {ds} against the CPU's {cs}");
}

#[test]
fn random_tall_and_wide_in_both_layouts_and_dtypes() {
    let Some(gpu) = device() else { return };
    let mut rng = Rng(1);
    for (m, n) in [(300, 12), (40, 700), (65, 16), (520, 100)] {
        let a = rng.matrix(m, n);
        for fortran in [false, true] {
            check::<f64>(&gpu, &a, fortran, &format!("random {m}x{n}"));
            check::<f32>(&gpu, &a, fortran, &format!("random {m}x{n}"));
        }
    }
}

#[test]
fn ill_conditioned_and_exactly_rank_deficient_input() {
    let Some(gpu) = device() else { return };
    let mut rng = Rng(2);
    for cond in [1e6, 1e12] {
        let d: Vec<f64> = (0..24).map(|j| cond.powf(-(j as f64) / 23.0)).collect();
        check::<f64>(&gpu, &rng.with_values(3000, 24, &d), false, &format!("cond {cond:e}"));
    }
    // Repeated and proportional columns: a Cholesky factor that holds by rounding must not be
    // inverted as it is.
    for seed in 0..4 {
        let mut rng = Rng(10 + seed);
        let mut a = rng.matrix(400, 20);
        let c3 = a.column(3).to_owned();
        a.column_mut(5).assign(&c3);
        let c1 = a.column(1).to_owned();
        a.column_mut(7).assign(&(&c1 * 2.0));
        check::<f64>(&gpu, &a, false, &format!("duplicate columns, seed {seed}"));
    }
}

#[test]
fn zero_is_declined_and_non_finite_refused_per_matrix() {
    let Some(gpu) = device() else { return };
    let mut a = Array3::<f64>::zeros((3, 200, 10));
    let mut rng = Rng(3);
    a.index_axis_mut(Axis(0), 0).assign(&rng.matrix(200, 10));
    a.index_axis_mut(Axis(0), 2).assign(&rng.matrix(200, 10));
    let (out, _) = svd_tall::svd(&gpu, a.view().into_dyn(), Vectors::Reduced, Vectors::Reduced, true, Instant::now()).unwrap();
    assert!(matches!(&out, Tall::Declined(why) if why == "matrix 1 of the stack: it is zero"), "{}",
            match out { Tall::Declined(w) => w, _ => "not declined".into() });
    let mut b = a.clone();
    b.index_axis_mut(Axis(0), 1).assign(&rng.matrix(200, 10));
    b[[2, 7, 3]] = f64::NAN;
    b[[1, 0, 0]] = f64::INFINITY;
    for check_finite in [true, false] {
        let (out, _) = svd_tall::svd(&gpu, b.view().into_dyn(), Vectors::None, Vectors::None, check_finite, Instant::now()).unwrap();
        match out {
            Tall::Refused(CoreError::NonFinite { arg: "a", batch: 1, always }) => assert_eq!(always, !check_finite),
            Tall::Refused(e) => panic!("refused otherwise: {e}"),
            _ => panic!("Inf in matrix 1 not refused"),
        }
    }
    // Shapes the route does not cover are a device-class failure (the caller checks first).
    assert!(svd_tall::svd(&gpu, Array3::<f64>::zeros((1, 40, 20)).view().into_dyn(), Vectors::Reduced, Vectors::Reduced, true,
                          Instant::now()).is_err());
}
