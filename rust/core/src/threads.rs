//! Who uses the CPU threads: rayon (across stacks, and across column blocks of large gemm),
//! not OpenBLAS.
//!
//! OpenBLAS 0.3.21 (the one bundled) threads its LAPACK paths badly on these machines: dgetrf
//! with 2 threads took 39 ms at n = 1024 and 3.9 ms at n = 128, against 21 ms and 0.11 ms with
//! one (benchmarks/openblas_threads.py). So the core pins OpenBLAS to one thread and spreads
//! work itself. `LAPACK_AI_BLAS_THREADS` overrides
//! the OpenBLAS thread count for machines where its threading pays off.

use std::ffi::c_int;
use std::sync::Once;

extern "C" {
    fn openblas_set_num_threads(n: c_int);
    fn openblas_get_num_threads() -> c_int;
}

static INIT: Once = Once::new();

/// Apply the thread policy once per process; every public routine calls this first.
pub fn init() {
    INIT.call_once(|| {
        let n = std::env::var("LAPACK_AI_BLAS_THREADS").ok().and_then(|v| v.parse::<c_int>().ok()).unwrap_or(1);
        // SAFETY: plain setter of OpenBLAS's thread count.
        unsafe { openblas_set_num_threads(n.max(1)) };
        log::debug!(target: "lapack_ai", "OpenBLAS threads set to {}", n.max(1));
        // rayon gets the CPUs the container allows (cgroup CPU quota), unless told otherwise.
        if std::env::var_os("RAYON_NUM_THREADS").is_none() {
            let cpus = crate::container::cpus();
            if rayon::ThreadPoolBuilder::new().num_threads(cpus).build_global().is_ok() {
                log::debug!(target: "lapack_ai", "rayon threads: {cpus} (cgroup-aware)");
            }
        }
    });
}

/// Threads OpenBLAS uses inside one call.
pub fn blas_threads() -> usize {
    init();
    // SAFETY: plain getter.
    unsafe { openblas_get_num_threads() as usize }
}
