//! lapack_ai_core: the pure-Rust core of lapack_ai.
//!
//! Call path: `dispatch::decide` picks the backend, a routine in `routines/` loads each matrix
//! of a stack into a column-major buffer (`layout`), runs checked LAPACK calls (`lapack`, over
//! `scalar`) across the stack (`batch`), and returns owned arrays or a `CoreError` of facts.

// Links OpenBLAS (BLAS + LAPACK symbols) into whatever binary uses this crate.
extern crate openblas_src;

pub mod batch;
pub mod cache;
pub mod container;
pub mod dispatch;
pub mod error;
pub mod lapack;
pub mod opencl;
pub mod layout;
pub mod routines;
pub mod scalar;
pub mod threads;

pub use error::{CoreError, Info, Result};
pub use scalar::Scalar;
