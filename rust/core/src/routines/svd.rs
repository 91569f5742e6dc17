//! Singular value decomposition: gesdd (divide and conquer) or gesvd (QR iteration) on the
//! CPU; on an OpenCL device, where dispatch chooses it, stacks of matrices up to 64x64
//! (one-sided Jacobi, `opencl::svd_small`) and tall-skinny matrices with thin or no vectors
//! (CholeskyQR, `opencl::svd_tall`).

use ndarray::{ArrayD, ArrayViewD};

use super::{load_checked, refuse_inf, Scratch};
use crate::alloc::Need;
use crate::batch::run;
use crate::dispatch::{self, Backend, Decision, Problem, Request};
use crate::error::{CoreError, Result};
use crate::lapack::{gesdd, gesdd_min, gesvd, gesvd_min, grown, work_bytes, FMat};
use crate::layout::{fill_identity, split_shape, Mats, Stack, VecStack};
use crate::opencl::{self, gemm::Run, svd_tall::Tall};
use crate::scalar::Scalar;
use crate::threads::batch_width;

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

pub struct Svd<T: Scalar> {
    pub u: Option<ArrayD<T>>,
    pub s: ArrayD<T::Real>,
    pub vt: Option<ArrayD<T>>,
}

/// What a dispatched SVD did: the final decision (after any fallback), the device run, and a
/// warning for the caller when the device failed and the CPU took over.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub decision: Decision,
    pub run: Option<Run>,
    pub warning: Option<String>,
}

/// `svd` through the dispatcher: stacks of matrices up to 64x64 and tall-skinny ones (thin or
/// no vectors) in float32/float64 may run on an OpenCL device (`driver` then plays no part),
/// everything else on the CPU. A device failure (out of memory or resources, build, lost
/// device) falls back to the CPU with a warning; NaN, Inf and non-convergence found on the
/// device are errors, as on the CPU. A tall-skinny matrix CholeskyQR cannot orthogonalize
/// (rank-deficient, or cond beyond about 1/eps) is decomposed on the CPU, and the decision
/// says so.
pub fn svd_dispatched<T: Scalar>(a: ArrayViewD<T>, ju: Vectors, jvt: Vectors, driver: Driver, check_finite: bool,
                                 request: Option<&Request>) -> Result<(Svd<T>, Outcome)> {
    let (batch, m, n) = split_shape(a.shape())?;
    let count = crate::layout::count(&batch)?;
    // Square vectors differ from thin ones only on the long side (U of a tall matrix, V^T of a
    // wide one); the size weighs max(m, n) min(m, n)^2 either way round.
    let long_full = (ju == Vectors::Full && m > n) || (jvt == Vectors::Full && n > m);
    let op = if long_full { "svd_full" } else { "svd" };
    let problem = Problem { op, count, m, n, k: m.min(n), dtype: T::DTYPE };
    let decision = dispatch::decide_for(&problem, request).map_err(CoreError::Device)?;
    log::debug!(target: "lapack_ai", "svd {:?} {}: {}", a.shape(), T::DTYPE, decision.reason);
    // Each path records its decision before it can fail, so an error is told where it arose.
    dispatch::record("svd", &decision);
    let Backend::OpenCl(index) = decision.backend else {
        let r = svd(a, ju, jvt, driver, check_finite)?;
        return Ok((r, Outcome { decision, run: None, warning: None }));
    };
    // The device path's host memory: a staged copy of the input (at worst) and the results.
    let k = m.min(n);
    let full = |j: Vectors, d: usize| if j == Vectors::Full { d } else { k };
    Need::new().array::<T>(&[count, m, n]).array::<T>(&[count, m, full(ju, m)]).array::<T>(&[count, full(jvt, n), n])
        .array::<T>(&[count, k]).array::<T>(&[m, n]).check("svd")?;
    let start = std::time::Instant::now();
    let ran = opencl::gpu(index).and_then(|g| {
        if m.max(n) <= opencl::svd_small::MAX_DIM {
            let knobs = opencl::svd_small::Knobs::from_env();
            opencl::svd_small::svd(&g, a.view(), ju, jvt, check_finite, &knobs, start).map(|(r, run)| (r.map(Tall::Done), run))
        } else {
            let thin = |j: Vectors| if j == Vectors::Full { Vectors::Reduced } else { j }; // the short side's: the same
            opencl::svd_tall::svd(&g, a.view(), thin(ju), thin(jvt), check_finite, start).map(|(t, run)| (Ok(t), run))
        }
    });
    match ran {
        Ok((result, run)) => {
            let transfer = dispatch::Transfer { kernel: run.kernel.clone(), bytes_to_device: run.bytes_to_device,
                                                bytes_from_device: run.bytes_from_device, kernel_ns: run.kernel_ns };
            dispatch::record_run("svd", &decision, Some(transfer));
            match result? {
                Tall::Done(r) => Ok((r, Outcome { decision, run: Some(run), warning: None })),
                Tall::Refused(e) => Err(e),
                Tall::Declined(why) => {
                    let decision = Decision::cpu(format!("cpu: the OpenCL tall-skinny SVD declined {}x{} {}: {why}; LAPACK on the \
                                                          CPU instead", m, n, T::DTYPE));
                    log::debug!(target: "lapack_ai", "svd: {}", decision.reason);
                    dispatch::record("svd", &decision);
                    let r = svd(a, ju, jvt, driver, check_finite)?;
                    Ok((r, Outcome { decision, run: None, warning: None }))
                }
            }
        }
        Err(fail) => {
            let (decision, warning) = super::device_failed("svd", index, decision, &fail);
            dispatch::record("svd", &decision);
            let r = svd(a, ju, jvt, driver, check_finite)?;
            Ok((r, Outcome { decision, run: None, warning }))
        }
    }
}

/// SVD of every matrix of `a`: A = U diag(s) Vt. `ju`/`jvt` choose U and Vt separately
/// (gesdd computes both or neither).
pub fn svd<T: Scalar>(a: ArrayViewD<T>, ju: Vectors, jvt: Vectors, driver: Driver,
                      check_finite: bool) -> Result<Svd<T>> {
    if driver == Driver::Gesdd && ju != jvt {
        return Err(CoreError::Shape("gesdd computes U and Vt with the same job".into()));
    }
    let a = Mats::new(a)?;
    let (m, n) = (a.rows, a.cols);
    // A C-ordered A is loaded as W = A^T (a memcpy): W = U' S V'^H gives U = conj(V') and
    // Vh = U'^T, which are the transposes of the Vh' and U' LAPACK wrote.
    let tr = a.c_ordered();
    let (wm, wn, wju, wjvt) = if tr { (n, m, jvt, ju) } else { (m, n, ju, jvt) };
    let k = m.min(n);
    let dims = |j: Vectors, rows: usize, cols: usize, full: usize| match j {
        Vectors::None => (0, 0),
        Vectors::Reduced => (rows, cols),
        Vectors::Full => (full, full),
    };
    let (ur, uc) = dims(wju, wm, k, wm);
    let (vr, vc) = dims(wjvt, k, wn, wn);
    let width = batch_width(a.count, m.max(n));
    let (lw, lrw) = match driver {
        Driver::Gesdd => gesdd_min::<T>(wju.job(), wm, wn),
        Driver::Gesvd => gesvd_min::<T>(wm, wn),
    };
    let per_thread = Need::new().array::<T>(&[wm, wn]).add_bytes(work_bytes::<T>((lw, lrw, Some(8 * k as u64))));
    Need::new().array::<T::Real>(&[a.count, k]).array::<T>(&[a.count, ur, uc]).array::<T>(&[a.count, vr, vc])
        .add_times(per_thread, width).check("svd")?;
    let mut s = VecStack::<T::Real>::new("svd", &a.batch, k)?;
    let mut u = Stack::<T>::new("svd", &a.batch, ur, uc)?;
    let mut vt = Stack::<T>::new("svd", &a.batch, vr, vc)?;
    if k == 0 {
        // NumPy's convention for empty input: full U and Vt are identities.
        fill_identity(&mut u);
        fill_identity(&mut vt);
    } else {
        run(a.count, m.max(n), (s.items(), u.items(), vt.items()), Scratch::<T>::new, |i, j, sc, (s, u, vt)| {
            let src = if tr { a.get(i).reversed_axes() } else { a.get(i) };
            let mut w = FMat::new(grown(&mut sc.a, wm * wn, "svd")?, wm, wn);
            load_checked(src, &mut w, check_finite, "a")?;
            refuse_inf(w.data, "a")?;
            let mut um = FMat::new(u.item(j), ur, uc);
            let mut vm = FMat::new(vt.item(j), vr, vc);
            let uo = (wju != Vectors::None).then_some(&mut um);
            let vo = (wjvt != Vectors::None).then_some(&mut vm);
            match driver {
                Driver::Gesdd => gesdd(wju.job(), &mut w, s.item(j), uo, vo, &mut sc.work),
                Driver::Gesvd => gesvd(wju.job(), wjvt.job(), &mut w, s.item(j), uo, vo, &mut sc.work),
            }
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
