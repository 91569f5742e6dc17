//! Python entry points of the device runtime and the dispatcher: device list, explain, last
//! decision, crossovers, container facts, kernel benchmarks, and the test-only fault switch.

use lapack_ai_core::dispatch::{self, Decision, Problem};
use lapack_ai_core::opencl::{self, fail, gemm::KernelChoice, DeviceInfo};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn info_dict<'py>(py: Python<'py>, d: &DeviceInfo) -> PyResult<Bound<'py, PyDict>> {
    let o = PyDict::new(py);
    o.set_item("index", d.index)?;
    o.set_item("platform", &d.platform)?;
    o.set_item("platform_version", &d.platform_version)?;
    o.set_item("name", &d.name)?;
    o.set_item("vendor", &d.vendor)?;
    o.set_item("type", d.kind)?;
    o.set_item("driver_version", &d.driver_version)?;
    o.set_item("opencl_version", &d.opencl_version)?;
    o.set_item("global_memory", d.global_mem)?;
    o.set_item("free_memory", opencl::free_memory(d))?;
    o.set_item("max_allocation", d.max_alloc)?;
    o.set_item("local_memory", d.local_mem)?;
    o.set_item("compute_units", d.compute_units)?;
    o.set_item("max_work_group_size", d.max_work_group)?;
    o.set_item("clock_mhz", d.clock_mhz)?;
    o.set_item("fp64", d.fp64)?;
    o.set_item("compute_capability", d.nv_compute_capability)?;
    o.set_item("tensor_core_gemm", opencl::gemm::tensor_core_eligible(d))?;
    o.set_item("unusable", &d.unusable)?;
    Ok(o)
}

/// opencl_devices() -> (list of dicts, problem or None, hints)
#[allow(clippy::type_complexity)]
#[pyfunction]
pub fn opencl_devices(py: Python<'_>) -> PyResult<(Vec<Bound<'_, PyDict>>, Option<String>, Vec<String>)> {
    let found = py.detach(opencl::devices);
    let list = found.list.iter().map(|d| info_dict(py, d)).collect::<PyResult<_>>()?;
    Ok((list, found.problem.clone(), found.hints.clone()))
}

fn decision_dict<'py>(py: Python<'py>, op: &str, d: &Decision) -> PyResult<Bound<'py, PyDict>> {
    let o = PyDict::new(py);
    o.set_item("operation", op)?;
    o.set_item("strategy", d.strategy)?;
    o.set_item("backend", d.backend.name())?;
    o.set_item("device_index", match d.backend { dispatch::Backend::OpenCl(i) => Some(i), _ => None })?;
    o.set_item("device", &d.device)?;
    o.set_item("reason", d.reason.as_ref())?;
    Ok(o)
}

/// explain(op, count, m, n, k, dtype, device=None, scheme="auto") -> decision dict (gemm_alpha's
/// names its scheme); raises ValueError when a forced device cannot run it.
#[pyfunction]
#[pyo3(signature = (op, count, m, n, k, dtype, device=None, scheme="auto"))]
#[allow(clippy::too_many_arguments)]
pub fn explain<'py>(py: Python<'py>, op: &str, count: usize, m: usize, n: usize, k: usize, dtype: &str,
                    device: Option<&str>, scheme: &str) -> PyResult<Bound<'py, PyDict>> {
    let request = device.map(dispatch::parse_request).transpose().map_err(PyValueError::new_err)?;
    let p = Problem { op, count, m, n, k, dtype };
    let d = if op == "gemm_alpha" {
        let scheme = lapack_ai_core::alpha::parse_scheme(scheme).map_err(PyValueError::new_err)?;
        py.detach(|| dispatch::decide_gemm_alpha(&p, request.as_ref(), &scheme)).map(|(d, _)| d)
    } else {
        py.detach(|| dispatch::decide_for(&p, request.as_ref()))
    }.map_err(PyValueError::new_err)?;
    decision_dict(py, op, &d)
}

/// The last call's final decision on this thread (with its transfers for device runs), or
/// None.
#[pyfunction]
pub fn last_decision(py: Python<'_>) -> PyResult<Option<Bound<'_, PyDict>>> {
    let Some(last) = dispatch::last() else { return Ok(None) };
    let o = decision_dict(py, last.op, &last.decision)?;
    let t = last.transfer.unwrap_or_default();
    o.set_item("kernel", (!t.kernel.is_empty()).then_some(t.kernel))?;
    o.set_item("bytes_to_device", t.bytes_to_device)?;
    o.set_item("bytes_from_device", t.bytes_from_device)?;
    o.set_item("kernel_ns", t.kernel_ns)?;
    Ok(Some(o))
}

/// A `device=` string in its normal form ("auto", "cpu", "opencl", "opencl:<sel>"), or
/// ValueError saying what is accepted.
#[pyfunction]
pub fn parse_device(device: &str) -> PyResult<String> {
    dispatch::parse_request(device).map(|r| r.to_string()).map_err(PyValueError::new_err)
}

/// The last call's decision as a tuple, for metrics (a dict costs a microsecond more):
/// (backend, strategy, reason, device, kernel, bytes_to_device, bytes_from_device), or None.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn last_call() -> Option<(&'static str, &'static str, String, Option<String>, Option<String>, u64, u64)> {
    dispatch::last().map(crate::calls::decision_tuple)
}

/// Decisions recorded on this thread so far: metrics read it before a call and take
/// `last_call()` only if it moved (the call reached the core).
#[pyfunction]
pub fn decision_generation() -> u64 {
    dispatch::generation()
}

/// The dispatcher's settings as parsed from the environment: device (the default request),
/// gpu_enabled, memory_limit_pct. Raises ValueError naming a bad variable.
#[pyfunction]
pub fn settings(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let s = dispatch::settings().map_err(PyValueError::new_err)?;
    let o = PyDict::new(py);
    o.set_item("device", s.device.to_string())?;
    o.set_item("gpu_enabled", s.gpu_enabled)?;
    o.set_item("memory_limit_pct", s.memory_limit_pct)?;
    Ok(o)
}

fn device(index: usize) -> PyResult<&'static DeviceInfo> {
    opencl::devices().list.get(index).ok_or_else(|| PyValueError::new_err(format!("no OpenCL device {index}")))
}

/// The key crossovers are stored under: OpenCL device `index`, or the host CPU for None
/// (gemm_alpha's scheme crossover).
fn key(index: Option<usize>) -> PyResult<String> {
    Ok(match index {
        Some(i) => device(i)?.key(),
        None => dispatch::CPU_KEY.to_string(),
    })
}

/// The stored crossover of op/dtype on device `index` or the CPU (None: not calibrated).
#[pyfunction]
pub fn crossover(index: Option<usize>, op: &str, dtype: &str) -> PyResult<Option<usize>> {
    Ok(dispatch::crossover_at(&key(index)?, op, dtype))
}

/// Store a crossover (`n` = None: never won) for device `index` or the CPU (index None) in
/// the user's cache.
#[pyfunction]
#[pyo3(signature = (index, op, dtype, n))]
pub fn set_crossover(index: Option<usize>, op: &str, dtype: &str, n: Option<usize>) -> PyResult<String> {
    dispatch::set_crossover_at(&key(index)?, op, dtype, n.unwrap_or(usize::MAX))
        .map_err(|e| PyRuntimeError::new_err(format!("cannot write the crossover file: {e}")))?;
    Ok(lapack_ai_core::cache::dir().join("crossover.json").display().to_string())
}

/// Re-read LAPACK_AI_DEVICE, LAPACK_GPU_ENABLED, LAPACK_GPU_MEMORY_LIMIT and the crossover
/// file; raises ValueError naming a bad variable.
#[pyfunction]
pub fn reload_settings() -> PyResult<()> {
    dispatch::reload_crossovers();
    dispatch::reload().map(|_| ()).map_err(PyValueError::new_err)
}

/// cgroup facts: version, memory limit/usage (bytes), CPU quota, usable CPUs.
#[pyfunction]
pub fn cgroup(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let c = lapack_ai_core::container::current();
    let o = PyDict::new(py);
    o.set_item("version", c.version)?;
    o.set_item("memory_limit", c.memory_limit)?;
    o.set_item("memory_usage", c.memory_usage)?;
    o.set_item("cpu_quota", c.cpu_quota)?;
    o.set_item("cpus", lapack_ai_core::container::cpus())?;
    Ok(o)
}

fn choice(kernel: &str) -> PyResult<KernelChoice> {
    match kernel {
        "auto" => Ok(KernelChoice::Auto),
        "portable" => Ok(KernelChoice::Portable),
        "tensor-core" => Ok(KernelChoice::TensorCore),
        _ => Err(PyValueError::new_err(format!("kernel must be 'auto', 'portable' or 'tensor-core', got {kernel:?}"))),
    }
}

/// gemm_kernel_times(index, m, n, k, dtype, reps, kernel) -> (variant, [ns per launch]):
/// device-only timing on random operands already on the device.
#[pyfunction]
#[pyo3(signature = (index, m, n, k, dtype, reps, kernel="auto"))]
#[allow(clippy::too_many_arguments)]
pub fn gemm_kernel_times(py: Python<'_>, index: usize, m: usize, n: usize, k: usize, dtype: &str, reps: usize,
                         kernel: &str) -> PyResult<(String, Vec<u64>)> {
    let kernel = choice(kernel)?;
    py.detach(|| {
        let gpu = opencl::gpu(index)?;
        match dtype {
            "float64" => opencl::gemm::bench::<f64>(&gpu, m, n, k, reps, kernel),
            _ => opencl::gemm::bench::<f32>(&gpu, m, n, k, reps, kernel),
        }
    }).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// gemm_small_kernel_times(index, count, m, n, k, dtype, reps, variant="auto", beta=0.0) ->
/// (kernel, [ns per launch]): device-only timing of the small-product kernel on a dense
/// row-major stack of `count` random m x k by k x n products already on the device. `variant`:
/// "element", "matrix", "direct", or "auto" (LAPACK_AI_SMALL_GEMM_VARIANT, else the default);
/// beta != 0 also reads C.
#[pyfunction]
#[pyo3(signature = (index, count, m, n, k, dtype, reps, variant="auto", beta=0.0))]
#[allow(clippy::too_many_arguments)]
pub fn gemm_small_kernel_times(py: Python<'_>, index: usize, count: usize, m: usize, n: usize, k: usize, dtype: &str,
                               reps: usize, variant: &str, beta: f64) -> PyResult<(String, Vec<u64>)> {
    use opencl::gemm_small::{bench_small, SmallVariant};
    let variant = match variant {
        "auto" => None,
        v => Some(SmallVariant::parse(v).ok_or_else(|| {
            PyValueError::new_err(format!("variant must be 'auto', 'element', 'matrix' or 'direct', got {v:?}"))
        })?),
    };
    if dtype != "float64" && dtype != "float32" {
        return Err(PyValueError::new_err(format!("dtype must be 'float64' or 'float32', got {dtype:?}")));
    }
    py.detach(|| {
        let gpu = opencl::gpu(index)?;
        match dtype {
            "float64" => bench_small::<f64>(&gpu, count, m, n, k, reps, variant, beta),
            _ => bench_small::<f32>(&gpu, count, m, n, k, reps, variant, beta),
        }
    }).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// svd_small_kernel_times(index, count, m, n, dtype, reps, vectors=True) -> (kernel, [ns per
/// launch]): device-only timing of the small-SVD kernel on a dense row-major stack of `count`
/// random m x n matrices already on the device (thin U, S and V^T, or S only); a launch that
/// reports a matrix (NaN, no convergence) is a RuntimeError.
#[pyfunction]
#[pyo3(signature = (index, count, m, n, dtype, reps, vectors=true))]
#[allow(clippy::too_many_arguments)]
pub fn svd_small_kernel_times(py: Python<'_>, index: usize, count: usize, m: usize, n: usize, dtype: &str, reps: usize,
                              vectors: bool) -> PyResult<(String, Vec<u64>)> {
    use opencl::svd_small::bench_svd;
    use lapack_ai_core::scalar::{C32, C64};
    if !matches!(dtype, "float64" | "float32" | "complex128" | "complex64") {
        return Err(PyValueError::new_err(format!("dtype must be float64, float32, complex128 or complex64, got {dtype:?}")));
    }
    py.detach(|| {
        let gpu = opencl::gpu(index)?;
        match dtype {
            "float64" => bench_svd::<f64>(&gpu, count, m, n, reps, vectors),
            "float32" => bench_svd::<f32>(&gpu, count, m, n, reps, vectors),
            "complex128" => bench_svd::<C64>(&gpu, count, m, n, reps, vectors),
            _ => bench_svd::<C32>(&gpu, count, m, n, reps, vectors),
        }
    }).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// eigh_small_kernel_times(index, count, n, dtype, reps, vectors=True) -> (kernel, [ns per
/// launch]): as `svd_small_kernel_times` for `eigh` of symmetric n x n matrices (the lower
/// triangles of random ones).
#[pyfunction]
#[pyo3(signature = (index, count, n, dtype, reps, vectors=true))]
pub fn eigh_small_kernel_times(py: Python<'_>, index: usize, count: usize, n: usize, dtype: &str, reps: usize, vectors: bool)
                               -> PyResult<(String, Vec<u64>)> {
    use opencl::svd_small::bench_eigh;
    use lapack_ai_core::scalar::{C32, C64};
    if !matches!(dtype, "float64" | "float32" | "complex128" | "complex64") {
        return Err(PyValueError::new_err(format!("dtype must be float64, float32, complex128 or complex64, got {dtype:?}")));
    }
    py.detach(|| {
        let gpu = opencl::gpu(index)?;
        match dtype {
            "float64" => bench_eigh::<f64>(&gpu, count, n, reps, vectors),
            "float32" => bench_eigh::<f32>(&gpu, count, n, reps, vectors),
            "complex128" => bench_eigh::<C64>(&gpu, count, n, reps, vectors),
            _ => bench_eigh::<C32>(&gpu, count, n, reps, vectors),
        }
    }).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// svd_tall_kernel_times(index, m, n, dtype, reps, vectors=True, cond=1.0) -> (kernel, [ns per
/// decomposition], [ns of it in kernels], [ns of it in the host's factors]): device-side timing
/// of the tall-skinny SVD (CholeskyQR) of a random row-major m x n matrix already on the
/// device, m >= 4 n, n <= 512: wall time from the matrix on the device to thin U on the device
/// and S, V^T on the host, host round trips between the passes included. `cond` > 1: columns
/// graded geometrically to about that condition number.
#[pyfunction]
#[pyo3(signature = (index, m, n, dtype, reps, vectors=true, cond=1.0))]
#[allow(clippy::type_complexity, clippy::too_many_arguments)] // (kernel, wall, kernels, host); Python's keywords
pub fn svd_tall_kernel_times(py: Python<'_>, index: usize, m: usize, n: usize, dtype: &str, reps: usize,
                             vectors: bool, cond: f64) -> PyResult<(String, Vec<u64>, Vec<u64>, Vec<u64>)> {
    use opencl::svd_tall::bench_tall;
    use lapack_ai_core::scalar::{C32, C64};
    if !matches!(dtype, "float64" | "float32" | "complex128" | "complex64") {
        return Err(PyValueError::new_err(format!("dtype must be float64, float32, complex128 or complex64, got {dtype:?}")));
    }
    py.detach(|| {
        let gpu = opencl::gpu(index)?;
        match dtype {
            "float64" => bench_tall::<f64>(&gpu, m, n, reps, vectors, cond),
            "float32" => bench_tall::<f32>(&gpu, m, n, reps, vectors, cond),
            "complex128" => bench_tall::<C64>(&gpu, m, n, reps, vectors, cond),
            _ => bench_tall::<C32>(&gpu, m, n, reps, vectors, cond),
        }
    }).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// transfer_times(index, bytes, reps=5) -> [ns]: the best time to copy `bytes` to the device
/// and back, directly from pageable memory and through pinned staging: [direct up, direct
/// down, staged up, staged down] (benchmarks/transfers.py).
#[pyfunction]
#[pyo3(signature = (index, bytes, reps=5))]
pub fn transfer_times(py: Python<'_>, index: usize, bytes: usize, reps: usize) -> PyResult<[u64; 4]> {
    py.detach(|| {
        let gpu = opencl::gpu(index)?;
        opencl::staging::bench(&gpu, bytes, reps)
    }).map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

/// gemm_schedule(index, m, n, k, dtype, count, kernel) -> (variant, whole, split, slices): how
/// gemm would launch an m x n x k product (x count) on the device: tiles computed whole, then
/// tiles of a last, partly filled wave split into K-slices (tests and benchmarks).
#[pyfunction]
#[pyo3(signature = (index, m, n, k, dtype, count=1, kernel="auto"))]
#[allow(clippy::too_many_arguments)]
pub fn gemm_schedule(py: Python<'_>, index: usize, m: usize, n: usize, k: usize, dtype: &str, count: usize,
                     kernel: &str) -> PyResult<(String, usize, usize, usize)> {
    let kernel = choice(kernel)?;
    py.detach(|| {
        let gpu = opencl::gpu(index)?;
        let v = opencl::gemm::variants(&gpu.info, dtype == "float64", kernel, m, n, k, count).into_iter().next()
            .ok_or_else(|| opencl::fail::classify(0, "this device has no such kernel"))?;
        let s = opencl::gemm::schedule(&gpu.info, &v, m, n, k, count);
        Ok((v.name.to_string(), s.whole, s.split, s.slices))
    }).map_err(|e: opencl::ClFail| PyRuntimeError::new_err(e.to_string()))
}

/// gemm_on(index, a, b, c, alpha, beta, trans_a, trans_b, kernel) -> (variant, kernel_ns,
/// total_ns): run on one device with a chosen kernel, no dispatch and no fallback (tests and
/// benchmarks).
#[pyfunction]
#[pyo3(signature = (index, a, b, c, alpha, beta, trans_a, trans_b, kernel="auto"))]
#[allow(clippy::too_many_arguments)]
pub fn gemm_on(py: Python<'_>, index: usize, a: &Bound<PyAny>, b: &Bound<PyAny>, c: &Bound<PyAny>, alpha: f64, beta: f64,
               trans_a: bool, trans_b: bool, kernel: &str) -> PyResult<(String, u64, u64)> {
    use crate::routines::{ro, rw, view, view_mut};
    use numpy::PyArrayDyn;
    let kernel = choice(kernel)?;
    macro_rules! go {
        ($t:ty) => {{
            let (a, b) = (ro::<$t>(a, "a")?, ro::<$t>(b, "b")?);
            let mut c = rw::<$t>(c, "c")?;
            let (va, vb, vc) = (view(&a, "a")?, view(&b, "b")?, view_mut(&mut c, "c")?);
            lapack_ai_core::routines::gemm::dims(va.shape(), vb.shape(), vc.shape(), trans_a, trans_b)
                .map_err(|e| PyValueError::new_err(e.to_string()))?;
            py.detach(|| {
                let gpu = opencl::gpu(index)?;
                opencl::gemm::gemm(&gpu, va, vb, vc, alpha as $t, beta as $t, trans_a, trans_b, kernel)
            }).map_err(|e| PyRuntimeError::new_err(e.to_string()))?
        }};
    }
    let run = crate::errors::guard(py, "gemm", || Ok(if a.cast::<PyArrayDyn<f64>>().is_ok() { go!(f64) } else { go!(f32) }))?;
    Ok((run.kernel, run.kernel_ns, run.total_ns))
}

/// gemm_alpha_on(index, a, b, c, alpha, beta, scheme) -> (variant, kernel_ns, total_ns): one
/// 2-D gemm_alpha on one device by a named scheme, no dispatch and no fallback (benchmarks).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
pub fn gemm_alpha_on(py: Python<'_>, index: usize, a: &Bound<PyAny>, b: &Bound<PyAny>, c: &Bound<PyAny>, alpha: f64, beta: f64,
                     scheme: &str) -> PyResult<(String, u64, u64)> {
    use crate::routines::{ro, rw, view, view_mut};
    use lapack_ai_core::alpha::{parse_scheme, SchemeRequest};
    use numpy::PyArrayDyn;
    let SchemeRequest::Named(s) = parse_scheme(scheme).map_err(PyValueError::new_err)? else {
        return Err(PyValueError::new_err("gemm_alpha_on runs a named scheme"));
    };
    macro_rules! go {
        ($t:ty) => {{
            let (a, b) = (ro::<$t>(a, "a")?, ro::<$t>(b, "b")?);
            let mut c = rw::<$t>(c, "c")?;
            let (va, vb, vc) = (view(&a, "a")?, view(&b, "b")?, view_mut(&mut c, "c")?);
            let two = |e: ndarray::ShapeError| PyValueError::new_err(format!("gemm_alpha_on takes 2-D arrays: {e}"));
            let (va, vb) = (va.into_dimensionality::<ndarray::Ix2>().map_err(two)?, vb.into_dimensionality::<ndarray::Ix2>().map_err(two)?);
            let vc = vc.into_dimensionality::<ndarray::Ix2>().map_err(two)?;
            if va.ncols() != vb.nrows() || vc.dim() != (va.nrows(), vb.ncols()) {
                return Err(PyValueError::new_err("gemm_alpha_on: shapes do not fit"));
            }
            py.detach(|| {
                let gpu = opencl::gpu(index)?;
                opencl::alpha::gemm_alpha(&gpu, s, va, vb, vc, alpha as $t, beta as $t)
            }).map_err(|e| PyRuntimeError::new_err(e.to_string()))?
        }};
    }
    let run = crate::errors::guard(py, "gemm_alpha", || Ok(if a.cast::<PyArrayDyn<f64>>().is_ok() { go!(f64) } else { go!(f32) }))?;
    Ok((run.kernel, run.kernel_ns, run.total_ns))
}

/// Test switch: inject "alloc" | "launch" | "build" | "lost" faults into the OpenCL runtime,
/// or clear with None. `reset=True` also re-enables devices disabled by a lost device.
#[pyfunction]
#[pyo3(signature = (fault, reset=false))]
pub fn inject_fault(fault: Option<&str>, reset: bool) -> PyResult<()> {
    let f = match fault {
        None => None,
        Some(s) => Some(fail::parse_fault(s).ok_or_else(|| PyValueError::new_err(format!("unknown fault {s:?}")))?),
    };
    fail::inject(f);
    if reset {
        opencl::runtime::reenable();
        opencl::runtime::forget();
    }
    Ok(())
}
