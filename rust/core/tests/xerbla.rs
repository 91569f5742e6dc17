//! LAPACK's argument checker never prints a line and lets a result through: with OpenBLAS
//! 0.3.34 or newer its report is caught and becomes an error (older libraries: every argument
//! is checked before the call, see lapack.rs).

use lapack_ai_core::blas::{self, Int};
use lapack_ai_core::Scalar;

#[test]
fn argument_errors_are_caught_not_printed() {
    let lib = blas::lib().expect("set LAPACK_AI_OPENBLAS to libscipy_openblas64_.so");
    if !lib.catches_xerbla {
        eprintln!("skipped: {} ({}) has no openblas_set_xerbla", lib.path, lib.config);
        return;
    }
    let f = f64::fns(lib);
    let (a, mut c) = ([1.0f64; 4], [7.0f64; 4]);
    let (m, n, k, ld): (Int, Int, Int, Int) = (-1, 2, 2, 2);
    // SAFETY: DGEMM rejects m = -1 before touching any array.
    let ((), caught) = blas::catching(|| unsafe {
        (f.gemm)(&b'N', &b'N', &m, &n, &k, &1.0, a.as_ptr(), &ld, a.as_ptr(), &ld, &0.0, c.as_mut_ptr(), &ld, 1, 1)
    });
    assert_eq!(caught, Some(-3)); // DGEMM's third argument, M
    assert_eq!(c, [7.0; 4]); // C untouched, and the caller knows it
    // The checked wrapper refuses the same call before the library sees it.
    let op = lapack_ai_core::lapack::Operand { ptr: a.as_ptr(), trans: b'N', rows: 2, cols: 2, ld: 1 };
    let e = unsafe { lapack_ai_core::lapack::gemm(op, op, 1.0, 0.0, c.as_mut_ptr(), 2, 2, 2) }.unwrap_err();
    assert!(matches!(e, lapack_ai_core::CoreError::Internal(_)), "{e:?}");
}
