//! Minimum-norm least squares by SVD (gelsd), with NumPy's residuals convention.

use ndarray::{Array1, Array2, ArrayView2, ShapeBuilder};

use super::load_checked;
use crate::error::{CoreError, Result};
use crate::lapack::{gelsd, FMat};
use crate::scalar::Scalar;

pub struct Lstsq<T> {
    pub x: Array2<T>,
    /// Squared 2-norm of each residual column when A has full column rank and m > n; else empty.
    pub residuals: Array1<T>,
    pub rank: usize,
    pub s: Array1<T>,
}

/// `rcond`: singular values at or below `rcond * s_max` count as zero.
pub fn lstsq<T: Scalar>(a: ArrayView2<T>, b: ArrayView2<T>, rcond: T, check_finite: bool)
                        -> Result<Lstsq<T>> {
    let ((m, n), (mb, k)) = (a.dim(), b.dim());
    if mb != m {
        return Err(CoreError::Shape(format!("lstsq: a has {m} rows but b has {mb}")));
    }
    let ldb = m.max(n);
    // LAPACK wants at least one right-hand side; NumPy still reports rank and s without one.
    let kk = k.max(1);
    let mut abuf = vec![T::zero(); m * n];
    let mut af = FMat::new(&mut abuf, m, n);
    load_checked(a, &mut af, check_finite, "a", 0)?;
    // b's buffer has max(m, n) rows: x comes back in its first n rows.
    let mut bbuf = vec![T::zero(); ldb * kk];
    {
        let mut top = Array2::<T>::zeros((m, k).f());
        let mut tf = FMat::new(top.as_slice_memory_order_mut().expect("fresh"), m, k);
        load_checked(b, &mut tf, check_finite, "b", 0)?;
        for j in 0..k {
            bbuf[j * ldb..j * ldb + m].copy_from_slice(&tf.data[j * m..(j + 1) * m]);
        }
    }
    let mut s = vec![T::zero(); m.min(n)];
    let rank = if m.min(n) == 0 {
        0
    } else {
        let mut bf = FMat::new(&mut bbuf, ldb, kk);
        gelsd(&mut af, &mut bf, &mut s, rcond).map_err(|e| CoreError::lapack(e, 0))?
    };
    let x = Array2::from_shape_fn((n, k), |(i, j)| if i < m.max(n) { bbuf[i + j * ldb] } else { T::zero() });
    let residuals = if rank == n && m > n {
        Array1::from_shape_fn(k, |j| bbuf[j * ldb + n..j * ldb + m].iter().map(|&v| v * v).sum())
    } else {
        Array1::zeros(0)
    };
    Ok(Lstsq { x, residuals, rank, s: Array1::from(s) })
}
