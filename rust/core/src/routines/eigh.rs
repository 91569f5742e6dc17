//! Eigenvalues (ascending) and eigenvectors of symmetric or Hermitian matrices by divide and
//! conquer (syevd / heevd), and of the generalized problem A x = lambda B x (sygvd / hegvd); on
//! an OpenCL device, where dispatch chooses it, stacks of matrices up to 64x64 in any of the
//! four types (one-sided Jacobi on a shifted A, `opencl::svd_small::eigh`).

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
use crate::dispatch::{self, Backend, Problem, Request};
use crate::opencl;
use super::svd::Outcome;

/// `eigh` through the dispatcher: stacks of matrices up to 64x64 may run on an OpenCL device,
/// everything else (and the generalized problem) on the CPU. A device failure falls back to
/// the CPU with a warning; non-convergence found on the device is an error, as is NaN or Inf
/// with `check_finite` (as on the CPU). Without `check_finite`, a stack the device finds NaN
/// or Inf in is computed on the CPU, whose LAPACK decides what comes of it (NaN results, or
/// its own error), so the device never answers differently.
#[allow(clippy::type_complexity)]
pub fn eigh_dispatched<T: Scalar>(a: ArrayViewD<T>, lower: bool, vectors: bool, check_finite: bool, request: Option<&Request>)
                                  -> Result<((ArrayD<T::Real>, Option<ArrayD<T>>), Outcome)> {
    let (batch, m, n) = crate::layout::split_shape(a.shape())?;
    square("eigh", m, n)?;
    let count = crate::layout::count(&batch)?;
    let problem = Problem { op: "eigh", count, m, n, k: n, dtype: T::DTYPE };
    let decision = dispatch::decide_for(&problem, request).map_err(CoreError::Device)?;
    log::debug!(target: "lapack_ai", "eigh {:?} {}: {}", a.shape(), T::DTYPE, decision.reason);
    dispatch::record("eigh", &decision);
    let Backend::OpenCl(index) = decision.backend else {
        return Ok((eigh(a, lower, vectors, check_finite)?, Outcome { decision, run: None, warning: None }));
    };
    // The device path's host memory: a staged copy of the input (at worst) and the results.
    Need::new().array::<T>(&[count, n, n]).array::<T>(&[count, if vectors { n } else { 0 }, n]).array::<T>(&[count, n])
        .check("eigh")?;
    let start = std::time::Instant::now();
    let knobs = opencl::svd_small::Knobs::from_env();
    match opencl::gpu(index).and_then(|g| opencl::svd_small::eigh(&g, a.view(), lower, vectors, check_finite, &knobs, start)) {
        Ok((Err(CoreError::NonFinite { .. }), _)) if !check_finite => {
            let decision = crate::dispatch::Decision::cpu("cpu: the device found NaN or Inf and check_finite=False: \
                                                           LAPACK on the CPU decides what comes of it".to_string());
            dispatch::record("eigh", &decision);
            Ok((eigh(a, lower, vectors, check_finite)?, Outcome { decision, run: None, warning: None }))
        }
        Ok((result, run)) => {
            let transfer = dispatch::Transfer { kernel: run.kernel.clone(), bytes_to_device: run.bytes_to_device,
                                                bytes_from_device: run.bytes_from_device, kernel_ns: run.kernel_ns };
            dispatch::record_run("eigh", &decision, Some(transfer));
            Ok((result?, Outcome { decision, run: Some(run), warning: None }))
        }
        Err(fail) => {
            let (decision, warning) = super::device_failed("eigh", index, decision, &fail);
            dispatch::record("eigh", &decision);
            Ok((eigh(a, lower, vectors, check_finite)?, Outcome { decision, run: None, warning }))
        }
    }
}

#[allow(clippy::type_complexity)] // (values, vectors), as LAPACK returns them
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
#[allow(clippy::type_complexity)] // (values, vectors), as LAPACK returns them
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
