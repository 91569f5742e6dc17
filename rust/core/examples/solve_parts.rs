//! Times the parts of a general solve at n = 64, 256 and 1024 on the OpenBLAS named by
//! LAPACK_AI_OPENBLAS: the figures behind the choices in lapack.rs (xGETRS one column at a time
//! where OpenBLAS would thread it) and routines/solve.rs (A^T loaded by memcpy from n = 128).
//!
//!     LAPACK_AI_OPENBLAS=$(.venv/bin/python -c 'import lapack_ai._blas as b; print(b.package_library())') \
//!         cargo run --release --example solve_parts -p lapack_ai_core

use lapack_ai_core::blas::{self, Int};
use lapack_ai_core::lapack::*;
use lapack_ai_core::layout::load;
use lapack_ai_core::Scalar;
use ndarray::Array2;
use std::time::Instant;

fn t(name: &str, reps: usize, mut f: impl FnMut()) {
    let mut best = f64::MAX;
    for _ in 0..7 {
        let s = Instant::now();
        for _ in 0..reps {
            f()
        }
        best = best.min(s.elapsed().as_secs_f64() / reps as f64 * 1e6);
    }
    print!("{name} {best:.2} us  ");
}

fn main() {
    let lib = blas::lib().expect("set LAPACK_AI_OPENBLAS");
    println!("{} ({} threads)", lib.config, lib.threads());
    for n in [64usize, 256, 1024] {
        let reps = if n <= 64 { 20000 } else if n <= 256 { 500 } else { 20 };
        let mut s = 1u64;
        let c_ordered = Array2::from_shape_fn((n, n), |(i, j)| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5 + if i == j { n as f64 } else { 0.0 }
        });
        let a: Vec<f64> = c_ordered.t().iter().copied().collect(); // column-major copy
        let mut w = a.clone();
        let (mut piv, mut x) = (vec![0 as Int; n], vec![1.0; 2 * n]);
        print!("n={n}: ");
        t("memcpy", reps, || w.copy_from_slice(&a));
        t("transposing load", reps, || { load(c_ordered.view(), &mut FMat::new(&mut w, n, n), false); });
        t("memcpy+getrf", reps, || {
            w.copy_from_slice(&a);
            getrf(&mut FMat::new(&mut w, n, n), &mut piv).unwrap()
        });
        let f = FMat::new(&mut w, n, n);
        t("getrs N", reps, || getrs(b'N', &f.read(), &piv, &mut FMat::new(&mut x[..n], n, 1)).unwrap());
        t("getrs T", reps, || getrs(b'T', &f.read(), &piv, &mut FMat::new(&mut x[..n], n, 1)).unwrap());
        let fns = f64::fns(lib);
        let (ni, mut info) = (n as Int, 0 as Int);
        for k in [2usize, 4] {
            let ki = k as Int;
            let mut xs = vec![1.0; k * n];
            // SAFETY: LU factors and pivots of an n x n matrix, xs holds n x k.
            t(&format!("one xGETRS call, {k} columns"), reps, || unsafe {
                (fns.getrs)(&b'N', &ni, &ki, f.data.as_ptr(), &ni, piv.as_ptr(), xs.as_mut_ptr(), &ni, &mut info, 1)
            });
            // SAFETY: as above, one column at a time.
            t(&format!("{k} one-column calls"), reps, || unsafe {
                for c in 0..k {
                    (fns.getrs)(&b'N', &ni, &1, f.data.as_ptr(), &ni, piv.as_ptr(), xs[c * n..].as_mut_ptr(), &ni, &mut info, 1)
                }
            });
        }
        println!();
    }
}
