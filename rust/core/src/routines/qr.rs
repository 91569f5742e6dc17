//! QR factorisation (geqrf, then orgqr to form Q), in NumPy's three modes.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, Scratch};
use crate::alloc::Need;
use crate::batch::run;
use crate::error::Result;
use crate::lapack::{geqrf, grown, orgqr, FMat};
use crate::layout::{Mats, Stack};
use crate::scalar::Scalar;
use crate::threads::batch_width;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Q is m x k, R is k x n (k = min(m, n)).
    Reduced,
    /// Q is m x m, R is m x n.
    Complete,
    /// Only R, k x n.
    R,
}

pub fn qr<T: Scalar>(a: ArrayViewD<T>, mode: Mode, check_finite: bool) -> Result<(Option<ArrayD<T>>, ArrayD<T>)> {
    let a = Mats::new(a)?;
    let (m, n) = (a.rows, a.cols);
    let k = m.min(n);
    let (rr, qc) = match mode {
        Mode::Reduced => (k, k),
        Mode::Complete => (m, m),
        Mode::R => (k, 0),
    };
    let width = batch_width(a.count, m.max(n));
    let per_thread = Need::new().array::<T>(&[m, n]).array::<T>(&[k + 66 * n.max(m)]);
    Need::new().array::<T>(&[a.count, rr, n]).array::<T>(&[a.count, m, qc]).add_times(per_thread, width).check("qr")?;
    let mut r = Stack::<T>::new("qr", &a.batch, rr, n)?;
    let mut q = Stack::<T>::new("qr", &a.batch, m, qc)?;
    if mode == Mode::Complete && k == 0 {
        crate::layout::fill_identity(&mut q); // NumPy: the complete Q of an empty matrix is I
    }
    if k > 0 {
        run(a.count, m.max(n), (r.items(), q.items()), Scratch::<T>::new, |i, j, s, (r, q)| {
            let mut w = FMat::new(grown(&mut s.a, m * n, "qr")?, m, n);
            load_checked(a.get(i), &mut w, check_finite, "a")?;
            let tau = grown(&mut s.tau, k, "qr")?;
            geqrf(&mut w, tau, &mut s.work)?;
            // R: the upper trapezoid of the first rr rows.
            let r = r.item(j);
            for c in 0..n {
                for row in 0..=c.min(rr - 1) {
                    r[row + c * rr] = w.at(row, c);
                }
            }
            if qc > 0 {
                // Q's first min(n, qc) columns hold the reflectors; orgqr expands them in place.
                let q = q.item(j);
                let cols = n.min(qc);
                q[..m * cols].copy_from_slice(&w.data[..m * cols]);
                orgqr(&mut FMat::new(q, m, qc), k, tau, &mut s.work)?;
            }
            Ok(())
        })?;
    }
    let q = (mode != Mode::R).then(|| q.into_array(false));
    Ok((q, r.into_array(false)))
}
