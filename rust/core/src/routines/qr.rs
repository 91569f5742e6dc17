//! QR factorisation (geqrf, then orgqr to form Q), in NumPy's three modes.

use ndarray::{ArrayD, ArrayViewD};

use super::load_checked;
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{geqrf, orgqr, FMat};
use crate::layout::{matrices, split_shape, Stack};
use crate::scalar::Scalar;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Q is m x k, R is k x n (k = min(m, n)).
    Reduced,
    /// Q is m x m, R is m x n.
    Complete,
    /// Only R, k x n.
    R,
}

pub fn qr<T: Scalar>(a: ArrayViewD<T>, mode: Mode, check_finite: bool)
                     -> Result<(Option<ArrayD<T>>, ArrayD<T>)> {
    let (batch, m, n) = split_shape(a.shape())?;
    let k = m.min(n);
    let (rr, qc) = match mode {
        Mode::Reduced => (k, k),
        Mode::Complete => (m, m),
        Mode::R => (k, 0),
    };
    let mut w = Stack::<T>::zeros(&batch, m, n);
    let mut r = Stack::<T>::zeros(&batch, rr, n);
    let mut q = Stack::<T>::zeros(&batch, m, qc);
    let items: Vec<_> = matrices(a).into_iter().zip(w.mats_mut()).zip(r.mats_mut())
        .zip(q.mats_mut()).collect();
    run(items, m.max(n), |i, (((src, mut w), r), q)| {
        load_checked(src, &mut w, check_finite, "a", i)?;
        let lap = |e| CoreError::lapack(e, i);
        let mut tau = vec![T::zero(); k.max(1)];
        geqrf(&mut w, &mut tau).map_err(lap)?;
        for j in 0..n {
            for row in 0..=j.min(rr.saturating_sub(1)).min(m.saturating_sub(1)) {
                if row < rr {
                    r.data[row + j * rr] = w.at(row, j);
                }
            }
        }
        if qc > 0 {
            // Q's first min(n, qc) columns hold the reflectors; orgqr expands them in place.
            let cols = n.min(qc);
            q.data[..m * cols].copy_from_slice(&w.data[..m * cols]);
            let mut qm = FMat::new(&mut q.data[..], m, qc);
            orgqr(&mut qm, k, &tau).map_err(lap)?;
        }
        Ok(())
    })?;
    let q = (mode != Mode::R).then(|| q.into_array(false));
    Ok((q, r.into_array(false)))
}
