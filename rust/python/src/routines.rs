//! Python entry points: borrow and view the arrays, ask dispatch, release the GIL around the
//! core call, map errors. Arguments are validated by the Python facade first; the core
//! re-checks shapes, and nothing a caller passes can reach the core unsafely: arrays the core
//! cannot read as they lie (unaligned, odd strides) are refused here with a TypeError (the
//! facade copies them), borrow conflicts become a ValueError naming the argument, and a panic
//! becomes `_core.CoreError(kind="internal")` (`errors::guard`).

use lapack_ai_core::dispatch::{self, Decision};
use lapack_ai_core::opencl::gemm::KernelChoice;
use lapack_ai_core::routines as core;
use lapack_ai_core::routines::{qr as qrm, raw, solve as solvem, svd as svdm};
use lapack_ai_core::{CoreError, Scalar};
use lapack_ai_core::scalar::{C32, C64};
use ndarray::{ArrayD, ArrayView2, ArrayViewD, ArrayViewMutD, Axis, IxDyn, ShapeBuilder};
use numpy::{Element, IntoPyArray, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyReadwriteArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::{guard, to_py};

type Obj = Py<PyAny>;

/// A core scalar type NumPy holds, whose real type (singular values, norms) it holds too.
pub trait Elem: Scalar<Real: Element> + Element {}
impl<T: Scalar<Real: Element> + Element> Elem for T {}

/// Call `$f::<T>(...)` with T the dtype of the array `$a` (float32, float64, complex64 or
/// complex128), under the panic guard.
macro_rules! by_dtype {
    ($py:expr, $name:expr, $a:expr, $f:ident($($arg:expr),*)) => {{
        let a = $a;
        guard($py, $name, || {
            if a.cast::<PyArrayDyn<f64>>().is_ok() {
                $f::<f64>($($arg),*)
            } else if a.cast::<PyArrayDyn<f32>>().is_ok() {
                $f::<f32>($($arg),*)
            } else if a.cast::<PyArrayDyn<C64>>().is_ok() {
                $f::<C64>($($arg),*)
            } else if a.cast::<PyArrayDyn<C32>>().is_ok() {
                $f::<C32>($($arg),*)
            } else {
                Err(PyTypeError::new_err("internal: the facade must pass float32, float64, complex64 or complex128 arrays"))
            }
        })
    }};
}

/// Refuse a stack the core would refuse for its shape, before dispatch records a decision: the
/// facade then validates it and raises a ShapeError that names the argument (and metrics do
/// not credit a refused call with a backend).
fn shaped(shape: &[usize], square: bool) -> PyResult<()> {
    let d = shape.len();
    if d < 2 || (square && shape[d - 1] != shape[d - 2]) {
        return Err(PyValueError::new_err("malformed stack"));
    }
    Ok(())
}

fn decide(op: &'static str, shape: &[usize], dtype: &str) -> Decision {
    let d = shape.len();
    let (r, c) = if d >= 2 { (shape[d - 2], shape[d - 1]) } else { (0, 0) };
    let count = shape[..d.saturating_sub(2)].iter().try_fold(1usize, |p, &x| p.checked_mul(x)).unwrap_or(usize::MAX);
    let decision = dispatch::decide(op, (count, r, c), dtype);
    log::debug!(target: "lapack_ai", "{op} {shape:?} {dtype}: {}", decision.reason);
    decision
}

/// Run `f` without the GIL and map its error.
fn run<R: Send>(py: Python<'_>, d: &Decision, f: impl FnOnce() -> Result<R, CoreError> + Send) -> PyResult<R> {
    py.detach(f).map_err(|e| to_py(py, e, d.backend.name()))
}

/// Borrow `a` for reading; a conflict with a write in progress (another thread's `gemm(c=a)`)
/// is the caller's error, named.
pub fn ro<'py, T: Element>(a: &Bound<'py, PyAny>, arg: &str) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    a.cast::<PyArrayDyn<T>>()?.try_readonly().map_err(|_| {
        PyValueError::new_err(format!("argument '{arg}' is being written by another call (its memory is borrowed \
                                       for writing, e.g. as gemm's c in another thread); pass a copy"))
    })
}

/// Borrow `c` for writing.
pub fn rw<'py, T: Element>(c: &Bound<'py, PyAny>, arg: &str) -> PyResult<PyReadwriteArrayDyn<'py, T>> {
    c.cast::<PyArrayDyn<T>>()?.try_readwrite().map_err(|e| match e {
        numpy::BorrowError::NotWriteable => {
            PyValueError::new_err(format!("argument '{arg}' is read-only; pass a writable array to update in place"))
        }
        _ => PyValueError::new_err(format!("argument '{arg}' shares memory with an array this call or another one is \
                                            using; pass a copy")),
    })
}

/// Shape, element strides (rows of negative strides flipped to positive) and the lowest
/// address of an array the core can read as it lies: aligned, strides whole elements.
/// rust-numpy's own view stops at 32 dimensions and truncates strides that are not whole
/// elements (a field of a packed structured array), so the view is built here.
fn raw_parts<T>(shape: &[usize], strides: &[isize], data: *mut T, aligned: bool, arg: &str)
                -> PyResult<(Vec<usize>, *mut T, Vec<usize>)> {
    let size = std::mem::size_of::<T>() as isize;
    if !aligned || strides.iter().any(|s| s % size != 0) {
        return Err(PyTypeError::new_err(format!("argument '{arg}' is not aligned to its dtype (a field of a packed \
                                                 structured array?); the facade passes a copy")));
    }
    let mut base = data;
    let mut flip = Vec::new();
    let mut elem = Vec::with_capacity(shape.len());
    let empty = shape.contains(&0);
    for (d, (&len, &s)) in shape.iter().zip(strides).enumerate() {
        let e = s / size;
        if e < 0 && !empty {
            // SAFETY: NumPy guarantees the element at index len-1 along this axis exists.
            base = unsafe { base.offset(e * (len as isize - 1)) };
            flip.push(d);
        }
        elem.push(e.unsigned_abs());
    }
    Ok((elem, base, flip))
}

pub fn view<'a, T: Element>(a: &'a PyReadonlyArrayDyn<'_, T>, arg: &str) -> PyResult<ArrayViewD<'a, T>> {
    let shape = a.shape();
    let (strides, base, flip) = raw_parts(shape, a.strides(), a.data(), a.is_aligned(), arg)?;
    // SAFETY: NumPy's array (kept alive and borrowed by `a`) holds these elements at these
    // strides from the lowest address `base`, which is aligned (checked above).
    let mut v = unsafe { ArrayViewD::from_shape_ptr(IxDyn(shape).strides(IxDyn(&strides)), base as *const T) };
    flip.into_iter().for_each(|d| v.invert_axis(Axis(d)));
    Ok(v)
}

pub fn view_mut<'a, T: Element>(c: &'a mut PyReadwriteArrayDyn<'_, T>, arg: &str) -> PyResult<ArrayViewMutD<'a, T>> {
    let shape = c.shape().to_vec();
    let (strides, base, flip) = raw_parts(&shape, c.strides(), c.data(), c.is_aligned(), arg)?;
    if overlapping(&shape, &strides) {
        return Err(PyValueError::new_err(format!("argument '{arg}' has elements that share memory (a zero or \
                                                  overlapping stride); pass an array of distinct elements")));
    }
    // SAFETY: as in `view`, plus the elements are distinct (checked) and borrowed for writing.
    let mut v = unsafe { ArrayViewMutD::from_shape_ptr(IxDyn(&shape).strides(IxDyn(&strides)), base) };
    flip.into_iter().for_each(|d| v.invert_axis(Axis(d)));
    Ok(v)
}

/// Whether two indices may name the same element: false when each stride, smallest first,
/// steps over the whole extent of the axes below it (true also for some exotic layouts
/// without overlap, which are then refused).
fn overlapping(shape: &[usize], strides: &[usize]) -> bool {
    if shape.contains(&0) {
        return false;
    }
    let mut axes: Vec<(usize, usize)> = shape.iter().copied().zip(strides.iter().copied()).filter(|&(l, _)| l > 1).collect();
    axes.sort_by_key(|&(_, s)| s);
    let mut extent = 1usize;
    for (len, s) in axes {
        if s < extent {
            return true;
        }
        extent = s.saturating_mul(len - 1).saturating_add(extent);
    }
    false
}

/// A NumPy array of `a`. rust-numpy builds at most 32 dimensions: beyond that the leading axes
/// (contiguous in a fresh result) are merged for the hand-over and split again by NumPy.
fn arr<T: Element>(py: Python<'_>, a: ArrayD<T>) -> PyResult<Obj> {
    if a.ndim() <= 32 {
        return Ok(a.into_pyarray(py).into_any().unbind());
    }
    let shape = a.shape().to_vec();
    let mut a = a;
    while a.ndim() > 32 {
        if !a.merge_axes(Axis(0), Axis(1)) {
            return Err(PyValueError::new_err(format!("a result of {} dimensions cannot be returned", shape.len())));
        }
        a = a.index_axis_move(Axis(0), 0);
    }
    let out = a.into_pyarray(py);
    Ok(out.call_method1("reshape", (shape,))?.unbind())
}

fn opt<T: Element>(py: Python<'_>, a: Option<ArrayD<T>>) -> PyResult<Obj> {
    a.map_or_else(|| Ok(py.None()), |a| arr(py, a))
}

fn letter(s: &str, allowed: &[u8], what: &str) -> PyResult<u8> {
    match s.as_bytes() {
        [c] if allowed.contains(&c.to_ascii_uppercase()) => Ok(c.to_ascii_uppercase()),
        _ => Err(PyValueError::new_err(format!(
            "{what} must be one of {:?}, got {s:?}",
            allowed.iter().map(|&c| c as char).collect::<String>()
        ))),
    }
}

fn vectors(job: &str) -> PyResult<svdm::Vectors> {
    Ok(match letter(job, b"ASN", "job")? {
        b'A' => svdm::Vectors::Full,
        b'S' => svdm::Vectors::Reduced,
        _ => svdm::Vectors::None,
    })
}

/// A Python number (real, imaginary parts) in the array's type.
fn scalar<T: Scalar>((re, im): (f64, f64), what: &str) -> PyResult<T> {
    T::from_parts(re, im).ok_or_else(|| PyValueError::new_err(format!("{what}={re}+{im}j needs a complex dtype")))
}

fn real<T: Scalar>(x: f64) -> T::Real {
    <T::Real as num_traits::NumCast>::from(x).unwrap_or_else(<T::Real as num_traits::Float>::nan)
}

fn min_rcond<R: Scalar + num_traits::Float>(r: &ArrayD<R>) -> f64 {
    r.iter().fold(f64::INFINITY, |m, v| m.min(v.to_f64().unwrap_or(f64::NAN)))
}

// ---- high level: stacks (..., m, n) ----

#[allow(clippy::too_many_arguments)]
fn svd_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, jobu: &str, jobvt: &str, driver: &str,
                  check_finite: bool, device: Option<&str>) -> PyResult<SvdOut> {
    let request = device.map(dispatch::parse_request).transpose().map_err(PyValueError::new_err)?;
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), false)?;
    let drv = match driver {
        "gesdd" => svdm::Driver::Gesdd,
        "gesvd" => svdm::Driver::Gesvd,
        _ => return Err(PyValueError::new_err(format!("driver must be 'gesdd' or 'gesvd', got {driver:?}"))),
    };
    let (ju, jvt) = (vectors(jobu)?, vectors(jobvt)?);
    let v = view(&a, "a")?;
    let (r, out) = py.detach(|| svdm::svd_dispatched(v, ju, jvt, drv, check_finite, request.as_ref()))
        .map_err(|e| {
            // Decided: the decision of this call was recorded before anything could fail.
            let backend = if matches!(e, CoreError::Device(_)) { "dispatch" } else { dispatch::last().map_or("cpu", |l| l.decision.backend.name()) };
            to_py(py, e, backend)
        })?;
    let routine = match out.run {
        Some(r) if r.kernel.starts_with("svd-cholqr") => lapack_ai_core::opencl::svd_tall::routine::<T>(),
        Some(_) => lapack_ai_core::opencl::svd_small::routine::<T>(),
        None => format!("{}{}", T::PREFIX, driver),
    };
    Ok((opt(py, r.u)?, arr(py, r.s)?, opt(py, r.vt)?, routine, out.warning))
}

type SvdOut = (Obj, Obj, Obj, String, Option<String>);

/// svd(a, jobu, jobvt, driver, check_finite, device=None) -> (u | None, s, vt | None, routine,
/// fallback warning | None): on the CPU (driver), or for stacks up to 64x64 and tall-skinny
/// matrices on an OpenCL device where dispatch picks it or `device` forces it.
#[pyfunction]
#[pyo3(signature = (a, jobu, jobvt, driver, check_finite, device=None))]
pub fn svd(py: Python<'_>, a: &Bound<PyAny>, jobu: &str, jobvt: &str, driver: &str, check_finite: bool,
           device: Option<&str>) -> PyResult<SvdOut> {
    by_dtype!(py, "svd", a, svd_t(py, a, jobu, jobvt, driver, check_finite, device))
}

fn solve_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, assume: &str,
                                lower: bool, check_finite: bool) -> PyResult<(Obj, Obj, f64)> {
    let (a, b) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    shaped(a.shape(), true)?;
    let d = decide("solve", a.shape(), T::DTYPE);
    let kind = match assume {
        "gen" => solvem::Assume::General,
        "sym" => solvem::Assume::Symmetric,
        "her" => solvem::Assume::Hermitian,
        "pos" => solvem::Assume::Positive,
        _ => return Err(PyValueError::new_err(format!("assume_a must be 'gen', 'sym', 'her' or 'pos', got {assume:?}"))),
    };
    let (va, vb) = (view(&a, "a")?, view(&b, "b")?);
    // NumPy 2: a 1-D b is one right-hand side; solve it as an (n, 1) matrix.
    let vector = vb.ndim() == 1 && va.ndim() == 2;
    let vb = if vector { vb.insert_axis(Axis(1)) } else { vb };
    let r = run(py, &d, || solvem::solve(va, vb, kind, lower, check_finite))?;
    let x = if vector { r.x.index_axis_move(Axis(1), 0) } else { r.x };
    let rmin = min_rcond(&r.rcond);
    Ok((arr(py, x)?, arr(py, r.rcond)?, rmin))
}

/// solve(a, b, assume_a, lower, check_finite) -> (x, rcond per matrix, smallest rcond)
#[pyfunction]
pub fn solve(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, assume_a: &str, lower: bool,
             check_finite: bool) -> PyResult<(Obj, Obj, f64)> {
    by_dtype!(py, "solve", a, solve_t(py, a, b, assume_a, lower, check_finite))
}

fn inv_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, f64)> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), true)?;
    let d = decide("inv", a.shape(), T::DTYPE);
    let v = view(&a, "a")?;
    let r = run(py, &d, || core::inv::inv(v, check_finite))?;
    let rmin = min_rcond(&r.rcond);
    Ok((arr(py, r.x)?, arr(py, r.rcond)?, rmin))
}

/// inv(a, check_finite) -> (inverse, rcond per matrix, smallest rcond)
#[pyfunction]
pub fn inv(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, f64)> {
    by_dtype!(py, "inv", a, inv_t(py, a, check_finite))
}

fn det_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<Obj> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), true)?;
    let d = decide("det", a.shape(), T::DTYPE);
    let v = view(&a, "a")?;
    arr(py, run(py, &d, || core::det::det(v, check_finite))?)
}

/// det(a, check_finite) -> determinant per matrix
#[pyfunction]
pub fn det(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(py, "det", a, det_t(py, a, check_finite))
}

fn slogdet_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), true)?;
    let d = decide("slogdet", a.shape(), T::DTYPE);
    let v = view(&a, "a")?;
    let (s, l) = run(py, &d, || core::det::slogdet(v, check_finite))?;
    Ok((arr(py, s)?, arr(py, l)?))
}

/// slogdet(a, check_finite) -> (sign, logabsdet)
#[pyfunction]
pub fn slogdet(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(py, "slogdet", a, slogdet_t(py, a, check_finite))
}

fn cholesky_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, lower: bool, check_finite: bool, clean: bool) -> PyResult<Obj> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), true)?;
    let d = decide("cholesky", a.shape(), T::DTYPE);
    let v = view(&a, "a")?;
    arr(py, run(py, &d, || core::cholesky::cholesky(v, lower, clean, check_finite))?)
}

/// cholesky(a, lower, check_finite, clean=True) -> factor; `clean=False` leaves a's entries in
/// the other triangle (SciPy's cho_factor)
#[pyfunction]
#[pyo3(signature = (a, lower, check_finite, clean=true))]
pub fn cholesky(py: Python<'_>, a: &Bound<PyAny>, lower: bool, check_finite: bool, clean: bool) -> PyResult<Obj> {
    by_dtype!(py, "cholesky", a, cholesky_t(py, a, lower, check_finite, clean))
}

fn qr_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, mode: &str, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), false)?;
    let d = decide("qr", a.shape(), T::DTYPE);
    let m = match mode {
        "reduced" => qrm::Mode::Reduced,
        "complete" => qrm::Mode::Complete,
        "r" => qrm::Mode::R,
        _ => return Err(PyValueError::new_err(format!("mode must be 'reduced', 'complete' or 'r', got {mode:?}"))),
    };
    let v = view(&a, "a")?;
    let (q, r) = run(py, &d, || qrm::qr(v, m, check_finite))?;
    Ok((opt(py, q)?, arr(py, r)?))
}

/// qr(a, mode, check_finite) -> (q | None, r)
#[pyfunction]
pub fn qr(py: Python<'_>, a: &Bound<PyAny>, mode: &str, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(py, "qr", a, qr_t(py, a, mode, check_finite))
}

fn eigh_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, lower: bool, vectors: bool, check_finite: bool, device: Option<&str>)
                   -> PyResult<EighOut> {
    let request = device.map(dispatch::parse_request).transpose().map_err(PyValueError::new_err)?;
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), true)?;
    let v = view(&a, "a")?;
    let ((w, z), out) = py.detach(|| core::eigh::eigh_dispatched(v, lower, vectors, check_finite, request.as_ref()))
        .map_err(|e| {
            // Decided: the decision of this call was recorded before anything could fail.
            let backend = if matches!(e, CoreError::Device(_)) { "dispatch" } else { dispatch::last().map_or("cpu", |l| l.decision.backend.name()) };
            to_py(py, e, backend)
        })?;
    Ok((arr(py, w)?, opt(py, z)?, out.warning))
}

type EighOut = (Obj, Obj, Option<String>);

/// eigh(a, lower, vectors, check_finite, device=None) -> (w, v | None, fallback warning | None):
/// on the CPU (syevd/heevd), or for stacks of matrices up to 64x64 on an OpenCL device
/// where dispatch picks it or `device` forces it.
#[pyfunction]
#[pyo3(signature = (a, lower, vectors, check_finite, device=None))]
pub fn eigh(py: Python<'_>, a: &Bound<PyAny>, lower: bool, vectors: bool, check_finite: bool, device: Option<&str>)
            -> PyResult<EighOut> {
    by_dtype!(py, "eigh", a, eigh_t(py, a, lower, vectors, check_finite, device))
}

fn eigh_general_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, lower: bool, vectors: bool,
                           check_finite: bool) -> PyResult<(Obj, Obj)> {
    let (a, b) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    shaped(a.shape(), true)?;
    let d = decide("eigh", a.shape(), T::DTYPE);
    let (va, vb) = (view(&a, "a")?, view(&b, "b")?);
    let (w, z) = run(py, &d, || core::eigh::eigh_general(va, vb, lower, vectors, check_finite))?;
    Ok((arr(py, w)?, opt(py, z)?))
}

/// eigh_general(a, b, lower, vectors, check_finite) -> (w, v | None): A x = lambda B x
#[pyfunction]
pub fn eigh_general(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, lower: bool, vectors: bool, check_finite: bool)
                    -> PyResult<(Obj, Obj)> {
    by_dtype!(py, "eigh", a, eigh_general_t(py, a, b, lower, vectors, check_finite))
}

fn eig_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, vectors: bool) -> PyResult<(Obj, Obj)>
where T::Complex: Element {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), true)?;
    let d = decide("eig", a.shape(), T::DTYPE);
    let v = view(&a, "a")?;
    let (w, z) = run(py, &d, || core::eig::eig(v, vectors))?;
    Ok((arr(py, w)?, opt(py, z)?))
}

/// eig(a, vectors) -> (w, v | None), both complex; NaN and Inf are always refused.
#[pyfunction]
pub fn eig(py: Python<'_>, a: &Bound<PyAny>, vectors: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(py, "eig", a, eig_t(py, a, vectors))
}

fn schur_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>) -> PyResult<(Obj, Obj)> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), true)?;
    let d = decide("schur", a.shape(), T::DTYPE);
    let v = view(&a, "a")?;
    let (t, z) = run(py, &d, || core::eig::schur(v))?;
    Ok((arr(py, t)?, arr(py, z)?))
}

/// schur(a) -> (t, z) with a = z t z^H
#[pyfunction]
pub fn schur(py: Python<'_>, a: &Bound<PyAny>) -> PyResult<(Obj, Obj)> {
    by_dtype!(py, "schur", a, schur_t(py, a))
}

fn lu_factor_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, Obj)> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), false)?;
    let d = decide("lu_factor", a.shape(), T::DTYPE);
    let v = view(&a, "a")?;
    let r = run(py, &d, || core::factored::lu_factor(v, check_finite))?;
    Ok((arr(py, r.lu)?, arr(py, r.piv)?, arr(py, r.info)?))
}

/// lu_factor(a, check_finite) -> (lu, piv (0-based), info per matrix: 0 or the first zero of U)
#[pyfunction]
pub fn lu_factor(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, Obj)> {
    by_dtype!(py, "lu_factor", a, lu_factor_t(py, a, check_finite))
}

fn lu_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, Obj)> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), false)?;
    let d = decide("lu", a.shape(), T::DTYPE);
    let v = view(&a, "a")?;
    let (p, l, u) = run(py, &d, || core::factored::lu(v, check_finite))?;
    Ok((arr(py, p)?, arr(py, l)?, arr(py, u)?))
}

/// lu(a, check_finite) -> (p, l, u) with a = l[p] @ u
#[pyfunction]
pub fn lu(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, Obj)> {
    by_dtype!(py, "lu", a, lu_t(py, a, check_finite))
}

fn trans_letter(t: &str) -> PyResult<u8> {
    letter(t, b"NTC", "trans")
}

fn lu_solve_t<T: Elem>(py: Python<'_>, lu: &Bound<PyAny>, piv: &Bound<PyAny>, b: &Bound<PyAny>, trans: &str,
                       check_finite: bool) -> PyResult<Obj> {
    let (lu, piv, b) = (ro::<T>(lu, "lu")?, ro::<i64>(piv, "piv")?, ro::<T>(b, "b")?);
    shaped(lu.shape(), true)?;
    let d = decide("lu_solve", lu.shape(), T::DTYPE);
    let t = trans_letter(trans)?;
    let (vl, vp, vb) = (view(&lu, "lu")?, view(&piv, "piv")?, view(&b, "b")?);
    arr(py, run(py, &d, || core::factored::lu_solve(vl, vp, vb, t, check_finite))?)
}

/// lu_solve(lu, piv, b, trans, check_finite) -> x; b is (..., n, k), piv int64 0-based
#[pyfunction]
pub fn lu_solve(py: Python<'_>, lu: &Bound<PyAny>, piv: &Bound<PyAny>, b: &Bound<PyAny>, trans: &str,
                check_finite: bool) -> PyResult<Obj> {
    by_dtype!(py, "lu_solve", lu, lu_solve_t(py, lu, piv, b, trans, check_finite))
}

fn cho_solve_t<T: Elem>(py: Python<'_>, c: &Bound<PyAny>, b: &Bound<PyAny>, lower: bool, check_finite: bool) -> PyResult<Obj> {
    let (c, b) = (ro::<T>(c, "c")?, ro::<T>(b, "b")?);
    shaped(c.shape(), true)?;
    let d = decide("cho_solve", c.shape(), T::DTYPE);
    let (vc, vb) = (view(&c, "c")?, view(&b, "b")?);
    arr(py, run(py, &d, || core::factored::cho_solve(vc, vb, lower, check_finite))?)
}

/// cho_solve(c, b, lower, check_finite) -> x; b is (..., n, k)
#[pyfunction]
pub fn cho_solve(py: Python<'_>, c: &Bound<PyAny>, b: &Bound<PyAny>, lower: bool, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(py, "cho_solve", c, cho_solve_t(py, c, b, lower, check_finite))
}

#[allow(clippy::too_many_arguments)]
fn solve_triangular_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, trans: &str, lower: bool,
                               unit: bool, check_finite: bool) -> PyResult<Obj> {
    let (a, b) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    shaped(a.shape(), true)?;
    let d = decide("solve_triangular", a.shape(), T::DTYPE);
    let t = trans_letter(trans)?;
    let (va, vb) = (view(&a, "a")?, view(&b, "b")?);
    arr(py, run(py, &d, || core::factored::solve_triangular(va, vb, t, lower, unit, check_finite))?)
}

/// solve_triangular(a, b, trans, lower, unit_diagonal, check_finite) -> x; b is (..., n, k)
#[pyfunction]
pub fn solve_triangular(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, trans: &str, lower: bool,
                        unit_diagonal: bool, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(py, "solve_triangular", a, solve_triangular_t(py, a, b, trans, lower, unit_diagonal, check_finite))
}

fn rcond_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, norm: &str, positive: bool, check_finite: bool) -> PyResult<Obj> {
    let a = ro::<T>(a, "a")?;
    shaped(a.shape(), true)?;
    let d = decide("rcond", a.shape(), T::DTYPE);
    let nm = letter(norm, b"1I", "norm")?;
    let v = view(&a, "a")?;
    arr(py, run(py, &d, || core::cond::rcond(v, nm, positive, check_finite))?)
}

/// rcond(a, norm, positive, check_finite) -> reciprocal condition estimate per matrix
#[pyfunction]
pub fn rcond(py: Python<'_>, a: &Bound<PyAny>, norm: &str, positive: bool, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(py, "rcond", a, rcond_t(py, a, norm, positive, check_finite))
}

#[allow(clippy::too_many_arguments)]
fn gemm_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, c: &Bound<PyAny>,
                               alpha: (f64, f64), beta: (f64, f64), ta: bool, tb: bool, device: Option<&str>) -> PyResult<Option<String>> {
    let request = device.map(dispatch::parse_request).transpose().map_err(PyValueError::new_err)?;
    let (a, b) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    let mut c = rw::<T>(c, "c")?;
    let (va, vb, vc) = (view(&a, "a")?, view(&b, "b")?, view_mut(&mut c, "c")?);
    let (alpha, beta) = (scalar::<T>(alpha, "alpha")?, scalar::<T>(beta, "beta")?);
    let out = py.detach(|| core::gemm::gemm_dispatched(va, vb, vc, alpha, beta, ta, tb, request.as_ref(), KernelChoice::Auto))
        .map_err(|e| to_py(py, e, "dispatch"))?;
    Ok(out.warning)
}

/// gemm(a, b, c, (alpha.real, alpha.imag), (beta.real, beta.imag), trans_a, trans_b, device=None):
/// c <- alpha op(a) op(b) + beta c,
/// in place, on the backend dispatch picks. Returns a fallback warning's text, or None.
#[pyfunction]
#[pyo3(signature = (a, b, c, alpha, beta, trans_a, trans_b, device=None))]
#[allow(clippy::too_many_arguments)]
pub fn gemm(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, c: &Bound<PyAny>, alpha: (f64, f64), beta: (f64, f64),
            trans_a: bool, trans_b: bool, device: Option<&str>) -> PyResult<Option<String>> {
    by_dtype!(py, "gemm", a, gemm_t(py, a, b, c, alpha, beta, trans_a, trans_b, device))
}

#[allow(clippy::too_many_arguments)]
fn gemm_alpha_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, c: &Bound<PyAny>, alpha: (f64, f64),
                         beta: (f64, f64), ta: bool, tb: bool, scheme: &str, device: Option<&str>)
                         -> PyResult<(Option<String>, Option<&'static str>)> {
    let request = device.map(dispatch::parse_request).transpose().map_err(PyValueError::new_err)?;
    let scheme = lapack_ai_core::alpha::parse_scheme(scheme).map_err(PyValueError::new_err)?;
    let (a, b) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    let mut c = rw::<T>(c, "c")?;
    let (va, vb, vc) = (view(&a, "a")?, view(&b, "b")?, view_mut(&mut c, "c")?);
    let (alpha, beta) = (scalar::<T>(alpha, "alpha")?, scalar::<T>(beta, "beta")?);
    let out = py.detach(|| core::gemm_alpha::gemm_alpha_dispatched(va, vb, vc, alpha, beta, ta, tb, &scheme, request.as_ref()))
        .map_err(|e| to_py(py, e, "dispatch"))?;
    Ok((out.outcome.warning, out.scheme))
}

/// gemm_alpha(a, b, c, alpha, beta, trans_a, trans_b, scheme, device=None) -> (warning or
/// None, scheme run or None for the standard product): gemm's contract, by one level of a
/// fast 4x4 scheme where asked or measured faster.
#[pyfunction]
#[pyo3(signature = (a, b, c, alpha, beta, trans_a, trans_b, scheme, device=None))]
#[allow(clippy::too_many_arguments)]
pub fn gemm_alpha(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, c: &Bound<PyAny>, alpha: (f64, f64), beta: (f64, f64),
                  trans_a: bool, trans_b: bool, scheme: &str, device: Option<&str>) -> PyResult<(Option<String>, Option<&'static str>)> {
    by_dtype!(py, "gemm_alpha", a, gemm_alpha_t(py, a, b, c, alpha, beta, trans_a, trans_b, scheme, device))
}

/// schemes() -> [(short name or key, key, rank, naive additions)] of the offered schemes.
#[pyfunction]
pub fn schemes() -> Vec<(&'static str, &'static str, usize, usize)> {
    lapack_ai_core::alpha::offered().map(|s| (lapack_ai_core::alpha::short_name(s), s.key, s.rank, s.naive_additions())).collect()
}

fn matmul2d_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, alpha: f64, ta: bool, tb: bool)
                                   -> PyResult<Option<Obj>> {
    let (ra, rb) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    let (Ok(av), Ok(bv)) = (view(&ra, "a"), view(&rb, "b")) else {
        return Ok(None); // the validating path copies what cannot be viewed
    };
    let (av, bv) = (av.into_dimensionality::<ndarray::Ix2>().map_err(|e| PyValueError::new_err(e.to_string()))?,
                    bv.into_dimensionality::<ndarray::Ix2>().map_err(|e| PyValueError::new_err(e.to_string()))?);
    let av: ArrayView2<T> = if ta { av.reversed_axes() } else { av };
    let bv: ArrayView2<T> = if tb { bv.reversed_axes() } else { bv };
    let ((m, k), (kb, n)) = (av.dim(), bv.dim());
    if k != kb {
        return Ok(None); // the validating path explains the mismatch
    }
    // Only CPU decisions are taken here; anything else goes through the general path.
    let small = m.saturating_mul(n).saturating_mul(k) <= core::gemm::SMALL;
    let decision = if small {
        Decision::small()
    } else {
        let p = dispatch::Problem { op: "gemm", count: 1, m, n, k, dtype: T::DTYPE };
        match dispatch::decide_for(&p, None) {
            Ok(d) if d.backend == dispatch::Backend::Cpu => d,
            _ => return Ok(None),
        }
    };
    let alpha = scalar::<T>((alpha, 0.0), "alpha")?;
    lapack_ai_core::alloc::Need::new().array::<T>(&[m, n]).check("gemm").map_err(|e| to_py(py, e, "cpu"))?;
    // NumPy's own allocation. Tiny results are zeroed; a larger one is left for BLAS to fill:
    // with beta = 0 it writes every element and reads none, every argument was checked before
    // the call, and on any error the array is dropped unseen, so nothing uninitialised is ever
    // returned. (Zeroing 256x256 costs as much as a tenth of the product.)
    let out = if small || k == 0 || alpha == T::zero() {
        numpy::PyArray2::<T>::zeros(py, [m, n], false)
    } else {
        // SAFETY: see above; the elements are plain floats.
        unsafe { numpy::PyArray2::<T>::new(py, [m, n], false) }
    };
    // SAFETY: `out` was just created and no Python code has seen it: this is the only access.
    let mut cv = unsafe { out.as_array_mut() };
    if m.saturating_mul(n).saturating_mul(k) <= HOLD_GIL_UPTO {
        // A product of a few microseconds keeps the GIL: releasing and taking it back costs a
        // noticeable part of it. (Another thread writing a or b still cannot race: it would
        // hold their borrow, and `ro` above refuses that.)
        core::gemm::gemm1(av, bv, cv, alpha, T::zero()).map_err(|e| to_py(py, e, "cpu"))?;
    } else {
        run(py, &decision, || core::gemm::gemm1(av, bv, cv.view_mut(), alpha, T::zero()))?;
    }
    dispatch::record("gemm", &decision);
    Ok(Some(out.into_any().unbind()))
}

/// Products up to this many multiply-adds (64^3, about 10 us) run with the GIL held.
const HOLD_GIL_UPTO: usize = 1 << 18;

/// matmul2d(a, b, alpha, trans_a, trans_b) -> alpha op(a) op(b) as a new C-ordered array, for
/// the common case of two 2-D arrays of one float dtype with fitting shapes; None otherwise.
#[pyfunction]
pub fn matmul2d(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, alpha: f64, trans_a: bool, trans_b: bool)
                -> PyResult<Option<Obj>> {
    guard(py, "gemm", || {
        if let (Ok(_), Ok(_)) = (a.cast::<numpy::PyArray2<f64>>(), b.cast::<numpy::PyArray2<f64>>()) {
            return matmul2d_t::<f64>(py, a, b, alpha, trans_a, trans_b);
        }
        if let (Ok(_), Ok(_)) = (a.cast::<numpy::PyArray2<f32>>(), b.cast::<numpy::PyArray2<f32>>()) {
            return matmul2d_t::<f32>(py, a, b, alpha, trans_a, trans_b);
        }
        if let (Ok(_), Ok(_)) = (a.cast::<numpy::PyArray2<C64>>(), b.cast::<numpy::PyArray2<C64>>()) {
            return matmul2d_t::<C64>(py, a, b, alpha, trans_a, trans_b);
        }
        if let (Ok(_), Ok(_)) = (a.cast::<numpy::PyArray2<C32>>(), b.cast::<numpy::PyArray2<C32>>()) {
            return matmul2d_t::<C32>(py, a, b, alpha, trans_a, trans_b);
        }
        Ok(None)
    })
}

// ---- low level: one matrix, LAPACK's outputs ----

/// A 2-D view of `a` (the facade passes 2-D arrays; anything else is a shape error).
fn view2<'a, T: Element>(a: &'a PyReadonlyArrayDyn<'_, T>, arg: &str) -> PyResult<ArrayView2<'a, T>> {
    view(a, arg)?.into_dimensionality().map_err(|_| PyValueError::new_err(format!("argument '{arg}' must be 2-D")))
}

fn a2<T: Element, D: ndarray::Dimension>(py: Python<'_>, a: ndarray::Array<T, D>) -> PyResult<Obj> {
    arr(py, a.into_dyn())
}

fn lstsq_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, rc: f64, check_finite: bool)
                                -> PyResult<(Obj, Obj, usize, Obj)> {
    let (a, b) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    let d = decide("lstsq", a.shape(), T::DTYPE);
    let (va, vb) = (view2(&a, "a")?, view2(&b, "b")?);
    let rc = real::<T>(rc);
    let r = run(py, &d, || core::lstsq::lstsq(va, vb, rc, check_finite))?;
    Ok((a2(py, r.x)?, a2(py, r.residuals)?, r.rank, a2(py, r.s)?))
}

/// lstsq(a, b, rcond, check_finite) -> (x, residuals, rank, s); a and b are 2-D.
#[pyfunction]
pub fn lstsq(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, rcond: f64, check_finite: bool)
             -> PyResult<(Obj, Obj, usize, Obj)> {
    by_dtype!(py, "lstsq", a, lstsq_t(py, a, b, rcond, check_finite))
}

fn getrf_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro::<T>(a, "a")?;
    let d = decide("getrf", a.shape(), T::DTYPE);
    let v = view2(&a, "a")?;
    let (lu, piv) = run(py, &d, || raw::getrf(v, check_finite))?;
    Ok((a2(py, lu)?, a2(py, piv)?))
}

#[pyfunction]
pub fn getrf(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(py, "getrf", a, getrf_t(py, a, check_finite))
}

fn gesv_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, Obj)> {
    let (a, b) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    let d = decide("gesv", a.shape(), T::DTYPE);
    let (va, vb) = (view2(&a, "a")?, view2(&b, "b")?);
    let (lu, piv, x) = run(py, &d, || raw::gesv(va, vb, check_finite))?;
    Ok((a2(py, lu)?, a2(py, piv)?, a2(py, x)?))
}

#[pyfunction]
pub fn gesv(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, Obj)> {
    by_dtype!(py, "gesv", a, gesv_t(py, a, b, check_finite))
}

fn potrf_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, uplo: &str, clean: bool, check_finite: bool) -> PyResult<Obj> {
    let a = ro::<T>(a, "a")?;
    let d = decide("potrf", a.shape(), T::DTYPE);
    let ul = letter(uplo, b"LU", "uplo")?;
    let v = view2(&a, "a")?;
    a2(py, run(py, &d, || raw::potrf(v, ul, clean, check_finite))?)
}

#[pyfunction]
pub fn potrf(py: Python<'_>, a: &Bound<PyAny>, uplo: &str, clean: bool, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(py, "potrf", a, potrf_t(py, a, uplo, clean, check_finite))
}

fn posv_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, uplo: &str, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let (a, b) = (ro::<T>(a, "a")?, ro::<T>(b, "b")?);
    let d = decide("posv", a.shape(), T::DTYPE);
    let ul = letter(uplo, b"LU", "uplo")?;
    let (va, vb) = (view2(&a, "a")?, view2(&b, "b")?);
    let (c, x) = run(py, &d, || raw::posv(va, vb, ul, check_finite))?;
    Ok((a2(py, c)?, a2(py, x)?))
}

#[pyfunction]
pub fn posv(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, uplo: &str, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(py, "posv", a, posv_t(py, a, b, uplo, check_finite))
}

fn geqrf_t<T: Elem>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro::<T>(a, "a")?;
    let d = decide("geqrf", a.shape(), T::DTYPE);
    let v = view2(&a, "a")?;
    let (qr, tau) = run(py, &d, || raw::geqrf(v, check_finite))?;
    Ok((a2(py, qr)?, a2(py, tau)?))
}

#[pyfunction]
pub fn geqrf(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(py, "geqrf", a, geqrf_t(py, a, check_finite))
}

fn orgqr_t<T: Elem>(py: Python<'_>, qr: &Bound<PyAny>, tau: &Bound<PyAny>) -> PyResult<Obj> {
    let (qr, tau) = (ro::<T>(qr, "qr")?, ro::<T>(tau, "tau")?);
    let d = decide("orgqr", qr.shape(), T::DTYPE);
    let v = view2(&qr, "qr")?;
    let t: Vec<T> = view(&tau, "tau")?.iter().copied().collect();
    a2(py, run(py, &d, || raw::orgqr(v, &t))?)
}

#[pyfunction]
pub fn orgqr(py: Python<'_>, qr: &Bound<PyAny>, tau: &Bound<PyAny>) -> PyResult<Obj> {
    by_dtype!(py, "orgqr", qr, orgqr_t(py, qr, tau))
}

fn gecon_t<T: Elem>(py: Python<'_>, lu: &Bound<PyAny>, anorm: f64, norm: &str) -> PyResult<f64> {
    let lu = ro::<T>(lu, "lu")?;
    let d = decide("gecon", lu.shape(), T::DTYPE);
    let nm = letter(norm, b"1OI", "norm")?;
    let nm = if nm == b'O' { b'1' } else { nm };
    let v = view2(&lu, "lu")?;
    let an = real::<T>(anorm);
    Ok(num_traits::ToPrimitive::to_f64(&run(py, &d, || raw::gecon(v, an, nm))?).unwrap_or(f64::NAN))
}

#[pyfunction]
pub fn gecon(py: Python<'_>, lu: &Bound<PyAny>, anorm: f64, norm: &str) -> PyResult<f64> {
    by_dtype!(py, "gecon", lu, gecon_t(py, lu, anorm, norm))
}

fn pocon_t<T: Elem>(py: Python<'_>, c: &Bound<PyAny>, anorm: f64, uplo: &str) -> PyResult<f64> {
    let c = ro::<T>(c, "c")?;
    let d = decide("pocon", c.shape(), T::DTYPE);
    let ul = letter(uplo, b"LU", "uplo")?;
    let v = view2(&c, "c")?;
    let an = real::<T>(anorm);
    Ok(num_traits::ToPrimitive::to_f64(&run(py, &d, || raw::pocon(v, an, ul))?).unwrap_or(f64::NAN))
}

#[pyfunction]
pub fn pocon(py: Python<'_>, c: &Bound<PyAny>, anorm: f64, uplo: &str) -> PyResult<f64> {
    by_dtype!(py, "pocon", c, pocon_t(py, c, anorm, uplo))
}

fn getri_t<T: Elem>(py: Python<'_>, lu: &Bound<PyAny>, ipiv: &Bound<PyAny>) -> PyResult<Obj> {
    let (lu, piv) = (ro::<T>(lu, "lu")?, ro::<i64>(ipiv, "ipiv")?);
    let d = decide("getri", lu.shape(), T::DTYPE);
    let v = view2(&lu, "lu")?;
    let p: Vec<i64> = view(&piv, "ipiv")?.iter().copied().collect();
    a2(py, run(py, &d, || raw::getri(v, &p))?)
}

#[pyfunction]
pub fn getri(py: Python<'_>, lu: &Bound<PyAny>, ipiv: &Bound<PyAny>) -> PyResult<Obj> {
    by_dtype!(py, "getri", lu, getri_t(py, lu, ipiv))
}
