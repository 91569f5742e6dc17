//! The core's error type: facts only. The Python layer turns these facts into reports
//! (`lapack_ai/errors.py` holds the one table that says what each `info` means).

use std::fmt;

/// A LAPACK routine returned `info != 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct Info {
    /// The routine actually called, with its type letter: `dgetrf`, `spotrf`, ...
    pub routine: String,
    pub info: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub enum CoreError {
    /// A LAPACK routine failed on matrix `batch` of a stack (0 for a single matrix).
    Lapack { routine: String, info: i32, batch: usize },
    /// Argument `arg` holds NaN or Inf in matrix `batch`; found before any LAPACK call.
    NonFinite { arg: &'static str, batch: usize },
    /// Shapes that the core cannot work with. The Python layer validates first with friendlier
    /// messages; this is the safety net that keeps the core sound when used from Rust.
    Shape(String),
    /// The requested device cannot run the call (or a device setting is invalid).
    Device(String),
}

impl CoreError {
    pub fn lapack(info: Info, batch: usize) -> Self {
        CoreError::Lapack { routine: info.routine, info: info.info, batch }
    }
}

impl fmt::Display for CoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CoreError::Lapack { routine, info, batch } => {
                write!(f, "{routine} returned info={info} (matrix {batch})")
            }
            CoreError::NonFinite { arg, batch } => {
                write!(f, "argument {arg} contains NaN or Inf (matrix {batch})")
            }
            CoreError::Shape(msg) | CoreError::Device(msg) => write!(f, "{msg}"),
        }
    }
}

impl std::error::Error for CoreError {}

pub type Result<T> = std::result::Result<T, CoreError>;
