//! Metrics' call capture. With metrics on, the Python wrapper hands the common call (one or
//! two arrays, no keywords) to `timed_call`, which times it and queues its facts without
//! building Python objects; `take_calls` hands the queue to `lapack_ai.metrics`, which builds
//! the Records in a batch. The call path is native because after a 1 ms BLAS call every line
//! of Python it runs is a cache miss (benchmarks/metrics_overhead.py measures it).

use std::cell::{Cell, RefCell};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use lapack_ai_core::container;
use lapack_ai_core::dispatch::{self, Backend, Last};
use numpy::{PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Calls queued before Python builds their Records; the call that fills it drains it.
const BATCH: usize = 512;

struct Call {
    /// The wrapper's (function, operation, facts).
    site: Py<PyTuple>,
    /// The `measure()` blocks open at the call.
    blocks: Py<PyAny>,
    shapes: Vec<Vec<usize>>,
    dtype: Option<Py<PyAny>>,
    last: Option<Last>,
    seconds: f64,
    timestamp: f64,
    thread: Option<Py<PyAny>>,
    cgroup: Option<u64>,
    /// (utilisation, memory used) from the GPU probe, for device calls.
    gpu: Option<Py<PyAny>>,
    error: Option<String>,
}

static QUEUE: Mutex<Vec<Call>> = Mutex::new(Vec::new());
/// Python's (drain, gpu probe): `register_hooks` sets them when lapack_ai.metrics loads.
static HOOKS: OnceLock<(Py<PyAny>, Py<PyAny>)> = OnceLock::new();

thread_local! {
    /// Public calls running on this thread: a nested one (cond runs svdvals) is not recorded.
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// This thread's name, looked up on its first recorded call (threads may end before
    /// their calls are read).
    static NAME: RefCell<Option<Py<PyAny>>> = const { RefCell::new(None) };
}

fn thread_name(py: Python<'_>) -> Option<Py<PyAny>> {
    NAME.with(|n| {
        if let Some(v) = n.borrow().as_ref() {
            return Some(v.clone_ref(py));
        }
        let v = py.import("threading").ok()?.call_method0("current_thread").ok()?.getattr("name").ok()?.unbind();
        *n.borrow_mut() = Some(v.clone_ref(py));
        Some(v)
    })
}

/// Set metrics' drain (called when the queue is full) and GPU probe (called after device calls).
#[pyfunction]
pub fn register_hooks(drain: Py<PyAny>, gpu: Py<PyAny>) {
    let _ = HOOKS.set((drain, gpu));
}

/// Public calls running on this thread (0 outside any).
#[pyfunction]
pub fn call_depth() -> u32 {
    DEPTH.get()
}

/// Set this thread's call depth (metrics' Python path, around calls it records itself).
#[pyfunction]
pub fn set_call_depth(n: u32) {
    DEPTH.set(n);
}

/// Calls queued and not yet taken.
#[pyfunction]
pub fn pending_calls() -> usize {
    QUEUE.lock().map(|q| q.len()).unwrap_or(0)
}

fn dtype_of<'py>(x: &Bound<'py, PyAny>) -> Option<Py<PyAny>> {
    x.cast::<PyUntypedArray>().ok().map(|a| a.dtype().into_any().unbind())
}

/// timed_call(site, args, blocks): call ``site[0](*args)``, queue what metrics record of it
/// and return its result (or raise its error, queued too). Nested calls are only called.
#[pyfunction]
pub fn timed_call<'py>(py: Python<'py>, site: &Bound<'py, PyTuple>, args: &Bound<'py, PyTuple>,
                       blocks: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let f = site.get_item(0)?;
    if DEPTH.get() > 0 {
        return f.call1(args);
    }
    dispatch::take_last(); // a call refused before the core must not show an older decision
    DEPTH.set(1);
    let wall = SystemTime::now();
    let t0 = Instant::now();
    let r = f.call1(args);
    let seconds = t0.elapsed().as_secs_f64();
    DEPTH.set(0);
    let last = dispatch::last(); // left in place for lapack_ai.last_decision()
    let shapes = args.iter().filter_map(|a| a.cast::<PyUntypedArray>().ok().map(|a| a.shape().to_vec())).collect();
    let first = args.get_item(0).ok();
    let (dtype, error) = match &r {
        Ok(out) => {
            let x = match out.cast::<PyTuple>() {
                Ok(t) => t.get_item(0).ok(),
                Err(_) => Some(out.clone()),
            };
            (x.as_ref().and_then(dtype_of).or_else(|| first.as_ref().and_then(dtype_of)), None)
        }
        Err(e) => {
            let name = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Error".into());
            (first.as_ref().and_then(dtype_of), Some(format!("{name}: {}", e.value(py))))
        }
    };
    let gpu = match (&last, HOOKS.get(), &error) {
        (Some(l), Some((_, probe)), None) if matches!(l.decision.backend, Backend::OpenCl(_)) => {
            probe.call1(py, (l.decision.device.clone(),)).ok()
        }
        _ => None,
    };
    let call = Call {
        site: site.clone().unbind(),
        blocks: blocks.clone().unbind(),
        shapes,
        dtype,
        last,
        seconds,
        timestamp: wall.duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0),
        thread: thread_name(py),
        cgroup: container::memory_usage_cached(),
        gpu,
        error,
    };
    let full = {
        let mut q = QUEUE.lock().unwrap_or_else(|e| e.into_inner());
        q.push(call);
        q.len() >= BATCH
    };
    if full {
        if let Some((drain, _)) = HOOKS.get() {
            // the call itself succeeded or failed on its own: a metrics fault must not change that
            if let Err(e) = drain.call0(py) {
                e.write_unraisable(py, None);
            }
        }
    }
    r
}

/// The decision tuple metrics keep: (backend, strategy, reason, device, kernel,
/// bytes_to_device, bytes_from_device).
#[allow(clippy::type_complexity)]
pub fn decision_tuple(l: Last) -> (&'static str, &'static str, String, Option<String>, Option<String>, u64, u64) {
    let t = l.transfer.unwrap_or_default();
    (l.decision.backend.name(), l.decision.strategy, l.decision.reason.into_owned(), l.decision.device,
     (!t.kernel.is_empty()).then_some(t.kernel), t.bytes_to_device, t.bytes_from_device)
}

/// take_calls() -> [(site, blocks, shapes, dtype, decision, seconds, timestamp, thread name,
/// cgroup memory, gpu, error)], oldest first; the queue is left empty. Consecutive calls with
/// equal shapes, decision or cgroup figure share one Python object (a loop of one call makes
/// one of each), so the ring buffer holds less and metrics can reuse the flop count.
#[pyfunction]
pub fn take_calls(py: Python<'_>) -> PyResult<Vec<Bound<'_, PyTuple>>> {
    let calls = std::mem::take(&mut *QUEUE.lock().unwrap_or_else(|e| e.into_inner()));
    let mut shapes_prev: Option<(Vec<Vec<usize>>, Bound<PyAny>)> = None;
    let mut last_prev: Option<(Option<Last>, Bound<PyAny>)> = None;
    let mut cgroup_prev: Option<(Option<u64>, Bound<PyAny>)> = None;
    let mut out = Vec::with_capacity(calls.len());
    for c in calls {
        let shapes = match &shapes_prev {
            Some((s, o)) if *s == c.shapes => o.clone(),
            _ => {
                let o = PyTuple::new(py, c.shapes.iter().map(|s| PyTuple::new(py, s).unwrap()))?.into_any();
                shapes_prev = Some((c.shapes, o.clone()));
                o
            }
        };
        let last = match &last_prev {
            Some((l, o)) if *l == c.last => o.clone(),
            _ => {
                let o = c.last.clone().map(decision_tuple).into_pyobject(py)?.into_any();
                last_prev = Some((c.last, o.clone()));
                o
            }
        };
        let cgroup = match &cgroup_prev {
            Some((g, o)) if *g == c.cgroup => o.clone(),
            _ => {
                let o = c.cgroup.into_pyobject(py)?.into_any();
                cgroup_prev = Some((c.cgroup, o.clone()));
                o
            }
        };
        out.push((c.site, c.blocks, shapes, c.dtype, last, c.seconds, c.timestamp, c.thread, cgroup, c.gpu, c.error)
            .into_pyobject(py)?);
    }
    Ok(out)
}

/// The cgroup's memory usage in bytes, read at most every 100 ms; None outside a cgroup.
#[pyfunction]
pub fn cgroup_memory() -> Option<u64> {
    container::memory_usage_cached()
}
