//! One level of a 4x4 scheme over OpenBLAS's GEMM against the plain GEMM, n x n float64:
//! `cargo run --release -p lapack_ai_core --example alpha_speed -- 4096 rank49_strassen_squared`
//! (LAPACK_AI_OPENBLAS names the library). A first measurement, not yet a benchmark of record.

use std::time::Instant;

use lapack_ai_core::alpha::{one_level, scheme, Workspace};
use lapack_ai_core::routines::gemm::gemm1;
use ndarray::Array2;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2048);
    let key = args.get(2).map(String::as_str).unwrap_or("rank49_strassen_squared");
    lapack_ai_core::blas::lib().expect("set LAPACK_AI_OPENBLAS");
    let s = scheme(key).expect("scheme key");
    let a = Array2::from_shape_fn((n, n), |(i, j)| ((i * 7 + j * 13) % 17) as f64 - 8.0);
    let b = Array2::from_shape_fn((n, n), |(i, j)| ((i * 5 + j * 3) % 11) as f64 - 5.0);
    let (mut c0, mut c1) = (Array2::<f64>::zeros((n, n)), Array2::<f64>::zeros((n, n)));
    for round in 0..3 {
        let t0 = Instant::now();
        gemm1(a.view(), b.view(), c0.view_mut(), 1.0, 0.0).unwrap();
        let t1 = Instant::now();
        one_level(s, &mut Workspace::new(s, (n, n, n)).unwrap(), a.view(), b.view(), c1.view_mut(), 1.0, 0.0).unwrap();
        let t2 = Instant::now();
        let (g, f) = ((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64());
        println!("round {round}: n={n} {key}: gemm {g:.3} s, one level {f:.3} s, speed-up {:.3}, exact: {}", g / f, c0 == c1);
    }
}
