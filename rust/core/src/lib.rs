//! lapack_ai_core: the pure-Rust core of lapack_ai.
//!
//! Call path: `dispatch::decide` picks the backend, a routine in `routines/` checks its memory
//! (`alloc`), loads each matrix of a stack into a column-major buffer (`layout`), runs checked
//! LAPACK calls (`lapack`, over `scalar` and the library bound in `blas`) across the stack
//! (`batch`, `threads`), and returns owned arrays or a `CoreError` of facts.

pub mod alloc;
pub mod alpha;
pub mod batch;
pub mod blas;
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

pub use error::{CoreError, Result};
pub use scalar::Scalar;
