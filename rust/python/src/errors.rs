//! The one mapping from core errors to Python. The core reports facts; this raises
//! `_core.CoreError` carrying them as a dict, and `lapack_ai/errors.py` writes the report.

use std::panic::{catch_unwind, AssertUnwindSafe};

use lapack_ai_core::CoreError;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::create_exception!(_core, CoreErrorPy, PyException, "Facts of a failed core call.");

/// Turn a core error into `_core.CoreError(facts: dict)`.
pub fn to_py(py: Python<'_>, err: CoreError, backend: &str) -> PyErr {
    let facts = PyDict::new(py);
    let set = |k: &str, v: Bound<'_, PyAny>| facts.set_item(k, v);
    let r = (|| -> PyResult<()> {
        set("backend", backend.into_pyobject(py)?.into_any())?;
        set("message", err.to_string().into_pyobject(py)?.into_any())?;
        match &err {
            CoreError::Lapack { routine, info, batch } => {
                set("kind", "lapack".into_pyobject(py)?.into_any())?;
                set("routine", routine.into_pyobject(py)?.into_any())?;
                set("info", info.into_pyobject(py)?.into_any())?;
                set("batch", batch.into_pyobject(py)?.into_any())?;
            }
            CoreError::NonFinite { arg, batch, always } => {
                set("kind", "nonfinite".into_pyobject(py)?.into_any())?;
                set("arg", arg.into_pyobject(py)?.into_any())?;
                set("batch", batch.into_pyobject(py)?.into_any())?;
                set("always", always.into_pyobject(py)?.to_owned().into_any())?;
            }
            CoreError::Memory { routine, bytes, available } => {
                set("kind", "memory".into_pyobject(py)?.into_any())?;
                set("routine", routine.into_pyobject(py)?.into_any())?;
                set("bytes", bytes.into_pyobject(py)?.into_any())?;
                set("available", available.into_pyobject(py)?.into_any())?;
            }
            CoreError::Shape(_) => set("kind", "shape".into_pyobject(py)?.into_any())?,
            CoreError::Device(_) => set("kind", "device".into_pyobject(py)?.into_any())?,
            CoreError::Library(_) => set("kind", "library".into_pyobject(py)?.into_any())?,
            CoreError::Internal(_) => set("kind", "internal".into_pyobject(py)?.into_any())?,
        }
        Ok(())
    })();
    match r {
        Ok(()) => CoreErrorPy::new_err(facts.unbind()),
        Err(e) => e,
    }
}

/// Run a binding's body; a panic (a bug: nothing a caller passes should cause one) becomes
/// `_core.CoreError(kind="internal")` naming `routine`, never a `PanicException`, which is not
/// an `Exception` and would escape the caller's `except Exception`.
pub fn guard<R>(py: Python<'_>, routine: &str, f: impl FnOnce() -> PyResult<R>) -> PyResult<R> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let what = payload.downcast_ref::<&str>().map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            log::error!(target: "lapack_ai", "{routine}: internal error: {what}");
            Err(to_py(py, CoreError::Internal(format!("{routine}: internal error: {what}")), "cpu"))
        }
    }
}
