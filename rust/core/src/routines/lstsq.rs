//! Minimum-norm least squares by SVD (gelsd), with NumPy's residuals convention.

use ndarray::{s, Array1, Array2, ArrayView2, ArrayViewMut2, ShapeBuilder};

use super::{load_checked, refuse_inf};
use crate::alloc::{self, Need};
use crate::error::{CoreError, Result};
use crate::lapack::{gelsd, gelsd_min, work_bytes, FMat, Work};
use num_traits::Zero;

use crate::scalar::Scalar;

pub struct Lstsq<T: Scalar> {
    pub x: Array2<T>,
    /// Squared 2-norm of each residual column when A has full column rank and m > n; else empty.
    pub residuals: Array1<T::Real>,
    pub rank: usize,
    pub s: Array1<T::Real>,
}

/// `rcond`: singular values at or below `rcond * s_max` count as zero.
pub fn lstsq<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, rcond: T::Real, check_finite: bool) -> Result<Lstsq<T>> {
    let ((m, n), (mb, k)) = (a.dim(), b.dim());
    if mb != m {
        return Err(CoreError::Shape(format!("lstsq: a has {m} rows but b has {mb}")));
    }
    let ldb = m.max(n);
    // LAPACK wants at least one right-hand side; NumPy still reports rank and s without one.
    let kk = k.max(1);
    Need::new().array::<T>(&[m, n]).array::<T>(&[ldb, kk]).array::<T>(&[n, k]).array::<T::Real>(&[m.min(n)])
        .add_bytes(work_bytes::<T>(gelsd_min::<T>(m, n, kk))).check("lstsq")?;
    let mut abuf = alloc::vec("lstsq", m * n, T::zero())?;
    let mut af = FMat::new(&mut abuf, m, n);
    load_checked(a, &mut af, check_finite, "a")?;
    refuse_inf(af.data, "a")?;
    // b's buffer has max(m, n) rows: x comes back in its first n rows.
    let mut bbuf = alloc::vec("lstsq", ldb * kk, T::zero())?;
    ArrayViewMut2::from_shape((ldb, kk).f(), &mut bbuf[..]).expect("sized").slice_mut(s![..m, ..k]).assign(&b);
    if check_finite && !crate::layout::all_finite(&bbuf) {
        return Err(CoreError::NonFinite { arg: "b", batch: 0, always: false });
    }
    refuse_inf(&bbuf, "b")?;
    let mut sv = alloc::vec("lstsq", m.min(n), T::Real::zero())?;
    let rank = if m.min(n) == 0 {
        0
    } else {
        let mut bf = FMat::new(&mut bbuf, ldb, kk);
        gelsd(&mut af, &mut bf, &mut sv, rcond, &mut Work::default())?
    };
    // x: the first n rows of each column of b's buffer.
    let mut xs = alloc::vec("lstsq", n * k, T::zero())?;
    for j in 0..k {
        xs[j * n..(j + 1) * n].copy_from_slice(&bbuf[j * ldb..j * ldb + n]);
    }
    let x = Array2::from_shape_vec((n, k).f(), xs).expect("sized");
    let residuals = if rank == n && m > n {
        Array1::from_shape_fn(k, |j| bbuf[j * ldb + n..j * ldb + m].iter().map(|&v| v.modulus() * v.modulus()).sum())
    } else {
        Array1::zeros(0)
    };
    Ok(Lstsq { x, residuals, rank, s: Array1::from(sv) })
}
