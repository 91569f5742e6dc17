//! Python entry points: convert arrays, ask dispatch, release the GIL around the core call,
//! map errors. Arguments are validated by the Python facade first; the core re-checks shapes.

use lapack_ai_core::dispatch::{self, Decision};
use lapack_ai_core::opencl::gemm::KernelChoice;
use lapack_ai_core::routines as core;
use lapack_ai_core::routines::{qr as qrm, raw, solve as solvem, svd as svdm};
use lapack_ai_core::{CoreError, Scalar};
use numpy::{Element, IntoPyArray, PyArrayMethods, PyArrayDyn, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArrayDyn, PyReadwriteArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::errors::to_py;

type Obj = Py<PyAny>;

/// Call `$f::<f32 or f64>(...)` according to the dtype of the array `$a`.
macro_rules! by_dtype {
    ($a:expr, $f:ident($($arg:expr),*)) => {{
        let a = $a;
        if a.cast::<PyArrayDyn<f64>>().is_ok() {
            $f::<f64>($($arg),*)
        } else if a.cast::<PyArrayDyn<f32>>().is_ok() {
            $f::<f32>($($arg),*)
        } else {
            Err(PyTypeError::new_err("internal: the facade must pass float32 or float64 arrays"))
        }
    }};
}

fn decide(op: &'static str, shape: &[usize], dtype: &str) -> Decision {
    let d = shape.len();
    let (r, c) = if d >= 2 { (shape[d - 2], shape[d - 1]) } else { (0, 0) };
    let count = shape[..d.saturating_sub(2)].iter().product();
    let decision = dispatch::decide(op, (count, r, c), dtype);
    log::debug!(target: "lapack_ai", "{op} {shape:?} {dtype}: {}", decision.reason);
    decision
}

/// Run `f` without the GIL and map its error.
fn run<R: Send>(py: Python<'_>, d: &Decision, f: impl FnOnce() -> Result<R, CoreError> + Send) -> PyResult<R> {
    py.detach(f).map_err(|e| to_py(py, e, d.backend.name()))
}

fn ro<'py, T: Element>(a: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    Ok(a.cast::<PyArrayDyn<T>>()?.readonly())
}

fn arr<T: Element>(py: Python<'_>, a: ndarray::ArrayD<T>) -> Obj {
    a.into_pyarray(py).into_any().unbind()
}

fn opt<T: Element>(py: Python<'_>, a: Option<ndarray::ArrayD<T>>) -> Obj {
    a.map_or_else(|| py.None(), |a| arr(py, a))
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

// ---- high level: stacks (..., m, n) ----

fn svd_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, jobu: &str, jobvt: &str, driver: &str,
                              check_finite: bool) -> PyResult<(Obj, Obj, Obj, String)> {
    let a = ro::<T>(a)?;
    let d = decide("svd", a.shape(), T::DTYPE);
    let drv = match driver {
        "gesdd" => svdm::Driver::Gesdd,
        "gesvd" => svdm::Driver::Gesvd,
        _ => return Err(PyValueError::new_err(format!("driver must be 'gesdd' or 'gesvd', got {driver:?}"))),
    };
    let (ju, jvt) = (vectors(jobu)?, vectors(jobvt)?);
    let v = a.as_array();
    let r = run(py, &d, || svdm::svd(v, ju, jvt, drv, check_finite))?;
    Ok((opt(py, r.u), arr(py, r.s), opt(py, r.vt), format!("{}{}", T::PREFIX, driver)))
}

/// svd(a, jobu, jobvt, driver, check_finite) -> (u | None, s, vt | None, routine)
#[pyfunction]
pub fn svd(py: Python<'_>, a: &Bound<PyAny>, jobu: &str, jobvt: &str, driver: &str, check_finite: bool)
           -> PyResult<(Obj, Obj, Obj, String)> {
    by_dtype!(a, svd_t(py, a, jobu, jobvt, driver, check_finite))
}

fn solve_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, assume: &str,
                                lower: bool, check_finite: bool) -> PyResult<(Obj, Obj, f64)> {
    let (a, b) = (ro::<T>(a)?, ro::<T>(b)?);
    let d = decide("solve", a.shape(), T::DTYPE);
    let kind = match assume {
        "gen" => solvem::Assume::General,
        "sym" => solvem::Assume::Symmetric,
        "pos" => solvem::Assume::Positive,
        _ => return Err(PyValueError::new_err(format!("assume_a must be 'gen', 'sym' or 'pos', got {assume:?}"))),
    };
    let va = a.as_array();
    // NumPy 2: a 1-D b is one right-hand side; solve it as an (n, 1) matrix.
    let vector = b.ndim() == 1 && va.ndim() == 2;
    let vb = if vector { b.as_array().insert_axis(ndarray::Axis(1)) } else { b.as_array() };
    let r = run(py, &d, || solvem::solve(va, vb, kind, lower, check_finite))?;
    let x = if vector { r.x.index_axis_move(ndarray::Axis(1), 0) } else { r.x };
    let rmin = r.rcond.iter().fold(f64::INFINITY, |m, v| m.min(v.to_f64().unwrap()));
    Ok((arr(py, x), arr(py, r.rcond), rmin))
}

/// solve(a, b, assume_a, lower, check_finite) -> (x, rcond per matrix, smallest rcond)
#[pyfunction]
pub fn solve(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, assume_a: &str, lower: bool,
             check_finite: bool) -> PyResult<(Obj, Obj, f64)> {
    by_dtype!(a, solve_t(py, a, b, assume_a, lower, check_finite))
}

fn inv_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, f64)> {
    let a = ro::<T>(a)?;
    let d = decide("inv", a.shape(), T::DTYPE);
    let v = a.as_array();
    let r = run(py, &d, || core::inv::inv(v, check_finite))?;
    let rmin = r.rcond.iter().fold(f64::INFINITY, |m, v| m.min(v.to_f64().unwrap()));
    Ok((arr(py, r.x), arr(py, r.rcond), rmin))
}

/// inv(a, check_finite) -> (inverse, rcond per matrix, smallest rcond)
#[pyfunction]
pub fn inv(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, f64)> {
    by_dtype!(a, inv_t(py, a, check_finite))
}

fn det_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<Obj> {
    let a = ro::<T>(a)?;
    let d = decide("det", a.shape(), T::DTYPE);
    let v = a.as_array();
    Ok(arr(py, run(py, &d, || core::det::det(v, check_finite))?))
}

/// det(a, check_finite) -> determinant per matrix
#[pyfunction]
pub fn det(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(a, det_t(py, a, check_finite))
}

fn slogdet_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro::<T>(a)?;
    let d = decide("slogdet", a.shape(), T::DTYPE);
    let v = a.as_array();
    let (s, l) = run(py, &d, || core::det::slogdet(v, check_finite))?;
    Ok((arr(py, s), arr(py, l)))
}

/// slogdet(a, check_finite) -> (sign, logabsdet)
#[pyfunction]
pub fn slogdet(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(a, slogdet_t(py, a, check_finite))
}

fn cholesky_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, lower: bool, check_finite: bool) -> PyResult<Obj> {
    let a = ro::<T>(a)?;
    let d = decide("cholesky", a.shape(), T::DTYPE);
    let v = a.as_array();
    Ok(arr(py, run(py, &d, || core::cholesky::cholesky(v, lower, check_finite))?))
}

/// cholesky(a, lower, check_finite) -> factor
#[pyfunction]
pub fn cholesky(py: Python<'_>, a: &Bound<PyAny>, lower: bool, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(a, cholesky_t(py, a, lower, check_finite))
}

fn qr_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, mode: &str, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro::<T>(a)?;
    let d = decide("qr", a.shape(), T::DTYPE);
    let m = match mode {
        "reduced" => qrm::Mode::Reduced,
        "complete" => qrm::Mode::Complete,
        "r" => qrm::Mode::R,
        _ => return Err(PyValueError::new_err(format!("mode must be 'reduced', 'complete' or 'r', got {mode:?}"))),
    };
    let v = a.as_array();
    let (q, r) = run(py, &d, || qrm::qr(v, m, check_finite))?;
    Ok((opt(py, q), arr(py, r)))
}

/// qr(a, mode, check_finite) -> (q | None, r)
#[pyfunction]
pub fn qr(py: Python<'_>, a: &Bound<PyAny>, mode: &str, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(a, qr_t(py, a, mode, check_finite))
}

fn eigh_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, lower: bool, vectors: bool, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro::<T>(a)?;
    let d = decide("eigh", a.shape(), T::DTYPE);
    let v = a.as_array();
    let (w, z) = run(py, &d, || core::eigh::eigh(v, lower, vectors, check_finite))?;
    Ok((arr(py, w), opt(py, z)))
}

/// eigh(a, lower, vectors, check_finite) -> (w, v | None)
#[pyfunction]
pub fn eigh(py: Python<'_>, a: &Bound<PyAny>, lower: bool, vectors: bool, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(a, eigh_t(py, a, lower, vectors, check_finite))
}

fn rcond_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, norm: &str, positive: bool, check_finite: bool) -> PyResult<Obj> {
    let a = ro::<T>(a)?;
    let d = decide("rcond", a.shape(), T::DTYPE);
    let nm = letter(norm, b"1I", "norm")?;
    let v = a.as_array();
    Ok(arr(py, run(py, &d, || core::cond::rcond(v, nm, positive, check_finite))?))
}

/// rcond(a, norm, positive, check_finite) -> reciprocal condition estimate per matrix
#[pyfunction]
pub fn rcond(py: Python<'_>, a: &Bound<PyAny>, norm: &str, positive: bool, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(a, rcond_t(py, a, norm, positive, check_finite))
}

#[allow(clippy::too_many_arguments)]
fn gemm_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, c: &Bound<PyAny>,
                               alpha: f64, beta: f64, ta: bool, tb: bool, device: Option<&str>) -> PyResult<Option<String>> {
    let request = device.map(dispatch::parse_request).transpose().map_err(PyValueError::new_err)?;
    let (a, b) = (ro::<T>(a)?, ro::<T>(b)?);
    let mut c: PyReadwriteArrayDyn<T> = c.cast::<PyArrayDyn<T>>()?.try_readwrite()
        .map_err(|e| PyValueError::new_err(format!("c cannot be written: {e}")))?;
    let (va, vb, vc) = (a.as_array(), b.as_array(), c.as_array_mut());
    let (alpha, beta) = (T::from(alpha).unwrap(), T::from(beta).unwrap());
    let out = py.detach(|| core::gemm::gemm_dispatched(va, vb, vc, alpha, beta, ta, tb, request.as_ref(), KernelChoice::Auto))
        .map_err(|e| to_py(py, e, "dispatch"))?;
    Ok(out.warning)
}

/// gemm(a, b, c, alpha, beta, trans_a, trans_b, device=None): c <- alpha op(a) op(b) + beta c,
/// in place, on the backend dispatch picks. Returns a fallback warning's text, or None.
#[pyfunction]
#[pyo3(signature = (a, b, c, alpha, beta, trans_a, trans_b, device=None))]
#[allow(clippy::too_many_arguments)]
pub fn gemm(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, c: &Bound<PyAny>, alpha: f64, beta: f64,
            trans_a: bool, trans_b: bool, device: Option<&str>) -> PyResult<Option<String>> {
    by_dtype!(a, gemm_t(py, a, b, c, alpha, beta, trans_a, trans_b, device))
}

fn matmul2d_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<numpy::PyArray2<T>>, b: &Bound<numpy::PyArray2<T>>,
                                   alpha: f64, ta: bool, tb: bool) -> PyResult<Option<Obj>> {
    let (ar, ac, br, bc) = {
        let (sa, sb) = (a.shape(), b.shape());
        (sa[0], sa[1], sb[0], sb[1])
    };
    let (m, k) = if ta { (ac, ar) } else { (ar, ac) };
    let (kb, n) = if tb { (bc, br) } else { (br, bc) };
    if k != kb {
        return Ok(None); // the validating path explains the mismatch
    }
    // Only CPU decisions are taken here; anything else goes through the general path.
    let decision = if m * n * k <= core::gemm::SMALL {
        Decision::small()
    } else {
        let p = dispatch::Problem { op: "gemm", count: 1, m, n, k, dtype: T::DTYPE };
        match dispatch::decide_for(&p, None) {
            Ok(d) if d.backend == dispatch::Backend::Cpu => d,
            _ => return Ok(None),
        }
    };
    dispatch::record("gemm", &decision);
    // SAFETY: freshly created, uninitialised; gemm with beta = 0 writes every element before
    // anyone can read it, and no other reference to it exists yet.
    let out = unsafe { numpy::PyArray2::<T>::new(py, [m, n], false) };
    let mut cv = unsafe { out.as_array_mut() };
    let alpha = T::from(alpha).unwrap();
    if m * n * k <= core::gemm::SMALL {
        // No LAPACK/BLAS call and the GIL stays held, so nothing can write to a or b meanwhile:
        // skip the borrow bookkeeping, which costs more than this product.
        let (av, bv) = unsafe { (a.as_array(), b.as_array()) };
        let av = if ta { av.reversed_axes() } else { av };
        let bv = if tb { bv.reversed_axes() } else { bv };
        core::gemm::gemm1(av, bv, cv, alpha, T::zero());
    } else {
        let (ra, rb) = (a.readonly(), b.readonly());
        let (av, bv) = (ra.as_array(), rb.as_array());
        let av = if ta { av.reversed_axes() } else { av };
        let bv = if tb { bv.reversed_axes() } else { bv };
        run(py, &decision, || {
            core::gemm::gemm1(av, bv, cv.view_mut(), alpha, T::zero());
            Ok(())
        })?;
    }
    Ok(Some(out.into_any().unbind()))
}

/// matmul2d(a, b, alpha, trans_a, trans_b) -> alpha op(a) op(b) as a new C-ordered array, for
/// the common case of two 2-D arrays of one float dtype with fitting shapes; None otherwise.
#[pyfunction]
pub fn matmul2d(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, alpha: f64, trans_a: bool, trans_b: bool)
                -> PyResult<Option<Obj>> {
    if let (Ok(a), Ok(b)) = (a.cast::<numpy::PyArray2<f64>>(), b.cast::<numpy::PyArray2<f64>>()) {
        return matmul2d_t(py, a, b, alpha, trans_a, trans_b);
    }
    if let (Ok(a), Ok(b)) = (a.cast::<numpy::PyArray2<f32>>(), b.cast::<numpy::PyArray2<f32>>()) {
        return matmul2d_t(py, a, b, alpha, trans_a, trans_b);
    }
    Ok(None)
}

// ---- low level: one matrix, LAPACK's outputs ----

fn ro2<'py, T: Element>(a: &Bound<'py, PyAny>) -> PyResult<PyReadonlyArray2<'py, T>> {
    Ok(a.cast::<numpy::PyArray2<T>>()?.readonly())
}

fn a2<T: Element, D: ndarray::Dimension>(py: Python<'_>, a: ndarray::Array<T, D>) -> Obj {
    a.into_pyarray(py).into_any().unbind()
}

fn lstsq_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, rc: f64, check_finite: bool)
                                -> PyResult<(Obj, Obj, usize, Obj)> {
    let (a, b) = (ro2::<T>(a)?, ro2::<T>(b)?);
    let d = decide("lstsq", a.shape(), T::DTYPE);
    let (va, vb) = (a.as_array(), b.as_array());
    let rc = T::from(rc).unwrap();
    let r = run(py, &d, || core::lstsq::lstsq(va, vb, rc, check_finite))?;
    Ok((a2(py, r.x), a2(py, r.residuals), r.rank, a2(py, r.s)))
}

/// lstsq(a, b, rcond, check_finite) -> (x, residuals, rank, s); a and b are 2-D.
#[pyfunction]
pub fn lstsq(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, rcond: f64, check_finite: bool)
             -> PyResult<(Obj, Obj, usize, Obj)> {
    by_dtype!(a, lstsq_t(py, a, b, rcond, check_finite))
}

fn getrf_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro2::<T>(a)?;
    let d = decide("getrf", a.shape(), T::DTYPE);
    let v = a.as_array();
    let (lu, piv) = run(py, &d, || raw::getrf(v, check_finite))?;
    Ok((a2(py, lu), a2(py, piv)))
}

#[pyfunction]
pub fn getrf(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(a, getrf_t(py, a, check_finite))
}

fn gesv_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, Obj)> {
    let (a, b) = (ro2::<T>(a)?, ro2::<T>(b)?);
    let d = decide("gesv", a.shape(), T::DTYPE);
    let (va, vb) = (a.as_array(), b.as_array());
    let (lu, piv, x) = run(py, &d, || raw::gesv(va, vb, check_finite))?;
    Ok((a2(py, lu), a2(py, piv), a2(py, x)))
}

#[pyfunction]
pub fn gesv(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj, Obj)> {
    by_dtype!(a, gesv_t(py, a, b, check_finite))
}

fn potrf_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, uplo: &str, clean: bool, check_finite: bool) -> PyResult<Obj> {
    let a = ro2::<T>(a)?;
    let d = decide("potrf", a.shape(), T::DTYPE);
    let ul = letter(uplo, b"LU", "uplo")?;
    let v = a.as_array();
    Ok(a2(py, run(py, &d, || raw::potrf(v, ul, clean, check_finite))?))
}

#[pyfunction]
pub fn potrf(py: Python<'_>, a: &Bound<PyAny>, uplo: &str, clean: bool, check_finite: bool) -> PyResult<Obj> {
    by_dtype!(a, potrf_t(py, a, uplo, clean, check_finite))
}

fn posv_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, uplo: &str, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let (a, b) = (ro2::<T>(a)?, ro2::<T>(b)?);
    let d = decide("posv", a.shape(), T::DTYPE);
    let ul = letter(uplo, b"LU", "uplo")?;
    let (va, vb) = (a.as_array(), b.as_array());
    let (c, x) = run(py, &d, || raw::posv(va, vb, ul, check_finite))?;
    Ok((a2(py, c), a2(py, x)))
}

#[pyfunction]
pub fn posv(py: Python<'_>, a: &Bound<PyAny>, b: &Bound<PyAny>, uplo: &str, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(a, posv_t(py, a, b, uplo, check_finite))
}

fn geqrf_t<T: Scalar + Element>(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    let a = ro2::<T>(a)?;
    let d = decide("geqrf", a.shape(), T::DTYPE);
    let v = a.as_array();
    let (qr, tau) = run(py, &d, || raw::geqrf(v, check_finite))?;
    Ok((a2(py, qr), a2(py, tau)))
}

#[pyfunction]
pub fn geqrf(py: Python<'_>, a: &Bound<PyAny>, check_finite: bool) -> PyResult<(Obj, Obj)> {
    by_dtype!(a, geqrf_t(py, a, check_finite))
}

fn orgqr_t<T: Scalar + Element>(py: Python<'_>, qr: &Bound<PyAny>, tau: &Bound<PyAny>) -> PyResult<Obj> {
    let qr = ro2::<T>(qr)?;
    let tau: PyReadonlyArray1<T> = tau.cast::<numpy::PyArray1<T>>()?.readonly();
    let d = decide("orgqr", qr.shape(), T::DTYPE);
    let v = qr.as_array();
    let t = tau.as_array().to_vec();
    Ok(a2(py, run(py, &d, || raw::orgqr(v, &t))?))
}

#[pyfunction]
pub fn orgqr(py: Python<'_>, qr: &Bound<PyAny>, tau: &Bound<PyAny>) -> PyResult<Obj> {
    by_dtype!(qr, orgqr_t(py, qr, tau))
}

fn gecon_t<T: Scalar + Element>(py: Python<'_>, lu: &Bound<PyAny>, anorm: f64, norm: &str) -> PyResult<f64> {
    let lu = ro2::<T>(lu)?;
    let d = decide("gecon", lu.shape(), T::DTYPE);
    let nm = letter(norm, b"1OI", "norm")?;
    let nm = if nm == b'O' { b'1' } else { nm };
    let v = lu.as_array();
    let an = T::from(anorm).unwrap();
    Ok(run(py, &d, || raw::gecon(v, an, nm))?.to_f64().unwrap())
}

#[pyfunction]
pub fn gecon(py: Python<'_>, lu: &Bound<PyAny>, anorm: f64, norm: &str) -> PyResult<f64> {
    by_dtype!(lu, gecon_t(py, lu, anorm, norm))
}

fn pocon_t<T: Scalar + Element>(py: Python<'_>, c: &Bound<PyAny>, anorm: f64, uplo: &str) -> PyResult<f64> {
    let c = ro2::<T>(c)?;
    let d = decide("pocon", c.shape(), T::DTYPE);
    let ul = letter(uplo, b"LU", "uplo")?;
    let v = c.as_array();
    let an = T::from(anorm).unwrap();
    Ok(run(py, &d, || raw::pocon(v, an, ul))?.to_f64().unwrap())
}

#[pyfunction]
pub fn pocon(py: Python<'_>, c: &Bound<PyAny>, anorm: f64, uplo: &str) -> PyResult<f64> {
    by_dtype!(c, pocon_t(py, c, anorm, uplo))
}

fn getri_t<T: Scalar + Element>(py: Python<'_>, lu: &Bound<PyAny>, ipiv: &Bound<PyAny>) -> PyResult<Obj> {
    let lu = ro2::<T>(lu)?;
    let piv: PyReadonlyArray1<i32> = ipiv.cast::<numpy::PyArray1<i32>>()?.readonly();
    let d = decide("getri", lu.shape(), T::DTYPE);
    let v = lu.as_array();
    let p = piv.as_array().to_vec();
    Ok(a2(py, run(py, &d, || raw::getri(v, &p))?))
}

#[pyfunction]
pub fn getri(py: Python<'_>, lu: &Bound<PyAny>, ipiv: &Bound<PyAny>) -> PyResult<Obj> {
    by_dtype!(lu, getri_t(py, lu, ipiv))
}
