//! Metrics' call capture. With metrics on, the Python wrapper hands the common call (one or
//! two arrays, scalar keywords) to `timed_call`, which times it and queues its facts without
//! building Python objects; `take_records` turns the queue into `lapack_ai.metrics.Record`s in
//! a batch when metrics are read. The call path is native because after a 1 ms BLAS call every line
//! of Python it runs is a cache miss (benchmarks/metrics_overhead.py measures it).

use std::cell::{Cell, RefCell};
use std::sync::{Mutex, OnceLock};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use pyo3::types::PyDict;

use lapack_ai_core::container;
use lapack_ai_core::dispatch::{self, Backend, Last};
use numpy::{PyArrayDescr, PyArrayDescrMethods, PyUntypedArray, PyUntypedArrayMethods};
use pyo3::prelude::*;
use pyo3::types::{PyList, PyTuple};

/// Calls queued before Python builds their Records; the call that fills it drains it.
const BATCH: usize = 512;
/// Calls whose first operand has this many bytes go to the Python path, which samples RSS
/// (exported as `_core.METRICS_RSS_MIN_BYTES`).
pub const RSS_MIN_BYTES: usize = 16 << 20;

/// Up to two operand shapes, inline: no allocation for up to 6 dimensions in all.
enum Shapes {
    Inline { ndims: [u8; 2], count: u8, dims: [usize; 6] },
    Heap(Vec<Vec<usize>>),
}

impl Shapes {
    fn of(arrays: &[&Bound<'_, PyUntypedArray>]) -> Shapes {
        let total: usize = arrays.iter().map(|a| a.ndim()).sum();
        if total > 6 {
            return Shapes::Heap(arrays.iter().map(|a| a.shape().to_vec()).collect());
        }
        let (mut ndims, mut dims, mut at) = ([0u8; 2], [0usize; 6], 0);
        for (i, a) in arrays.iter().enumerate() {
            ndims[i] = a.ndim() as u8;
            dims[at..at + a.ndim()].copy_from_slice(a.shape());
            at += a.ndim();
        }
        Shapes::Inline { ndims, count: arrays.len() as u8, dims }
    }

    fn to_vecs(&self) -> Vec<Vec<usize>> {
        match self {
            Shapes::Heap(v) => v.clone(),
            Shapes::Inline { ndims, count, dims } => {
                let mut at = 0;
                ndims[..*count as usize].iter().map(|&n| {
                    let s = dims[at..at + n as usize].to_vec();
                    at += n as usize;
                    s
                }).collect()
            }
        }
    }
}

struct Call {
    /// The wrapper's (function, operation, facts).
    site: Py<PyTuple>,
    /// The `measure()` blocks open at the call.
    blocks: Py<PyAny>,
    /// Keyword arguments (scalars: flags, drivers), when any.
    kwargs: Option<Py<PyDict>>,
    shapes: Shapes,
    dtype: Py<PyAny>,
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
/// The queue's other buffer: `take_records` swaps them, so calls are pushed into memory
/// already allocated (and recently touched) rather than a fresh allocation per batch.
static SPARE: Mutex<Vec<Call>> = Mutex::new(Vec::new());
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

/// Set metrics' drain (called when the queue is full), GPU probe (called after device calls)
/// and clock (Unix time now, as the Python path computes it).
#[pyfunction]
pub fn register_hooks(py: Python<'_>, drain: Py<PyAny>, gpu: Py<PyAny>, clock: Py<PyAny>) -> PyResult<()> {
    // Both recording paths map their monotonic clock to Unix time through one anchor, read here
    // from the Python path's `clock()` (anchors read at different moments can differ by
    // microseconds, enough to misorder calls recorded through the two paths).
    let before = Instant::now();
    let wall: f64 = clock.call0(py)?.extract(py)?;
    let after = Instant::now();
    let _ = CLOCK_BASE.set((before + (after - before) / 2, wall));
    let _ = HOOKS.set((drain, gpu));
    Ok(())
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

/// The dtype a call computed in: its first output's when that is a float or complex array
/// (ints in, float64 out; sgetrf of float64 input computes in float32), but complex, of that
/// precision, when the input was complex and the output is its real values (eigh, svdvals);
/// the input's when the output is no float (matrix_rank).
fn computed_dtype<'py>(py: Python<'py>, first: Bound<'py, PyArrayDescr>, out: Option<&Bound<'py, PyAny>>) -> Py<PyAny> {
    let Some(o) = out.and_then(|x| x.cast::<PyUntypedArray>().ok()).map(|a| a.dtype()) else {
        return first.into_any().unbind();
    };
    let pick = match (first.kind(), o.kind()) {
        (_, b'f' | b'c') if !(first.kind() == b'c' && o.kind() == b'f') => o,
        (b'c', b'f') if o.itemsize() == 4 => numpy::dtype::<numpy::Complex32>(py),
        (b'c', b'f') => numpy::dtype::<numpy::Complex64>(py),
        _ => first,
    };
    pick.into_any().unbind()
}

/// A monotonic instant and its Unix time (`register_hooks`, else the first call that needs it).
static CLOCK_BASE: OnceLock<(Instant, f64)> = OnceLock::new();

/// Wall-clock time of a monotonic instant (one wall-clock anchor per process).
fn unix_time(t: Instant) -> f64 {
    let (i0, w0) = CLOCK_BASE.get_or_init(|| {
        (Instant::now(), SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0))
    });
    match t.checked_duration_since(*i0) {
        Some(d) => w0 + d.as_secs_f64(),
        None => w0 - i0.duration_since(t).as_secs_f64(),
    }
}

/// unix_now() -> float: Unix time now through the queued records' clock (`unix_time`), so that
/// records stamped by metrics' Python path sort with the queued ones exactly (two clocks, each
/// mapped through its own anchor, misordered calls microseconds apart).
#[pyfunction]
pub fn unix_now() -> f64 {
    unix_time(Instant::now())
}

/// timed_call(site, args, kwargs, blocks): call ``site[0](*args, **kwargs)``, queue what
/// metrics record of it and return its result (or raise its error, queued too). Only the
/// common call is queued (one or two arrays, the first under 16 MiB, scalar keywords); any
/// other goes to ``site[3]``, metrics' Python path. Nested calls are only called.
#[pyfunction]
#[pyo3(signature = (site, args, kwargs, blocks))]
pub fn timed_call<'py>(py: Python<'py>, site: &Bound<'py, PyTuple>, args: &Bound<'py, PyTuple>,
                       kwargs: Option<&Bound<'py, PyDict>>, blocks: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let f = site.get_item(0)?;
    if DEPTH.get() > 0 {
        return f.call(args, kwargs);
    }
    let n = args.len();
    let array = |i: usize| args.get_item(i).ok().and_then(|a| a.cast_into::<PyUntypedArray>().ok());
    let (a0, a1) = (array(0), if n == 2 { array(1) } else { None });
    // keywords are kept for the flop count, so only scalar ones (flags, names): an array
    // there would stay alive until its record is built
    let scalar = |v: Bound<'py, PyAny>| !(v.is_instance_of::<PyUntypedArray>() || v.is_instance_of::<PyList>()
        || v.is_instance_of::<PyTuple>());
    let queueable = kwargs.is_none_or(|k| k.is_empty() || k.values().iter().all(scalar))
        && a0.as_ref().is_some_and(|a| a.len().saturating_mul(a.dtype().itemsize()) < RSS_MIN_BYTES)
        && (n == 1 || (n == 2 && a1.is_some()));
    let (Some(a0), true) = (a0, queueable) else {
        return site.get_item(3)?.call(args, kwargs);
    };
    let generation = dispatch::generation();
    DEPTH.set(1);
    let t0 = Instant::now();
    let r = f.call(args, kwargs);
    let t1 = Instant::now();
    DEPTH.set(0);
    // a call refused before the core (bad input) must not be credited with an older decision
    let last = if dispatch::generation() != generation { dispatch::last() } else { None };
    let shapes = match &a1 {
        Some(a1) => Shapes::of(&[&a0, a1]),
        None => Shapes::of(&[&a0]),
    };
    let (dtype, error) = match &r {
        Ok(out) => {
            let x = match out.cast::<PyTuple>() {
                Ok(t) => t.get_item(0).ok(),
                Err(_) => Some(out.clone()),
            };
            (computed_dtype(py, a0.dtype(), x.as_ref()), None)
        }
        Err(e) => {
            let name = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Error".into());
            (a0.dtype().into_any().unbind(), Some(format!("{name}: {}", e.value(py))))
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
        kwargs: kwargs.filter(|k| !k.is_empty()).map(|k| k.clone().unbind()),
        shapes,
        dtype,
        last,
        seconds: t1.duration_since(t0).as_secs_f64(),
        timestamp: unix_time(t0),
        thread: thread_name(py),
        cgroup: container::memory_usage_at(t1),
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

/// take_records(record_type, facts) -> (records, [(index, blocks)]): the queued calls as
/// ``record_type`` tuples (``lapack_ai.metrics.Record``), oldest first, and the open
/// ``measure()`` blocks of those made inside one; the queue is left empty.
/// ``facts(operation, facts, args, kwargs, dtype, decision, shapes) -> (dtype name, routine,
/// flops)`` is called once per run of like calls: consecutive calls with equal shapes, decision
/// or cgroup figure share one Python object, so a loop of one call builds one of each.
#[pyfunction]
#[allow(clippy::type_complexity)]
pub fn take_records<'py>(py: Python<'py>, record_type: &Bound<'py, PyAny>, facts: &Bound<'py, PyAny>)
                         -> PyResult<(Vec<Bound<'py, PyAny>>, Vec<(usize, Py<PyAny>)>)> {
    let mut spare = SPARE.lock().unwrap_or_else(|e| e.into_inner());
    std::mem::swap(&mut *spare, &mut *QUEUE.lock().unwrap_or_else(|e| e.into_inner()));
    let calls = spare.drain(..);
    let tuple_new = py.get_type::<PyTuple>().getattr("__new__")?;
    let (none, empty) = (py.None().into_bound(py), pyo3::types::PyDict::new(py));
    let mut shapes_prev: Option<(Vec<Vec<usize>>, Bound<PyAny>)> = None;
    let mut last_prev: Option<(Option<Last>, Bound<PyAny>)> = None;
    let mut cgroup_prev: Option<(Option<u64>, Bound<PyAny>)> = None;
    let mut facts_prev: Option<([*mut pyo3::ffi::PyObject; 4], Option<Bound<PyDict>>, Bound<PyAny>)> = None;
    let (mut records, mut blocked) = (Vec::with_capacity(calls.len()), Vec::new());
    for (i, c) in calls.enumerate() {
        let dims = c.shapes.to_vecs();
        let shapes = shared(&mut shapes_prev, dims, |d| {
            Ok(PyTuple::new(py, d.iter().map(|s| PyTuple::new(py, s).unwrap()))?.into_any())
        })?;
        let last = shared(&mut last_prev, c.last, |l| Ok(l.clone().map(decision_tuple).into_pyobject(py)?.into_any()))?;
        let cgroup = shared(&mut cgroup_prev, c.cgroup, |g| Ok(g.into_pyobject(py)?.into_any()))?;
        let site = c.site.bind(py);
        let (operation, site_facts) = (site.get_item(1)?, site.get_item(2)?);
        let dtype = c.dtype.into_bound(py);
        let key = [site_facts.as_ptr(), shapes.as_ptr(), dtype.as_ptr(), last.as_ptr()];
        let kw = c.kwargs.map(|k| k.into_bound(py));
        let same_kw = |prev: &Option<Bound<PyDict>>| match (prev, &kw) {
            (None, None) => true,
            (Some(p), Some(k)) => p.eq(k).unwrap_or(false),
            _ => false,
        };
        let f = match &facts_prev {
            Some((k, pkw, f)) if *k == key && same_kw(pkw) => f.clone(),
            _ => {
                let nones = PyTuple::new(py, std::iter::repeat_n(none.clone(), shapes.len()?))?;
                let f = facts.call1((&operation, &site_facts, nones, kw.as_ref().unwrap_or(&empty), &dtype, &last,
                                     &shapes))?;
                facts_prev = Some((key, kw, f.clone()));
                f
            }
        };
        let (dtype_name, routine, flops) = (f.get_item(0)?, f.get_item(1)?, f.get_item(2)?);
        let error = c.error.into_pyobject(py)?.into_any();
        let d: [Bound<PyAny>; 7] = if last.is_none() {
            // never reached the core: no decision, no flops
            [none.clone(), none.clone(), none.clone(), none.clone(), none.clone(), 0u64.into_pyobject(py)?.into_any(),
             0u64.into_pyobject(py)?.into_any()]
        } else {
            let t = last.cast::<PyTuple>()?;
            [t.get_item(0)?, t.get_item(1)?, t.get_item(2)?, t.get_item(3)?, t.get_item(4)?, t.get_item(5)?, t.get_item(6)?]
        };
        let flops = if error.is_none() && !last.is_none() { flops } else { none.clone() };
        let (gpu_util, gpu_mem) = match c.gpu.map(|g| g.into_bound(py)) {
            Some(g) => (g.get_item(0)?, g.get_item(1)?),
            None => (none.clone(), none.clone()),
        };
        let [backend, strategy, reason, device, kernel, up, down] = d;
        // the fields of lapack_ai.metrics.Record, in its order (metrics._build for the Python path)
        let fields = PyTuple::new(py, [
            operation, routine, shapes, dtype_name, backend, strategy, reason, device,
            c.seconds.into_pyobject(py)?.into_any(), flops, up, down, kernel, none.clone(), cgroup, gpu_util, gpu_mem,
            c.thread.map(|t| t.into_bound(py)).unwrap_or_else(|| none.clone()),
            c.timestamp.into_pyobject(py)?.into_any(), error,
        ])?;
        records.push(tuple_new.call1((record_type, fields))?);
        if c.blocks.bind(py).len()? > 0 {
            blocked.push((i, c.blocks));
        }
    }
    Ok((records, blocked))
}

/// The Python object made for `value`, or the one made for the previous call when its value
/// was equal: a run of like calls shares one.
fn shared<'py, T: PartialEq>(prev: &mut Option<(T, Bound<'py, PyAny>)>, value: T,
                             make: impl FnOnce(&T) -> PyResult<Bound<'py, PyAny>>) -> PyResult<Bound<'py, PyAny>> {
    if let Some((v, o)) = prev {
        if *v == value {
            return Ok(o.clone());
        }
    }
    let o = make(&value)?;
    *prev = Some((value, o.clone()));
    Ok(o)
}

/// The cgroup's memory usage in bytes, read at most every 100 ms; None outside a cgroup.
#[pyfunction]
pub fn cgroup_memory() -> Option<u64> {
    container::memory_usage_cached()
}
