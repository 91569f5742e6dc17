//! Eigenvalues and right eigenvectors of general matrices (geev), and the Schur form (gees).
//!
//! Both always refuse NaN and Inf, as NumPy's eig does: the Hessenberg QR iteration has no
//! meaningful answer for them and may spin without converging.

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, Scratch};
use crate::alloc::Need;
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{gees, geev, grown, FMat};
use crate::layout::{Mats, Stack, VecStack};
use crate::scalar::Scalar;
use crate::threads::batch_width;

/// Load matrix `i` of `a` into `buf` (n x n), refusing NaN and Inf whatever the caller asked.
fn load_finite<T: Scalar>(a: &Mats<T>, i: usize, buf: &mut [T], n: usize) -> Result<()> {
    let mut f = FMat::new(buf, n, n);
    load_checked(a.get(i), &mut f, true, "a").map_err(|_| CoreError::NonFinite { arg: "a", batch: 0, always: true })
}

/// Eigenvalues (complex, in LAPACK's order) and, with `vectors`, the right eigenvectors as
/// columns normalised to unit 2-norm, of every matrix of `a`.
#[allow(clippy::type_complexity)] // (values, vectors), as LAPACK returns them
pub fn eig<T: Scalar>(a: ArrayViewD<T>, vectors: bool) -> Result<(ArrayD<T::Complex>, Option<ArrayD<T::Complex>>)> {
    let a = Mats::new(a)?;
    square("eig", a.rows, a.cols)?;
    let n = a.rows;
    let vn = if vectors { n } else { 0 };
    let width = batch_width(a.count, n);
    let per_thread = Need::new().array::<T>(&[2 * n + 6, n]);
    Need::new().array::<T::Complex>(&[a.count, n]).array::<T::Complex>(&[a.count, vn, vn]).add_times(per_thread, width).check("eig")?;
    let mut w = VecStack::<T::Complex>::new("eig", &a.batch, n)?;
    let mut v = Stack::<T::Complex>::new("eig", &a.batch, vn, vn)?;
    if n > 0 {
        run(a.count, n, (w.items(), v.items()), Scratch::<T>::new, |i, j, s, (w, v)| {
            let buf = grown(&mut s.a, 2 * n * n, "eig")?;
            let (m, vr) = buf.split_at_mut(n * n);
            load_finite(&a, i, m, n)?;
            let mut m = FMat::new(m, n, n);
            let mut vr = FMat::new(vr, n, n);
            let ev = w.item(j);
            geev(&mut m, ev, vectors.then_some(&mut vr), &mut s.work)?;
            if vectors {
                assemble::<T>(ev, vr.data, v.item(j), n);
            }
            Ok(())
        })?;
    }
    Ok((w.into_array(), vectors.then(|| v.into_array(false))))
}

/// Complex eigenvectors from LAPACK's: for real types a complex pair (w_j, conj w_j) with
/// Im w_j > 0 stores Re v_j in column j and Im v_j in column j + 1.
fn assemble<T: Scalar>(ev: &[T::Complex], vr: &[T], out: &mut [T::Complex], n: usize) {
    let mut j = 0;
    while j < n {
        let col = |k: usize| &vr[k * n..(k + 1) * n];
        if !T::COMPLEX && ev[j].im() > num_traits::Zero::zero() && j + 1 < n {
            for (r, (&re, &im)) in col(j).iter().zip(col(j + 1)).enumerate() {
                out[r + j * n] = T::complex(re.re(), im.re());
                out[r + (j + 1) * n] = T::complex(re.re(), -im.re());
            }
            j += 2;
        } else {
            for (r, &x) in col(j).iter().enumerate() {
                out[r + j * n] = x.to_complex();
            }
            j += 1;
        }
    }
}

/// What one thread of `schur` works in: the eigenvalues xGEES also returns, and its workspace.
struct EigScratch<T: Scalar> {
    ev: Vec<T::Complex>,
    work: crate::lapack::Work<T>,
}

impl<T: Scalar> EigScratch<T> {
    fn new() -> Self {
        EigScratch { ev: Vec::new(), work: Default::default() }
    }
}

/// Schur decomposition A = Z T Z^H of every matrix of `a`: T upper triangular (complex types)
/// or quasi-triangular with 2x2 blocks for complex pairs (real types), Z unitary.
pub fn schur<T: Scalar>(a: ArrayViewD<T>) -> Result<(ArrayD<T>, ArrayD<T>)> {
    let a = Mats::new(a)?;
    square("schur", a.rows, a.cols)?;
    let n = a.rows;
    let width = batch_width(a.count, n);
    Need::new().array::<T>(&[2 * a.count, n, n]).add_times(Need::new().array::<T>(&[2 * n + 6, n]), width).check("schur")?;
    let mut t = Stack::<T>::new("schur", &a.batch, n, n)?;
    let mut z = Stack::<T>::new("schur", &a.batch, n, n)?;
    if n > 0 {
        run(a.count, n, (t.items(), z.items()), EigScratch::<T>::new, |i, j, s, (t, z)| {
            let t = t.item(j);
            load_finite(&a, i, t, n)?;
            let ev = grown(&mut s.ev, n, "schur")?;
            gees(&mut FMat::new(t, n, n), &mut FMat::new(z.item(j), n, n), ev, &mut s.work)
        })?;
    }
    Ok((t.into_array(false), z.into_array(false)))
}
