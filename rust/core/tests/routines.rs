//! The core without Python: each routine on small known inputs, reconstruction checks,
//! layouts, stacks, and the facts carried by errors.

use approx::assert_abs_diff_eq;
use lapack_ai_core::routines::{cholesky, cond, det, eigh, gemm, inv, lstsq, qr, solve, svd};
use lapack_ai_core::CoreError;
use ndarray::{array, s, Array2, Array3, ArrayD, Axis, Ix2};

fn a3() -> Array2<f64> {
    array![[4.0, 1.0, 2.0], [1.0, 5.0, 3.0], [2.0, 3.0, 6.0]]
}

fn matmul(a: &Array2<f64>, b: &Array2<f64>) -> Array2<f64> {
    a.dot(b)
}

fn max_diff(a: &ArrayD<f64>, b: &ArrayD<f64>) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn svd_reconstructs_c_and_fortran_input() {
    let a = array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]];
    for input in [a.clone(), a.t().to_owned().reversed_axes()] {
        for driver in [svd::Driver::Gesdd, svd::Driver::Gesvd] {
            let r = svd::svd(input.view().into_dyn(), svd::Vectors::Reduced, svd::Vectors::Reduced, driver, true).unwrap();
            let u = r.u.unwrap().into_dimensionality::<Ix2>().unwrap();
            let vt = r.vt.unwrap().into_dimensionality::<Ix2>().unwrap();
            let s = r.s.into_dimensionality::<ndarray::Ix1>().unwrap();
            assert!(s[0] >= s[1]);
            let rec = matmul(&(&u * &s), &vt);
            assert!(max_diff(&rec.into_dyn(), &a.clone().into_dyn()) < 1e-12);
        }
    }
}

#[test]
fn solve_inv_det_agree() {
    let a = a3();
    let b = array![[1.0], [2.0], [3.0]];
    let x = solve::solve(a.view().into_dyn(), b.view().into_dyn(), solve::Assume::General, false, true).unwrap();
    let x2 = x.x.into_dimensionality::<Ix2>().unwrap();
    assert!(max_diff(&matmul(&a, &x2).into_dyn(), &b.clone().into_dyn()) < 1e-12);
    for assume in [solve::Assume::Symmetric, solve::Assume::Positive] {
        let y = solve::solve(a.view().into_dyn(), b.view().into_dyn(), assume, true, true).unwrap();
        assert!(max_diff(&y.x, &x2.clone().into_dyn()) < 1e-12);
    }
    let ai = inv::inv(a.view().into_dyn(), true).unwrap().x.into_dimensionality::<Ix2>().unwrap();
    assert!(max_diff(&matmul(&a, &ai).into_dyn(), &Array2::eye(3).into_dyn()) < 1e-12);
    let (sign, logdet) = det::slogdet(a.view().into_dyn(), true).unwrap();
    // det = 4(30-9) - 1(6-6) + 2(3-10) = 70
    assert_abs_diff_eq!(sign[[]] * logdet[[]].exp(), 70.0, epsilon = 1e-10);
}

#[test]
fn rcond_exact_for_small_general_solves() {
    // diag(1, 1e-3): ||A||_1 = 1, ||A^-1||_1 = 1000, rcond = 1e-3 exactly.
    let a = array![[1.0, 0.0], [0.0, 1e-3]];
    let b = array![[1.0], [1.0]];
    let r = solve::solve(a.view().into_dyn(), b.view().into_dyn(), solve::Assume::General, false, true).unwrap();
    assert_abs_diff_eq!(r.rcond[[]], 1e-3, epsilon = 1e-15);
    let e = cond::rcond(a.view().into_dyn(), b'1', false, true).unwrap();
    assert_abs_diff_eq!(e[[]], 1e-3, epsilon = 1e-12);
}

#[test]
fn cholesky_qr_eigh_lstsq() {
    let a = a3();
    let l = cholesky::cholesky(a.view().into_dyn(), true, true, true).unwrap().into_dimensionality::<Ix2>().unwrap();
    assert_eq!(l[[0, 2]], 0.0);
    assert!(max_diff(&matmul(&l, &l.t().to_owned()).into_dyn(), &a.clone().into_dyn()) < 1e-12);

    let m = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let (q, r) = qr::qr(m.view().into_dyn(), qr::Mode::Reduced, true).unwrap();
    let (q, r) = (q.unwrap().into_dimensionality::<Ix2>().unwrap(), r.into_dimensionality::<Ix2>().unwrap());
    assert_eq!(r[[1, 0]], 0.0);
    assert!(max_diff(&matmul(&q, &r).into_dyn(), &m.clone().into_dyn()) < 1e-12);

    let (w, v) = eigh::eigh(a.view().into_dyn(), true, true, true).unwrap();
    let (w, v) = (w.into_dimensionality::<ndarray::Ix1>().unwrap(), v.unwrap().into_dimensionality::<Ix2>().unwrap());
    assert!(w[0] <= w[1] && w[1] <= w[2]);
    assert!(max_diff(&matmul(&a, &v).into_dyn(), &(&v * &w).into_dyn()) < 1e-12);

    // Fit y = 1 + 2 t exactly.
    let t = array![[1.0, 0.0], [1.0, 1.0], [1.0, 2.0]];
    let y = array![[1.0], [3.0], [5.0]];
    let ls = lstsq::lstsq(t.view(), y.view(), -1.0, true).unwrap();
    assert_eq!(ls.rank, 2);
    assert_abs_diff_eq!(ls.x[[1, 0]], 2.0, epsilon = 1e-12);
    assert!(ls.residuals[0] < 1e-20);
}

#[test]
fn singular_matrix_reports_routine_info_and_first_failing_batch() {
    let mut stack = Array3::<f64>::zeros((3, 2, 2));
    for i in 0..3 {
        stack.slice_mut(s![i, .., ..]).assign(&Array2::eye(2));
    }
    stack[[1, 1, 1]] = 0.0;
    stack[[2, 0, 0]] = 0.0;
    stack[[2, 1, 1]] = 0.0;
    let err = inv::inv(stack.view().into_dyn(), true).err().unwrap();
    assert_eq!(err, CoreError::Lapack { routine: "dgetrf".into(), info: 2, batch: 1 });
    let f = stack.mapv(|v| v as f32);
    let err = cholesky::cholesky(f.view().into_dyn(), true, true, true).err().unwrap();
    assert_eq!(err, CoreError::Lapack { routine: "spotrf".into(), info: 2, batch: 1 });
    let (sign, _) = det::slogdet(stack.view().into_dyn(), true).unwrap();
    assert_eq!(sign.as_slice().unwrap(), &[1.0, 0.0, 0.0]);
}

#[test]
fn non_finite_input_never_reaches_lapack() {
    let mut a = a3();
    a[[2, 1]] = f64::NAN;
    let err = svd::svd(a.view().into_dyn(), svd::Vectors::None, svd::Vectors::None, svd::Driver::Gesdd, true).err();
    assert_eq!(err, Some(CoreError::NonFinite { arg: "a", batch: 0, always: false }));
    let b = array![[f64::INFINITY], [0.0], [0.0]];
    let err = solve::solve(a3().view().into_dyn(), b.view().into_dyn(), solve::Assume::General, false, true).err();
    assert_eq!(err, Some(CoreError::NonFinite { arg: "b", batch: 0, always: false }));
}

#[test]
fn gemm_all_layouts_and_transposes_match_naive() {
    for &(m, n, k) in &[(3, 4, 5), (70, 90, 130), (1, 7, 3), (0, 3, 2), (4, 3, 0)] {
        let a = Array2::from_shape_fn((m, k), |(i, j)| (i * 3 + j) as f64 * 0.1 - 1.0);
        let b = Array2::from_shape_fn((k, n), |(i, j)| (i + 2 * j) as f64 * 0.05);
        let want = matmul(&a, &b) * 2.0;
        for ta in [false, true] {
            for tb in [false, true] {
                let a_in = if ta { a.t().to_owned() } else { a.clone() };
                let b_in = if tb { b.t().to_owned() } else { b.clone() };
                // C row-major, column-major and strided, all starting as NaN with beta = 0.
                let mut c_c = Array2::from_elem((m, n), f64::NAN);
                let mut c_f = Array2::from_elem((n, m), f64::NAN).reversed_axes();
                let mut big = Array2::from_elem((2 * m + 1, 2 * n + 1), f64::NAN);
                for c in [c_c.view_mut(), c_f.view_mut(), big.slice_mut(s![..;2, ..;2]).slice_move(s![..m, ..n])] {
                    gemm::gemm(a_in.view().into_dyn(), b_in.view().into_dyn(), c.into_dyn(), 2.0, 0.0, ta, tb).unwrap();
                }
                for got in [c_c.view(), c_f.view(), big.slice(s![..;2, ..;2]).slice_move(s![..m, ..n])] {
                    let d = got.iter().zip(want.iter()).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
                    assert!(d < 1e-10, "m={m} n={n} k={k} ta={ta} tb={tb}: {d}");
                }
            }
        }
    }
}

#[test]
fn stacks_run_in_parallel_and_sequentially_with_same_results() {
    for n in [4usize, 80] {
        let stack = Array3::from_shape_fn((5, n, n), |(b, i, j)| if i == j { n as f64 + b as f64 } else { ((i * 7 + j * 3 + b) % 11) as f64 * 0.1 });
        let all = inv::inv(stack.view().into_dyn(), true).unwrap().x;
        for (bi, mat) in stack.axis_iter(Axis(0)).enumerate() {
            let one = inv::inv(mat.into_dyn(), true).unwrap().x;
            assert!(max_diff(&all.index_axis(Axis(0), bi).to_owned(), &one) == 0.0);
        }
    }
}
