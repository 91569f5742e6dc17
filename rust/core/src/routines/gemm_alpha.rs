//! gemm_alpha: C = alpha op(A) op(B) + beta C with gemm's semantics, by one level of a fast
//! 4x4 scheme (`crate::alpha`) where it was asked for or measured faster, else the standard
//! product. The backend is dispatch's choice for the same gemm; the scheme is
//! `dispatch::choose_scheme`'s. Each block product runs on that backend's own GEMM (OpenBLAS,
//! or the OpenCL kernel via `opencl::alpha`).

use ndarray::{ArrayView2, ArrayViewD, ArrayViewMut2, ArrayViewMutD, Axis};

use crate::alpha::{one_level, peeled, short_name, Scheme, SchemeRequest, Workspace};
use crate::dispatch::{self, Backend, Problem, Request};
use crate::error::{CoreError, Result};
use crate::layout::Mats;
use crate::opencl::{self, gemm::{KernelChoice, Run}};
use crate::routines::gemm::{dims, gemm1, gemm_dispatched, merged_mut, Outcome};
use crate::scalar::Scalar;

/// What one gemm_alpha call ran: gemm's outcome and the scheme (None: standard product).
#[derive(Debug, Clone)]
pub struct AlphaOutcome {
    pub outcome: Outcome,
    pub scheme: Option<&'static str>,
}

/// gemm_alpha through the dispatcher. A device failure falls back to the CPU's standard
/// product with a warning, as gemm does; C is written only by a run that completed.
#[allow(clippy::too_many_arguments)]
pub fn gemm_alpha_dispatched<T: Scalar>(a: ArrayViewD<T>, b: ArrayViewD<T>, mut c: ArrayViewMutD<T>, alpha: T, beta: T,
                                        trans_a: bool, trans_b: bool, scheme: &SchemeRequest,
                                        request: Option<&Request>) -> Result<AlphaOutcome> {
    let (count, m, n, k) = dims(a.shape(), b.shape(), c.shape(), trans_a, trans_b)?;
    let problem = Problem { op: "gemm_alpha", count, m, n, k: if alpha == T::zero() { 0 } else { k }, dtype: T::DTYPE };
    let (decision, chosen) = dispatch::decide_gemm_alpha(&problem, request, scheme).map_err(CoreError::Device)?;
    let Some(s) = chosen else {
        let mut out = gemm_dispatched(a, b, c, alpha, beta, trans_a, trans_b, request, KernelChoice::Auto)?;
        if out.decision.strategy != "cpu-fallback" {
            out.decision = decision;
        }
        dispatch::record_run("gemm_alpha", &out.decision, dispatch::last().and_then(|l| l.transfer));
        return Ok(AlphaOutcome { outcome: out, scheme: None });
    };
    if let Backend::OpenCl(index) = decision.backend {
        // The CPU fallback reads C when beta != 0, so C must still be the caller's when a device
        // run fails part way (a later matrix of a stack, or a host remainder after the device
        // wrote its block): with beta != 0 the result is computed aside and written back once
        // all of it ran. With beta = 0 the fallback overwrites C without reading it.
        let mut aside = match beta != T::zero() {
            true => Some(ndarray::ArrayD::from_shape_vec(c.shape(), crate::alloc::vec("gemm_alpha", c.len(), T::zero())?)
                .expect("sized")),
            false => None,
        };
        if let Some(x) = aside.as_mut() {
            x.assign(&c);
        }
        let tried = opencl::gpu(index).and_then(|g| {
            let target = match aside.as_mut() {
                Some(x) => x.view_mut(),
                None => c.view_mut(),
            };
            each(a.view(), b.view(), target, trans_a, trans_b, |a2, b2, c2| opencl::alpha::gemm_alpha(&g, s, a2, b2, c2, alpha, beta))
        });
        if let (Ok(_), Some(x)) = (&tried, &aside) {
            c.assign(x);
        }
        match tried {
            Ok(run) => {
                let transfer = dispatch::Transfer { kernel: run.kernel.clone(), bytes_to_device: run.bytes_to_device,
                                                    bytes_from_device: run.bytes_from_device, kernel_ns: run.kernel_ns };
                dispatch::record_run("gemm_alpha", &decision, Some(transfer));
                return Ok(AlphaOutcome { outcome: Outcome { decision, run: Some(run), warning: None }, scheme: Some(short_name(s)) });
            }
            Err(fail) => {
                // the CPU runs the standard product: a scheme is worth its error only where it is faster
                let (d, warning) = super::device_failed("gemm_alpha", index, decision, &fail);
                crate::routines::gemm::gemm(a, b, c, alpha, beta, trans_a, trans_b)?;
                dispatch::record("gemm_alpha", &d);
                return Ok(AlphaOutcome { outcome: Outcome { decision: d, run: None, warning }, scheme: None });
            }
        }
    }
    let mut ws = Workspace::new(s, (m & !3, n & !3, k & !3))?; // before any matrix of C is written
    each::<T, CoreError>(a, b, c, trans_a, trans_b, |a2, b2, c2| cpu(s, &mut ws, a2, b2, c2, alpha, beta).map(|_| Run::default()))?;
    dispatch::record("gemm_alpha", &decision);
    Ok(AlphaOutcome { outcome: Outcome { decision, run: None, warning: None }, scheme: Some(short_name(s)) })
}

/// One product on the CPU: one level of `s` over OpenBLAS in `ws` (made for the product's
/// leading multiples of 4), remainders peeled.
pub fn cpu<T: Scalar>(s: &Scheme, ws: &mut Workspace<T>, a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>,
                      alpha: T, beta: T) -> Result<()> {
    peeled::<T, CoreError>(a, b, c, alpha, beta, |a, b, c, al, be| one_level(s, ws, a, b, c, al, be), gemm1)
}

/// `f(op(A_i), op(B_i), C_i)` for every matrix of the stack, device runs summed. A C whose
/// batch axes do not merge (an odd view) is computed in a contiguous copy and written back.
fn each<T: Scalar, E: From<CoreError>>(a: ArrayViewD<T>, b: ArrayViewD<T>, mut c: ArrayViewMutD<T>, trans_a: bool, trans_b: bool,
                   mut f: impl FnMut(ArrayView2<T>, ArrayView2<T>, ArrayViewMut2<T>) -> std::result::Result<Run, E>)
                   -> std::result::Result<Run, E> {
    let (am, bm) = (Mats::new(a)?, Mats::new(b)?);
    let mut total = Run::default();
    let mut go = |mut c3: ndarray::ArrayViewMut3<T>| -> std::result::Result<(), E> {
        for (i, ci) in c3.axis_iter_mut(Axis(0)).enumerate() {
            let ai = if trans_a { am.get(i).reversed_axes() } else { am.get(i) };
            let bi = if trans_b { bm.get(i).reversed_axes() } else { bm.get(i) };
            let r = f(ai, bi, ci)?;
            total.kernel = r.kernel;
            total.kernel_ns += r.kernel_ns;
            total.total_ns += r.total_ns;
            total.bytes_to_device += r.bytes_to_device;
            total.bytes_from_device += r.bytes_from_device;
        }
        Ok(())
    };
    if let Some(c3) = merged_mut(c.view_mut()) {
        go(c3)?;
    } else if !c.is_empty() {
        let mut tmp = ndarray::Array3::from_shape_vec((am.count, c.shape()[c.ndim() - 2], c.shape()[c.ndim() - 1]),
                                                      crate::alloc::vec("gemm_alpha", c.len(), T::zero())?).expect("sized");
        tmp.iter_mut().zip(c.iter()).for_each(|(t, &v)| *t = v); // logical order
        go(tmp.view_mut())?;
        c.iter_mut().zip(tmp.iter()).for_each(|(v, &t)| *v = t);
    }
    Ok(total)
}
