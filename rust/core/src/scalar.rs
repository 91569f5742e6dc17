//! `Scalar`: the one place where the four LAPACK types (f32, f64, c32, c64) meet BLAS/LAPACK.
//!
//! Every routine in `routines/` is generic over `Scalar`; the routines themselves are declared
//! once, with their C signatures, in `crate::blas`. Routines whose real and complex versions
//! take different arguments (workspace of another type, Hermitian names) are reached through
//! [`Family`], so each wrapper in `crate::lapack` shows both calling conventions side by side.
//! `Real` is the real half: f32 and f64, the type of singular values, eigenvalues of Hermitian
//! matrices, norms and condition numbers.

use std::fmt::Debug;
use std::ops::Neg;

use num_traits::{Float, Num, NumCast};

use crate::blas::{ComplexFns, Fns, Library, RealFns};

pub use num_complex::{Complex32 as C32, Complex64 as C64};

mod sealed {
    /// Only the four types below: `lapack.rs` relies on their layout (a complex value is two
    /// reals) and on `COMPLEX` agreeing with `family`.
    pub trait Sealed {}
}

/// A floating-point type LAPACK knows: real or complex.
pub trait Scalar:
    sealed::Sealed + Num + NumCast + Neg<Output = Self> + Copy + Default + Send + Sync + Debug + std::iter::Sum + 'static
{
    /// The real type of moduli, singular values and norms (`Self` for real types).
    type Real: Real;
    /// The complex type of the same precision (`Self` for complex types): eigenvalues of
    /// general matrices.
    type Complex: Scalar<Real = Self::Real>;
    /// The double-precision type of the same kind (`Self` for float64 and complex128): where
    /// single-precision data is accumulated in double.
    type Wide: Scalar;
    /// LAPACK's type letter: "s", "d", "c" or "z". The routine name is `PREFIX + "getrf"`.
    const PREFIX: &'static str;
    /// Name NumPy uses for the dtype.
    const DTYPE: &'static str;
    const COMPLEX: bool;

    /// This type's routines that share one signature across the four types.
    fn fns(lib: &Library) -> &Fns<Self>;
    /// This type's routines whose signature differs between real and complex types.
    fn family(lib: &Library) -> Family<'_, Self>;

    fn from_real(r: Self::Real) -> Self;
    fn complex(re: Self::Real, im: Self::Real) -> Self::Complex;
    /// A Python number in this type: None when it has an imaginary part and the type is real.
    fn from_parts(re: f64, im: f64) -> Option<Self>;
    fn re(self) -> Self::Real;
    fn im(self) -> Self::Real;
    fn to_complex(self) -> Self::Complex;
    fn conj(self) -> Self;
    /// |z|.
    fn modulus(self) -> Self::Real;
    /// |re| + |im|: LAPACK's cheap magnitude (CABS1), used for pivot choice.
    fn abs1(self) -> Self::Real;
    /// self / d without the overflow and underflow of the textbook complex quotient (whose
    /// |d|^2 is 0 for |d| < 1e-154 in f64): Smith's algorithm for complex types.
    fn div_by(self, d: Self) -> Self;
    /// self / r for a real r, part by part.
    fn div_real(self, r: Self::Real) -> Self;
    fn has_nan(self) -> bool;
    fn has_inf(self) -> bool;
    /// A workspace size LAPACK returned in `work[0]` (its real part).
    fn query_size(self) -> f64;
}

/// f32 or f64: the real types.
pub trait Real: Scalar<Real = Self> + Float {}

/// The routines of one type whose real and complex signatures differ.
pub enum Family<'a, T: Scalar> {
    Real(&'a RealFns<T, T::Real>),
    Complex(&'a ComplexFns<T, T::Real>),
}

macro_rules! real {
    ($t:ty, $c:ty, $w:ty, $p:literal, $d:literal, $f:ident) => {
        impl Scalar for $t {
            type Real = $t;
            type Complex = $c;
            type Wide = $w;
            const PREFIX: &'static str = $p;
            const DTYPE: &'static str = $d;
            const COMPLEX: bool = false;
            fn fns(lib: &Library) -> &Fns<$t> {
                &lib.$f.0
            }
            fn family(lib: &Library) -> Family<'_, $t> {
                Family::Real(&lib.$f.1)
            }
            fn from_real(r: $t) -> $t {
                r
            }
            fn complex(re: $t, im: $t) -> $c {
                <$c>::new(re, im)
            }
            fn from_parts(re: f64, im: f64) -> Option<$t> {
                (im == 0.0).then_some(re as $t)
            }
            fn re(self) -> $t {
                self
            }
            fn im(self) -> $t {
                0.0
            }
            fn to_complex(self) -> $c {
                <$c>::new(self, 0.0)
            }
            fn conj(self) -> $t {
                self
            }
            fn modulus(self) -> $t {
                self.abs()
            }
            fn abs1(self) -> $t {
                self.abs()
            }
            fn div_by(self, d: $t) -> $t {
                self / d
            }
            fn div_real(self, r: $t) -> $t {
                self / r
            }
            fn has_nan(self) -> bool {
                self.is_nan()
            }
            fn has_inf(self) -> bool {
                self.is_infinite()
            }
            fn query_size(self) -> f64 {
                self as f64
            }
        }
        impl Real for $t {}
        impl sealed::Sealed for $t {}
    };
}

macro_rules! complex {
    ($t:ty, $r:ty, $w:ty, $p:literal, $d:literal, $f:ident) => {
        impl sealed::Sealed for $t {}
        impl Scalar for $t {
            type Real = $r;
            type Complex = $t;
            type Wide = $w;
            const PREFIX: &'static str = $p;
            const DTYPE: &'static str = $d;
            const COMPLEX: bool = true;
            fn fns(lib: &Library) -> &Fns<$t> {
                &lib.$f.0
            }
            fn family(lib: &Library) -> Family<'_, $t> {
                Family::Complex(&lib.$f.1)
            }
            fn from_real(r: $r) -> $t {
                <$t>::new(r, 0.0)
            }
            fn complex(re: $r, im: $r) -> $t {
                <$t>::new(re, im)
            }
            fn from_parts(re: f64, im: f64) -> Option<$t> {
                Some(<$t>::new(re as $r, im as $r))
            }
            fn re(self) -> $r {
                self.re
            }
            fn im(self) -> $r {
                self.im
            }
            fn to_complex(self) -> $t {
                self
            }
            fn conj(self) -> $t {
                num_complex::Complex::conj(&self)
            }
            fn modulus(self) -> $r {
                // sqrt(re^2 + im^2) where the squares cannot overflow or underflow (a few
                // times faster than libm's hypot, which norm() calls, in O(n^2) norm loops).
                let (a, b) = (self.re.abs(), self.im.abs());
                let m = a.max(b);
                if m < (2.0 as $r).powi(<$r>::MAX_EXP / 2 - 2) && m > (2.0 as $r).powi(<$r>::MIN_EXP / 2 + 2) {
                    (a * a + b * b).sqrt()
                } else {
                    self.norm()
                }
            }
            fn abs1(self) -> $r {
                self.re.abs() + self.im.abs()
            }
            fn div_by(self, d: $t) -> $t {
                let (a, b, c, e) = (self.re, self.im, d.re, d.im);
                if c.abs() >= e.abs() {
                    let r = e / c;
                    let den = c + e * r;
                    <$t>::new((a + b * r) / den, (b - a * r) / den)
                } else {
                    let r = c / e;
                    let den = c * r + e;
                    <$t>::new((a * r + b) / den, (b * r - a) / den)
                }
            }
            fn div_real(self, r: $r) -> $t {
                <$t>::new(self.re / r, self.im / r)
            }
            fn has_nan(self) -> bool {
                self.re.is_nan() || self.im.is_nan()
            }
            fn has_inf(self) -> bool {
                self.re.is_infinite() || self.im.is_infinite()
            }
            fn query_size(self) -> f64 {
                self.re as f64
            }
        }
    };
}

real!(f32, C32, f64, "s", "float32", s);
real!(f64, C64, f64, "d", "float64", d);
complex!(C32, f32, C64, "c", "complex64", c);
complex!(C64, f64, C64, "z", "complex128", z);
