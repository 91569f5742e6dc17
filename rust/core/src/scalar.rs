//! `Scalar`: the one place where f32 and f64 meet BLAS/LAPACK.
//!
//! Every routine in `routines/` is generic over `Scalar`; the routines themselves are declared
//! once, with their C signatures, in `crate::blas`, and `fns` picks this type's set.

use num_traits::Float;

use crate::blas::{Fns, Library};

/// A real floating-point type that LAPACK knows.
pub trait Scalar: Float + Default + Send + Sync + std::fmt::Debug + std::iter::Sum + 'static {
    /// LAPACK's type letter: "s" or "d". The actual routine name is `PREFIX + "getrf"`.
    const PREFIX: &'static str;
    /// Name numpy uses for the dtype.
    const DTYPE: &'static str;

    /// This type's routines in the loaded library.
    fn fns(lib: &Library) -> &Fns<Self>;
}

impl Scalar for f64 {
    const PREFIX: &'static str = "d";
    const DTYPE: &'static str = "float64";
    fn fns(lib: &Library) -> &Fns<f64> {
        &lib.d
    }
}

impl Scalar for f32 {
    const PREFIX: &'static str = "s";
    const DTYPE: &'static str = "float32";
    fn fns(lib: &Library) -> &Fns<f32> {
        &lib.s
    }
}
