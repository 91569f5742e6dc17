//! Eigenvalues (ascending) and eigenvectors of symmetric or Hermitian matrices by divide and
//! conquer (syevd / heevd), and of the generalized problem A x = lambda B x (sygvd / hegvd).

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, square, uplo, Scratch};
use crate::alloc::Need;
use crate::batch::run;
use crate::error::Result;
use crate::batch::same_batch;
use crate::error::CoreError;
use crate::lapack::{grown, syevd, syevd_min, sygvd, work_bytes, FMat};
use crate::layout::{Mats, Stack, VecStack};
use crate::scalar::Scalar;
use crate::threads::batch_width;

pub fn eigh<T: Scalar>(a: ArrayViewD<T>, lower: bool, vectors: bool, check_finite: bool)
                       -> Result<(ArrayD<T::Real>, Option<ArrayD<T>>)> {
    let a = Mats::new(a)?;
    square("eigh", a.rows, a.cols)?;
    let n = a.rows;
    let jobz = if vectors { b'V' } else { b'N' };
    let width = batch_width(a.count, n);
    // Vectors are computed in the output; values alone in one scratch matrix per thread.
    let (vn, sn) = if vectors { (n, 0) } else { (0, n) };
    let per_thread = Need::new().array::<T>(&[sn, sn]).add_bytes(work_bytes::<T>(syevd_min::<T>(jobz, n)));
    Need::new().array::<T::Real>(&[a.count, n]).array::<T>(&[a.count, vn, vn]).add_times(per_thread, width).check("eigh")?;
    // A C-ordered A is read as A^T, which is A (symmetric) or conj(A) (Hermitian: same
    // eigenvalues, conjugate eigenvectors): read the mirrored triangle.
    let tr = a.c_ordered();
    let ul = uplo(lower, tr);
    let mut v = Stack::<T>::new("eigh", &a.batch, vn, vn)?;
    let mut w = VecStack::<T::Real>::new("eigh", &a.batch, n)?;
    if n > 0 {
        run(a.count, n, (v.items(), w.items()), Scratch::<T>::new, |i, j, s, (v, w)| {
            let src = if tr { a.get(i).reversed_axes() } else { a.get(i) };
            let buf = if vectors { v.item(j) } else { grown(&mut s.a, n * n, "eigh")? };
            let mut m = FMat::new(buf, n, n);
            load_checked(src, &mut m, check_finite, "a")?;
            syevd(jobz, ul, &mut m, w.item(j), &mut s.work)?;
            if tr && vectors && T::COMPLEX {
                m.data.iter_mut().for_each(|x| *x = x.conj());
            }
            Ok(())
        })?;
    }
    Ok((w.into_array(), vectors.then(|| v.into_array(false))))
}

/// The generalized problem A x = lambda B x for symmetric (Hermitian) A and positive definite
/// B, reading the triangle `lower` names of both: eigenvalues ascending and, with `vectors`,
/// eigenvectors normalised so that X^H B X = I. B not positive definite is `info > n`.
pub fn eigh_general<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, lower: bool, vectors: bool, check_finite: bool)
                               -> Result<(ArrayD<T::Real>, Option<ArrayD<T>>)> {
    let (a, b) = (Mats::new(a)?, Mats::new(b)?);
    square("eigh", a.rows, a.cols)?;
    same_batch("eigh", &a.batch, &b.batch)?;
    let n = a.rows;
    if (b.rows, b.cols) != (n, n) {
        return Err(CoreError::Shape(format!("eigh: b must be {n}x{n} like a, got {}x{}", b.rows, b.cols)));
    }
    let jobz = if vectors { b'V' } else { b'N' };
    let width = batch_width(a.count, n);
    let (vn, sn) = if vectors { (n, n) } else { (0, 2 * n) };
    let per_thread = Need::new().array::<T>(&[sn, n]).add_bytes(work_bytes::<T>(syevd_min::<T>(jobz, n)));
    Need::new().array::<T::Real>(&[a.count, n]).array::<T>(&[a.count, vn, vn]).add_times(per_thread, width).check("eigh")?;
    let ul = if lower { b'L' } else { b'U' };
    let mut v = Stack::<T>::new("eigh", &a.batch, vn, vn)?;
    let mut w = VecStack::<T::Real>::new("eigh", &a.batch, n)?;
    if n > 0 {
        run(a.count, n, (v.items(), w.items()), Scratch::<T>::new, |i, j, s, (v, w)| {
            // Loaded as they are (no transposed read): B's factor must be B's, not B^T's.
            let scratch = grown(&mut s.a, 2 * n * n, "eigh")?;
            let (sa, sb) = scratch.split_at_mut(n * n);
            let mut am = FMat::new(if vectors { v.item(j) } else { sa }, n, n);
            let mut bm = FMat::new(sb, n, n);
            load_checked(a.get(i), &mut am, check_finite, "a")?;
            load_checked(b.get(i), &mut bm, check_finite, "b")?;
            sygvd(jobz, ul, &mut am, &mut bm, w.item(j), &mut s.work)
        })?;
    }
    Ok((w.into_array(), vectors.then(|| v.into_array(false))))
}
