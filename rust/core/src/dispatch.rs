//! The one place where a call is assigned to a backend.
//!
//! Today only the CPU (LAPACK through OpenBLAS) exists, so every decision is `Cpu`; the OpenCL
//! backend adds its rules here, and every routine already asks here first.

/// Where a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Cpu,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
        }
    }
}

/// A backend choice and the reason for it, in words a user can read.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub backend: Backend,
    pub reason: &'static str,
}

/// Decide where `op` on matrices of shape `dims` (batch count, rows, cols) in `dtype` runs.
pub fn decide(op: &str, dims: (usize, usize, usize), dtype: &str) -> Decision {
    let _ = (op, dims, dtype);
    crate::threads::init();
    Decision { backend: Backend::Cpu, reason: "cpu: LAPACK via OpenBLAS (the only backend built)" }
}
