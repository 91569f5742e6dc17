//! The core's error type: facts only. The Python layer turns these facts into reports
//! (`lapack_ai/errors.py` holds the one table that says what each `info` means).

use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum CoreError {
    /// A LAPACK routine (the one actually called, with its type letter: `dgetrf`, `spotrf`)
    /// returned `info != 0` on matrix `batch` of a stack (0 for a single matrix).
    Lapack { routine: String, info: i64, batch: usize },
    /// Argument `arg` holds NaN or Inf in matrix `batch`; found before any LAPACK call.
    /// `always`: refused although `check_finite=False` (Inf in an SVD-based routine).
    NonFinite { arg: &'static str, batch: usize, always: bool },
    /// Shapes that the core cannot work with. The Python layer validates first with friendlier
    /// messages; this is the safety net that keeps the core sound when used from Rust.
    Shape(String),
    /// The requested device cannot run the call (or a device setting is invalid).
    Device(String),
    /// The call needs more memory than the process can get: `bytes` (None when the size does
    /// not even fit 64 bits) against `available` (None when unknown). Found before any work.
    Memory { routine: String, bytes: Option<u64>, available: Option<u64> },
    /// No usable BLAS/LAPACK library (see `crate::blas`).
    Library(String),
    /// A broken invariant of the core itself (a bug): the binding also turns panics into this.
    Internal(String),
}

impl CoreError {
    /// The same error, said of matrix `batch` of a stack.
    pub fn at(self, batch: usize) -> Self {
        match self {
            CoreError::Lapack { routine, info, .. } => CoreError::Lapack { routine, info, batch },
            CoreError::NonFinite { arg, always, .. } => CoreError::NonFinite { arg, batch, always },
            e => e,
        }
    }
}

fn human(bytes: u64) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let (mut v, mut u) = (bytes as f64, 0);
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 { format!("{bytes} bytes") } else { format!("{v:.1} {}", units[u]) }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Lapack { routine, info, batch } => {
                write!(f, "{routine} returned info={info} (matrix {batch})")
            }
            CoreError::NonFinite { arg, batch, .. } => {
                write!(f, "argument {arg} contains NaN or Inf (matrix {batch})")
            }
            CoreError::Memory { routine, bytes, available } => {
                let need = bytes.map_or_else(|| "more than 2^64 bytes".to_string(), human);
                let have = available.map_or_else(|| "unknown".to_string(), human);
                write!(f, "{routine} needs {need} of memory; available: {have}")
            }
            CoreError::Shape(msg) | CoreError::Device(msg) | CoreError::Library(msg) | CoreError::Internal(msg) => {
                write!(f, "{msg}")
            }
        }
    }
}

impl std::error::Error for CoreError {}

pub type Result<T> = std::result::Result<T, CoreError>;
