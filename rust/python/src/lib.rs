//! `lapack_ai._core`: the thin pyo3 layer over `lapack_ai_core`. Argument conversion lives in
//! `routines.rs`, the one error mapping in `errors.rs`; everything else is in the core crate.

use pyo3::prelude::*;
use std::sync::Mutex;

mod calls;
mod devices;
mod errors;
mod routines;

static LOG_RESET: Mutex<Option<pyo3_log::ResetHandle>> = Mutex::new(None);

/// Forget pyo3-log's cached logger levels (call after changing Python's logging config).
#[pyfunction]
fn reset_log_cache() {
    if let Some(h) = LOG_RESET.lock().unwrap().as_ref() {
        h.reset();
    }
}

/// Threads rayon spreads stacks of small matrices over.
#[pyfunction]
fn num_threads() -> usize {
    lapack_ai_core::threads::init();
    rayon::current_num_threads()
}

/// batch_width(count, dim) -> threads a stack of `count` matrices of largest dimension `dim`
/// is spread over (1: the calling thread alone), as the thread policy decides it now.
#[pyfunction]
fn batch_width(count: usize, dim: usize) -> usize {
    lapack_ai_core::threads::batch_width(count, dim)
}

/// Test hook: panics inside the binding's guard, which must raise `_core.CoreError` (kind
/// "internal"), never a PanicException.
#[pyfunction]
fn selftest_panic(py: Python<'_>) -> PyResult<()> {
    errors::guard(py, "selftest_panic", || -> PyResult<()> {
        let v: Vec<u8> = Vec::new();
        let i = v.len() + 3;
        let _ = v[i]; // index out of bounds: a panic
        Ok(())
    })
}

/// load_blas(package) -> dict: bind the BLAS/LAPACK library (`package`: the scipy-openblas64
/// package's library, used when NumPy's own cannot be shared) and describe it; ImportError
/// when there is none. Later calls describe the library already bound.
#[pyfunction]
#[pyo3(signature = (package=None))]
fn load_blas<'py>(py: Python<'py>, package: Option<&str>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
    let lib = lapack_ai_core::blas::init(package).map_err(pyo3::exceptions::PyImportError::new_err)?;
    let d = pyo3::types::PyDict::new(py);
    d.set_item("path", &lib.path)?;
    d.set_item("origin", lib.origin)?;
    d.set_item("config", &lib.config)?;
    d.set_item("version", format!("{}.{}.{}", lib.version.0, lib.version.1, lib.version.2))?;
    d.set_item("corename", lib.corename())?;
    d.set_item("threads", lapack_ai_core::threads::blas_threads())?;
    d.set_item("catches_xerbla", lib.catches_xerbla)?;
    d.set_item("passed_over", &lib.passed_over)?;
    Ok(d)
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    if let Ok(h) = pyo3_log::try_init() {
        *LOG_RESET.lock().unwrap() = Some(h);
    }
    m.add("CoreError", m.py().get_type::<errors::CoreErrorPy>())?;
    m.add("PARALLEL_MAX_DIM", lapack_ai_core::threads::PARALLEL_MAX_DIM)?;
    m.add("METRICS_RSS_MIN_BYTES", calls::RSS_MIN_BYTES)?;
    m.add("AUTO_SCHEME", lapack_ai_core::dispatch::AUTO_SCHEME)?;
    m.add_function(wrap_pyfunction!(reset_log_cache, m)?)?;
    for f in [wrap_pyfunction!(devices::opencl_devices, m)?, wrap_pyfunction!(devices::explain, m)?,
              wrap_pyfunction!(devices::last_decision, m)?, wrap_pyfunction!(devices::crossover, m)?,
              wrap_pyfunction!(devices::set_crossover, m)?, wrap_pyfunction!(devices::reload_settings, m)?, wrap_pyfunction!(devices::settings, m)?, wrap_pyfunction!(devices::parse_device, m)?, wrap_pyfunction!(devices::last_call, m)?, wrap_pyfunction!(devices::decision_generation, m)?,
              wrap_pyfunction!(devices::cgroup, m)?, wrap_pyfunction!(devices::gemm_kernel_times, m)?,
              wrap_pyfunction!(devices::gemm_on, m)?, wrap_pyfunction!(devices::gemm_alpha_on, m)?, wrap_pyfunction!(devices::gemm_schedule, m)?, wrap_pyfunction!(devices::inject_fault, m)?,
              wrap_pyfunction!(devices::gemm_small_kernel_times, m)?, wrap_pyfunction!(devices::svd_small_kernel_times, m)?, wrap_pyfunction!(devices::eigh_small_kernel_times, m)?,
              wrap_pyfunction!(devices::svd_tall_kernel_times, m)?,
              wrap_pyfunction!(devices::transfer_times, m)?] {
        m.add_function(f)?;
    }
    for f in [wrap_pyfunction!(calls::timed_call, m)?, wrap_pyfunction!(calls::take_records, m)?,
              wrap_pyfunction!(calls::pending_calls, m)?, wrap_pyfunction!(calls::call_depth, m)?,
              wrap_pyfunction!(calls::set_call_depth, m)?, wrap_pyfunction!(calls::register_hooks, m)?,
              wrap_pyfunction!(calls::unix_now, m)?, wrap_pyfunction!(calls::cgroup_memory, m)?] {
        m.add_function(f)?;
    }
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    m.add_function(wrap_pyfunction!(load_blas, m)?)?;
    m.add_function(wrap_pyfunction!(batch_width, m)?)?;
    m.add_function(wrap_pyfunction!(selftest_panic, m)?)?;
    use routines::*;
    for f in [
        wrap_pyfunction!(svd, m)?, wrap_pyfunction!(solve, m)?, wrap_pyfunction!(inv, m)?,
        wrap_pyfunction!(slogdet, m)?, wrap_pyfunction!(det, m)?, wrap_pyfunction!(cholesky, m)?, wrap_pyfunction!(qr, m)?,
        wrap_pyfunction!(eigh, m)?, wrap_pyfunction!(rcond, m)?, wrap_pyfunction!(gemm, m)?, wrap_pyfunction!(gemm_alpha, m)?, wrap_pyfunction!(schemes, m)?, wrap_pyfunction!(matmul2d, m)?,
        wrap_pyfunction!(lstsq, m)?, wrap_pyfunction!(getrf, m)?, wrap_pyfunction!(getri, m)?, wrap_pyfunction!(gesv, m)?,
        wrap_pyfunction!(potrf, m)?, wrap_pyfunction!(posv, m)?, wrap_pyfunction!(geqrf, m)?,
        wrap_pyfunction!(orgqr, m)?, wrap_pyfunction!(gecon, m)?, wrap_pyfunction!(pocon, m)?,
        wrap_pyfunction!(eigh_general, m)?, wrap_pyfunction!(eig, m)?, wrap_pyfunction!(schur, m)?,
        wrap_pyfunction!(lu_factor, m)?, wrap_pyfunction!(lu, m)?, wrap_pyfunction!(lu_solve, m)?, wrap_pyfunction!(cho_solve, m)?,
        wrap_pyfunction!(solve_triangular, m)?,
    ] {
        m.add_function(f)?;
    }
    Ok(())
}
