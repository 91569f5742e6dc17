//! The small-SVD kernel (kernels/svd_small.cl, opencl::svd_small) on whatever OpenCL device
//! exists (PoCL in CI), against LAPACK's test ratios (xDRVBD: residual and orthogonality at
//! most 35) and the CPU routine's singular values. Skips, saying so, when no device is present.

use std::time::Instant;

mod common;

use common::{device, ratios, to_f64, Rng};
use lapack_ai_core::opencl::{svd_small::{self, Knobs}, Gpu};
use lapack_ai_core::routines::svd::{self, Driver, Vectors};
use lapack_ai_core::{CoreError, Scalar};
use ndarray::{s, Array2, Array3, Axis, Ix3};
use num_traits::Float;

/// Runs `a` on the device and on the CPU (gesdd), checks the ratios and that the singular
/// values agree within 35 k eps ||A||_2; returns the ratios.
fn check<T: Scalar + Float>(gpu: &Gpu, a: &Array3<f64>, fortran: bool, ju: Vectors, jvt: Vectors, what: &str) -> [f64; 3] {
    check_with::<T>(gpu, a, fortran, ju, jvt, what, &Knobs::default())
}

/// `check` with the launch `knobs` set.
fn check_with<T: Scalar + Float>(gpu: &Gpu, a: &Array3<f64>, fortran: bool, ju: Vectors, jvt: Vectors, what: &str, knobs: &Knobs)
                                 -> [f64; 3] {
    let at: Array3<T> = a.mapv(|x| T::from(x).unwrap());
    // Fortran order: each matrix column-major (a transposed copy, viewed back).
    let owned;
    let view = if fortran {
        owned = at.view().permuted_axes([0, 2, 1]).as_standard_layout().to_owned();
        owned.view().permuted_axes([0, 2, 1]).into_dyn()
    } else {
        at.view().into_dyn()
    };
    let (r, run) = svd_small::svd(gpu, view.clone(), ju, jvt, true, knobs, Instant::now()).expect("device run");
    let r = r.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(run.kernel.starts_with("svd-jacobi-") && run.bytes_from_device > 0);
    // The ratios against the input as the device saw it (rounded to T).
    let exact = at.mapv(|x| x.to_f64().unwrap());
    let rt = ratios(&exact, &r, ju, jvt);
    assert!(rt.iter().all(|&x| x <= 35.0), "{what} {} ({ju:?}, {jvt:?}, fortran={fortran}): ratios {rt:?}", T::DTYPE);
    let cpu = svd::svd(view, Vectors::None, Vectors::None, Driver::Gesdd, true).unwrap();
    let (ds, cs) = (to_f64(&r.s), to_f64(&cpu.s));
    let eps = T::epsilon().to_f64().unwrap();
    let k = a.dim().1.min(a.dim().2);
    for (i, (d, c)) in ds.outer_iter().zip(cs.outer_iter()).enumerate() {
        let norm = c.iter().copied().fold(0.0, f64::max);
        let err = d.iter().zip(c.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
        assert!(err <= 35.0 * k as f64 * eps * norm, "{what}: matrix {i}: values {d} against the CPU's {c}");
    }
    rt
}

fn stack(count: usize, m: usize, n: usize, mut f: impl FnMut(usize) -> Array2<f64>) -> Array3<f64> {
    let mut a = Array3::zeros((count, m, n));
    for i in 0..count {
        a.index_axis_mut(Axis(0), i).assign(&f(i));
    }
    a
}

const JOBS: [(Vectors, Vectors); 4] = [(Vectors::Reduced, Vectors::Reduced), (Vectors::Full, Vectors::Full),
                                       (Vectors::None, Vectors::None), (Vectors::Reduced, Vectors::None)];

#[test]
fn random_stacks_over_shapes_jobs_layouts_and_dtypes() {
    let Some(gpu) = device() else { return };
    let mut rng = Rng(1);
    // 37 matrices: several groups of the small shapes, the last one partly filled.
    for (m, n) in [(1, 1), (4, 4), (2, 5), (7, 3), (8, 8), (1, 9), (16, 16), (13, 32), (32, 32), (32, 5)] {
        let a = stack(37, m, n, |_| rng.matrix(m, n));
        for (jobs, fortran) in JOBS.iter().zip([false, true, false, true]) {
            check::<f64>(&gpu, &a, fortran, jobs.0, jobs.1, "random");
        }
        check::<f32>(&gpu, &a, false, Vectors::Reduced, Vectors::Reduced, "random");
        check::<f32>(&gpu, &a, true, Vectors::Full, Vectors::Full, "random");
    }
}

/// V accumulated in global memory (as past 32 columns) at small and odd sizes, with a partly
/// filled last group, several lanes per pair and several matrices per group.
#[test]
fn v_in_global_memory_at_every_size() {
    let Some(gpu) = device() else { return };
    let mut rng = Rng(5);
    let knobs = [Knobs { v_global: true, ..Knobs::default() }, Knobs { v_global: true, tpp: Some(3), mpg: Some(3), ..Knobs::default() }];
    for (m, n) in [(1, 1), (2, 5), (7, 3), (1, 9), (13, 32), (32, 5), (33, 33)] {
        let a = stack(37, m, n, |_| rng.matrix(m, n));
        for k in &knobs {
            for (jobs, fortran) in JOBS.iter().zip([false, true, false, true]) {
                check_with::<f64>(&gpu, &a, fortran, jobs.0, jobs.1, "V in global memory", k);
            }
            check_with::<f32>(&gpu, &a, true, Vectors::Full, Vectors::Full, "V in global memory", k);
        }
    }
}

/// LAPACK's matrix types: zero, identity, U D V^T with D from 1 to eps (cond 1/eps), the same
/// scaled near underflow and near overflow, rank-deficient, repeated values.
#[test]
fn lapack_matrix_types() {
    let Some(gpu) = device() else { return };
    let mut rng = Rng(2);
    for (m, n) in [(4, 4), (8, 8), (6, 11), (32, 32), (32, 17)] {
        let k = m.min(n);
        let graded = |eps: f64| -> Vec<f64> { (0..k).map(|i| if k == 1 { 1.0 } else { eps.powf(i as f64 / (k - 1) as f64) }).collect() };
        for double in [true, false] {
            let eps = if double { f64::EPSILON } else { f32::EPSILON as f64 };
            let (tiny, huge) = if double { (f64::MIN_POSITIVE, f64::MAX) } else { (f32::MIN_POSITIVE as f64, f32::MAX as f64) };
            type Make<'a> = Box<dyn Fn(&mut Rng) -> Array2<f64> + 'a>;
            let types: Vec<(&str, Make)> = vec![
                ("zero", Box::new(|_: &mut Rng| Array2::zeros((m, n)))),
                ("identity", Box::new(|_: &mut Rng| Array2::eye(m.max(n)).slice(s![..m, ..n]).to_owned())),
                ("cond 1/eps", Box::new(|r: &mut Rng| r.with_values(m, n, &graded(eps)))),
                ("near underflow", Box::new(|r: &mut Rng| r.with_values(m, n, &graded(eps)) * (tiny / eps))),
                ("near overflow", Box::new(|r: &mut Rng| r.with_values(m, n, &graded(eps)) * (huge * eps / k as f64))),
                ("rank k/2", Box::new(|r: &mut Rng| {
                    let d: Vec<f64> = (0..k).map(|i| if i < k / 2 { 1.0 + i as f64 } else { 0.0 }).collect();
                    r.with_values(m, n, &d)
                })),
                ("repeated", Box::new(|r: &mut Rng| {
                    let d: Vec<f64> = (0..k).map(|i| if i < k / 2 { 2.0 } else { 1.0 + 1e-3 * eps * i as f64 }).collect();
                    r.with_values(m, n, &d)
                })),
            ];
            for (what, make) in &types {
                let a = stack(5, m, n, |_| make(&mut rng));
                for (ju, jvt) in [(Vectors::Reduced, Vectors::Reduced), (Vectors::Full, Vectors::Full)] {
                    if double {
                        check::<f64>(&gpu, &a, false, ju, jvt, what);
                    } else {
                        check::<f32>(&gpu, &a, true, ju, jvt, what);
                    }
                }
            }
        }
    }
}

#[test]
fn non_finite_input_and_non_convergence_are_reported_per_matrix() {
    let Some(gpu) = device() else { return };
    let mut rng = Rng(3);
    let mut a = stack(40, 5, 3, |_| rng.matrix(5, 3));
    a[[9, 0, 1]] = f64::INFINITY;
    a[[5, 4, 2]] = f64::NAN;
    let run = |a: &Array3<f64>, check_finite: bool, knobs: &Knobs| {
        svd_small::svd(&gpu, a.view().into_dyn(), Vectors::Reduced, Vectors::Reduced, check_finite, knobs, Instant::now()).unwrap().0
    };
    // The first bad matrix, as the CPU reports it: NaN is never `always`; Inf is with
    // check_finite=False (the CPU refuses it even then).
    assert_eq!(run(&a, true, &Knobs::default()).err(), Some(CoreError::NonFinite { arg: "a", batch: 5, always: false }));
    a[[5, 4, 2]] = 1.0;
    assert_eq!(run(&a, true, &Knobs::default()).err(), Some(CoreError::NonFinite { arg: "a", batch: 9, always: false }));
    assert_eq!(run(&a, false, &Knobs::default()).err(), Some(CoreError::NonFinite { arg: "a", batch: 9, always: true }));
    a[[9, 0, 1]] = 1.0;
    // One sweep cannot orthogonalize random columns: not converged, never a wrong result.
    let one = Knobs { sweeps: Some(1), ..Knobs::default() };
    let e = run(&a, true, &one).err();
    assert_eq!(e, Some(CoreError::Lapack { routine: "dgesvj_batched".into(), info: 1, batch: 0 }));
    // ... while a stack that converges in one sweep (a sweep with no rotation) passes.
    let diag = stack(3, 5, 3, |i| Array2::eye(5).slice(s![.., ..3]).to_owned() * (i + 1) as f64);
    let s = run(&diag, true, &one).unwrap().s;
    assert_eq!(s.index_axis(Axis(0), 2).iter().copied().collect::<Vec<f64>>(), vec![3.0; 3]);
}

#[test]
fn one_matrix_broadcast_over_a_stack_and_group_sizes() {
    let Some(gpu) = device() else { return };
    let mut rng = Rng(4);
    let one = rng.matrix(6, 4);
    let one3 = one.view().insert_axis(Axis(0));
    let b = one3.broadcast((50, 6, 4)).unwrap().into_dyn();
    for mpg in [1, 3, 64] {
        let knobs = Knobs { mpg: Some(mpg), ..Knobs::default() };
        let (r, run) = svd_small::svd(&gpu, b.clone(), Vectors::Reduced, Vectors::Reduced, true, &knobs, Instant::now()).unwrap();
        let r = r.unwrap();
        assert_eq!(run.bytes_to_device, 24 * 8, "the broadcast matrix moves once");
        let first = r.s.index_axis(Axis(0), 0).to_owned();
        assert!(r.s.outer_iter().all(|x| x == first));
        let rt = ratios(&b.to_owned().into_dimensionality::<Ix3>().unwrap(), &r, Vectors::Reduced, Vectors::Reduced);
        assert!(rt.iter().all(|&x| x <= 35.0), "{rt:?}");
    }
}

/// eigh's mode of the kernel (A + c I, one-sided Jacobi) on random symmetric stacks with only
/// one triangle meaningful (the other filled with garbage): xDRVST's ratios (residual and
/// orthogonality at most 35) and the CPU's syevd eigenvalues within 35 n eps ||A||_1.
#[test]
fn symmetric_eigenproblems_read_one_triangle() {
    use lapack_ai_core::routines::eigh;
    let Some(gpu) = device() else { return };
    let mut rng = Rng(5);
    for n in [1, 2, 5, 8, 17, 32] {
        for lower in [true, false] {
            let sym = stack(21, n, n, |i| {
                let x = rng.matrix(n, n);
                // every fourth matrix indefinite with +-lambda pairs: singular values coincide
                let d = if i % 4 == 0 { Array2::from_diag(&ndarray::Array1::from_shape_fn(n, |j| if j % 2 == 0 { 2.0 } else { -2.0 })) }
                        else { x.clone() + x.t() };
                if i % 4 == 0 {
                    let q = rng.orthonormal(n, n);
                    q.dot(&d).dot(&q.t())
                } else {
                    d
                }
            });
            let mut a = sym.clone();
            for mut m in a.outer_iter_mut() {
                for i in 0..n {
                    for j in 0..n {
                        if (lower && j > i) || (!lower && j < i) {
                            m[[i, j]] = 1e300; // never read
                        }
                    }
                }
            }
            let (r, run) = svd_small::eigh(&gpu, a.view().into_dyn(), lower, true, false, &Knobs::default(), Instant::now())
                .expect("device run");
            let (w, v) = r.expect("converged");
            assert_eq!(run.kernel, format!("eigh-jacobi-{n}x{n}"));
            let (w, v) = (w.into_dimensionality::<ndarray::Ix2>().unwrap(), v.unwrap().into_dimensionality::<Ix3>().unwrap());
            let (cw, _) = eigh::eigh(sym.view().into_dyn(), true, false, true).unwrap();
            let eps = f64::EPSILON;
            for i in 0..21 {
                let (s, vi, wi) = (sym.index_axis(Axis(0), i), v.index_axis(Axis(0), i), w.index_axis(Axis(0), i));
                let one = |m: &Array2<f64>| (0..n).map(|j| m.column(j).iter().map(|x| x.abs()).sum::<f64>()).fold(0.0, f64::max);
                let norm = one(&s.to_owned()).max(f64::MIN_POSITIVE);
                let res = one(&(&s - &(&vi * &wi).dot(&vi.t()))) / (norm * n as f64 * eps);
                let orth = one(&(Array2::eye(n) - vi.t().dot(&vi))) / (n as f64 * eps);
                assert!(res <= 35.0 && orth <= 35.0, "{n}x{n} lower={lower} matrix {i}: ratios {res} {orth}");
                for j in 0..n {
                    assert!((wi[j] - cw[[i, j]]).abs() <= 35.0 * n as f64 * eps * norm, "{n}x{n} matrix {i}: {wi} against {}",
                            cw.index_axis(Axis(0), i));
                }
                assert!(wi.windows(2).into_iter().all(|p| p[0] <= p[1]), "ascending: {wi}");
            }
        }
    }
}
