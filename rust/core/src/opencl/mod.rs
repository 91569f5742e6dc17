//! The OpenCL backend: device discovery and per-device runtime (`runtime`), compiled-program
//! cache in memory and on disk (`program`), failure classes and the fault-injection switch
//! (`fail`), and one host file per routine (`gemm`; `gemm_small`, stacks of small products;
//! `svd_small`, stacks of small SVDs; `svd_tall`, tall-skinny SVDs).
//! Kernel sources live in `kernels/` at the repository root and are embedded at build time.
//!
//! libOpenCL is loaded at first use (opencl3's `dynamic` feature): without it every function
//! here reports "no OpenCL" and the CPU path runs.

pub mod alpha;
pub mod fail;
pub mod gemm;
pub mod gemm_small;
pub mod nvml;
pub mod program;
pub mod runtime;
pub mod staging;
pub mod svd_small;
pub mod svd_tall;

pub use fail::{ClFail, FailKind};
pub use runtime::{devices, disable, enabled, free_memory, gpu, DeviceInfo, Discovery, Gpu};
