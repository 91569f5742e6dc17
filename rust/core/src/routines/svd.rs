//! Singular value decomposition: gesdd (divide and conquer) or gesvd (QR iteration).

use ndarray::{ArrayD, ArrayViewD};

use super::load_checked;
use crate::batch::run;
use crate::error::{CoreError, Result};
use crate::lapack::{gesdd, gesvd};
use crate::layout::{fill_identity, matrices, prefers_transpose, split_shape, Stack, VecStack};
use crate::scalar::Scalar;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Driver {
    Gesdd,
    Gesvd,
}

/// Which singular vectors to compute: none, the first min(m, n), or all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vectors {
    None,
    Reduced,
    Full,
}

impl Vectors {
    fn job(self) -> u8 {
        match self {
            Vectors::None => b'N',
            Vectors::Reduced => b'S',
            Vectors::Full => b'A',
        }
    }
}

pub struct Svd<T> {
    pub u: Option<ArrayD<T>>,
    pub s: ArrayD<T>,
    pub vt: Option<ArrayD<T>>,
}

/// SVD of every matrix of `a`: A = U diag(s) Vt. `ju`/`jvt` choose U and Vt separately
/// (gesdd computes both or neither).
pub fn svd<T: Scalar>(a: ArrayViewD<T>, ju: Vectors, jvt: Vectors, driver: Driver,
                      check_finite: bool) -> Result<Svd<T>> {
    if driver == Driver::Gesdd && ju != jvt {
        return Err(CoreError::Shape("gesdd computes U and Vt with the same job".into()));
    }
    let (batch, m, n) = split_shape(a.shape())?;
    let mats = matrices(a);
    // A C-ordered A is loaded as W = A^T (a memcpy): W = U' S V'^T gives U = V', Vt = U'^T.
    let tr = prefers_transpose(&mats);
    let (wm, wn, wju, wjvt) = if tr { (n, m, jvt, ju) } else { (m, n, ju, jvt) };
    let k = m.min(n);
    let dims = |j: Vectors, rows: usize, cols: usize, full: usize| match j {
        Vectors::None => (0, 0),
        Vectors::Reduced => (rows, cols),
        Vectors::Full => (full, full),
    };
    let (ur, uc) = dims(wju, wm, k, wm);
    let (vr, vc) = dims(wjvt, k, wn, wn);
    let mut w = Stack::<T>::zeros(&batch, wm, wn);
    let mut s = VecStack::<T>::zeros(&batch, k);
    let mut u = Stack::<T>::zeros(&batch, ur, uc);
    let mut vt = Stack::<T>::zeros(&batch, vr, vc);
    if k == 0 {
        // NumPy's convention for empty input: full U and Vt are identities.
        fill_identity(&mut u);
        fill_identity(&mut vt);
    } else {
        let items: Vec<_> = mats.into_iter().zip(w.mats_mut()).zip(s.slices_mut())
            .zip(u.mats_mut()).zip(vt.mats_mut()).collect();
        run(items, m.max(n), |i, ((((src, mut w), s), mut u), mut vt)| {
            let src = if tr { src.reversed_axes() } else { src };
            load_checked(src, &mut w, check_finite, "a", i)?;
            let uo = (wju != Vectors::None).then_some(&mut u);
            let vo = (wjvt != Vectors::None).then_some(&mut vt);
            match driver {
                Driver::Gesdd => gesdd(wju.job(), &mut w, s, uo, vo),
                Driver::Gesvd => gesvd(wju.job(), wjvt.job(), &mut w, s, uo, vo),
            }
            .map_err(|e| CoreError::lapack(e, i))
        })?;
    }
    let (u, vt) = if tr {
        (vt.into_array(true), u.into_array(true))
    } else {
        (u.into_array(false), vt.into_array(false))
    };
    Ok(Svd {
        u: (ju != Vectors::None).then_some(u),
        s: s.into_array(),
        vt: (jvt != Vectors::None).then_some(vt),
    })
}
