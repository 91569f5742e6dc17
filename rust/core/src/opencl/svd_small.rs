//! Stacks of small SVDs (max(m, n) up to `MAX_DIM`) on an OpenCL device: kernels/svd_small.cl,
//! one-sided Jacobi with M, N and the jobs compiled in. LAPACK's bidiagonal SVDs are sequential
//! per matrix; Jacobi's rotations within a round are independent, so a work-group takes a few
//! matrices in local memory and rotates the pairs of a round side by side.
//!
//! The input is staged as for GEMM (`gemm::stage`: uploaded as it lies when each matrix is C-
//! or F-contiguous and the stack dense or one matrix broadcast, else copied); a wide matrix
//! (m < n) is decomposed as A^T, whose U and V swap roles. The kernel writes the caller's U,
//! S and V^T C-ordered, read straight into the arrays returned, `full_matrices=True` included:
//! U (or V^T) is completed to a square orthogonal matrix on the device. NaN and Inf in the
//! input and a matrix that did not converge are reported per matrix (`info`), and become the
//! error the CPU routine gives for the first such matrix.

use std::time::Instant;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE, CL_MEM_WRITE_ONLY};
use opencl3::types::{cl_int, cl_long, CL_BLOCKING};

use super::fail::{check, classify, ClFail};
use super::staging;
use super::gemm::{alloc, host_vec, stage, Finish, Run};
use super::gemm_small::{device_ns, random_fill};
use super::runtime::{DeviceInfo, Gpu};
use crate::error::CoreError;
use crate::layout::Mats;
use crate::routines::svd::{Svd, Vectors};
use crate::Scalar;

/// Stacks of matrices with max(m, n) up to this run the small-SVD kernel (where one fits the
/// device: `svd_fits`).
pub const MAX_DIM: usize = 64;

/// V stays in local memory up to this many columns (and where it fits beside W); past them the
/// kernel accumulates V in global memory (`V_GLOBAL`): a 64x64 float64 W and its V would take
/// 66 KiB, over NVIDIA's 48.
pub const LOCAL_V_DIM: usize = 32;

/// Stacks of symmetric matrices up to this run the kernel's eigh mode, which keeps no V: a
/// 64x64 float64 matrix takes 33 KiB of local memory (36 with its scratch). Where one does not fit a device
/// (complex128 past 53 rows on NVIDIA's 48 KiB; float64 past 62 and complex128 past 43 on
/// 32 KiB, OpenCL's least), `eigh_fits` says so and the dispatcher keeps the stack on the CPU.
pub const EIGH_MAX_DIM: usize = 64;

/// Sweeps before a matrix counts as not converged (xGESVJ's NSWEEP). Jacobi converges
/// quadratically: 5-9 sweeps at these sizes, plus the one that finds nothing to rotate.
pub const SWEEPS: usize = 30;

/// Work-items per group aimed at (several matrices per group when their pairs are few).
const WG_TARGET: usize = 128;
/// Local memory per group aimed at: a 32x32 float64 matrix and its V take 17 KiB, so two fit
/// (a full warp of pairs on NVIDIA, whose OpenCL allows 48 KiB per group).
const LOCAL_BUDGET: usize = 40 << 10;

/// Tuning and test knobs (unset: `plan` decides).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Knobs {
    /// LAPACK_AI_SVD_SMALL_MPG: matrices per work-group.
    pub mpg: Option<usize>,
    /// LAPACK_AI_SVD_SMALL_SWEEPS: the sweep cap (tests use 1 to see non-convergence reported).
    pub sweeps: Option<usize>,
    /// LAPACK_AI_SVD_SMALL_TPP: work-items per pair of columns (1 to 8).
    pub tpp: Option<usize>,
    /// LAPACK_AI_SVD_SMALL_V_GLOBAL=1: V in global memory whatever its size (tests).
    pub v_global: bool,
}

impl Knobs {
    pub fn from_env() -> Self {
        let get = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|&x| x > 0);
        Knobs { mpg: get("LAPACK_AI_SVD_SMALL_MPG"), sweeps: get("LAPACK_AI_SVD_SMALL_SWEEPS"),
                tpp: get("LAPACK_AI_SVD_SMALL_TPP").filter(|&x| x <= 8), v_global: get("LAPACK_AI_SVD_SMALL_V_GLOBAL") == Some(1) }
    }
}

/// How one stack is launched: the kernel's compile-time shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    /// The kernel's problem, M >= N (the caller's matrix or its transpose).
    pub m: usize,
    pub n: usize,
    /// Columns of U produced: 0, N (thin) or M (full).
    pub ku: usize,
    pub want_v: bool,
    /// V accumulated in global memory (the output's buffer) instead of local memory.
    pub v_global: bool,
    /// Matrices per work-group, work-items per pair of columns, work-items per group.
    pub mpg: usize,
    pub tpp: usize,
    pub wg: usize,
    pub sweeps: usize,
    /// Local memory the kernel declares, bytes.
    pub local_bytes: usize,
}

fn odd(x: usize) -> usize {
    if x % 2 == 1 { x } else { x + 1 }
}

/// Local memory of one matrix and of the group's own flags (mirrors the kernel's declarations);
/// `v_local`: V in local memory.
fn local_bytes(elem: usize, (m, n): (usize, usize), ku: usize, v_local: bool, mpg: usize, tpp: usize) -> usize {
    let pairs = n.div_ceil(2);
    let uc = ku.max(n);
    // + n + 1: sigma per column, and eigh's shift (counted for the SVD too: 8 bytes)
    let reals = uc * odd(m) + if v_local { n * odd(n) } else { 0 } + n + 1;
    let ints = uc + pairs + 3;
    // the lanes' shares of each pair's sums: 4 reals per work-item, at most 4 elements
    let shares = if tpp > 1 { pairs * tpp * 4 * elem } else { 0 };
    // each work-item's share of the scans (a real, at most an element, and an int)
    let scans = pairs * tpp * (elem + 4);
    mpg * (reals * elem + ints * 4 + shares + scans) + 4
}

/// Work-items per pair when no knob says, up to 32 rows: two for complex128 (16-byte elements)
/// past 16 rows on a GPU, else one. Swept on an H100 (`svd_gpu.py lanes`, docs/benchmarks.md): a 32x32
/// complex128 matrix and its V fill one group's local memory, and one work-item per pair
/// keeps 32 rows of two columns in registers it does not have; two halve both, and took the
/// 10000 x 32x32 stacks from 27.5 to 13.4 ms (SVD) and 33.2 to 17.3 ms (eigh). eigh without V
/// still gains from two (7.9 against 6.1 ms after the kernel's later changes). Every other
/// case ran fastest with one: a lane's share of the dot products goes through local memory
/// and a second barrier per round (up to 2.7x slower at four lanes). On a CPU driver the
/// work-items of a group run in turn: lanes only add barriers.
///
/// In general: as many as keep a work-item's rows of its two columns within 512 bytes (32 rows
/// of float64, where one work-item per pair is fastest), which gives exactly the above up to
/// 32 rows, and past them (up to 64): float64 and complex64 two, complex128 four (fewer
/// where local memory cannot hold their shares: `plan`).
fn default_tpp(info: &DeviceInfo, elem: usize, m: usize) -> usize {
    if info.kind == "gpu" { (2 * m * elem).div_ceil(512).next_power_of_two() } else { 1 }
}

/// Whether one n x n matrix of `elem`-byte elements fits the eigh kernel on `info` (the
/// dispatcher asks before sending a stack there; 0 x 0 needs no kernel).
pub fn eigh_fits(info: &DeviceInfo, elem: usize, n: usize) -> bool {
    n == 0 || (n <= EIGH_MAX_DIM && plan(info, elem, (n, n), n, false, &Knobs::from_env()).is_some())
}

/// Whether one m x n matrix fits the SVD kernel on `info` with thin (`full` false) or square
/// U and V^T (the most local memory either job takes; an empty matrix needs no kernel).
pub fn svd_fits(info: &DeviceInfo, elem: usize, m: usize, n: usize, full: bool) -> bool {
    let (km, kn) = (m.max(n), m.min(n));
    kn == 0 || (km <= MAX_DIM && plan(info, elem, (km, kn), if full { km } else { kn }, true, &Knobs::from_env()).is_some())
}

/// The launch of an M x N stack (M >= N) on `info` (pure: a function of the device's facts,
/// the shape, the jobs and the knobs). None when not even one matrix fits the device's local
/// memory.
pub fn plan(info: &DeviceInfo, elem: usize, (m, n): (usize, usize), ku: usize, want_v: bool, knobs: &Knobs) -> Option<Launch> {
    let pairs = n.div_ceil(2);
    if pairs == 0 {
        return None;
    }
    let device_local = (info.local_mem as usize).max(1);
    let max_wg = info.max_work_group.max(1);
    // V in local memory up to LOCAL_V_DIM columns where one matrix and its V fit, else global.
    let v_global = want_v && (knobs.v_global || n > LOCAL_V_DIM || local_bytes(elem, (m, n), ku, true, 1, 1) > device_local);
    let v_local = want_v && !v_global;
    // The most lanes that fit with one matrix per group, up to the knob's or the default.
    let fits_one = |tpp: usize| local_bytes(elem, (m, n), ku, v_local, 1, tpp) <= device_local && pairs * tpp <= max_wg;
    let tpp = (1..=knobs.tpp.unwrap_or_else(|| default_tpp(info, elem, m))).rev().find(|&t| fits_one(t))?;
    let bytes = |mpg: usize| local_bytes(elem, (m, n), ku, v_local, mpg, tpp);
    let fit = |mpg: usize| bytes(mpg) <= device_local && mpg * pairs * tpp <= max_wg;
    // (a knob past what a group can hold starts at the most that could)
    let mut mpg = knobs.mpg.map(|k| k.min(max_wg / (pairs * tpp)).max(1)).unwrap_or_else(|| {
        let by_items = (WG_TARGET / (pairs * tpp)).max(1);
        let by_local = (1..=by_items).rev().find(|&k| bytes(k) <= LOCAL_BUDGET).unwrap_or(1);
        by_items.min(by_local)
    });
    while mpg > 1 && !fit(mpg) {
        mpg -= 1;
    }
    let sweeps = knobs.sweeps.unwrap_or(SWEEPS);
    Some(Launch { m, n, ku, want_v, v_global, mpg, tpp, wg: mpg * pairs * tpp, sweeps, local_bytes: bytes(mpg) })
}

/// The kernel's symmetric-eigenproblem mode (`EIG`): the triangle read, and whether NaN and Inf
/// are looked for in the whole input (check_finite) or in that triangle only.
#[derive(Debug, Clone, Copy)]
struct Eig {
    lower: bool,
    full_check: bool,
}

impl Launch {
    /// The flags of V's output buffer: the kernel reads it back where it accumulates V there.
    fn v_flags(&self) -> u64 {
        if self.v_global { CL_MEM_READ_WRITE } else { CL_MEM_WRITE_ONLY }
    }

    /// Build options for element type `T` (its precision, and whether it is complex).
    fn options<T: Scalar>(&self, w_colmajor: bool, trans: bool, eig: Option<Eig>) -> String {
        let double = std::mem::size_of::<T::Real>() == 8;
        let mut o = format!("-DREAL_DOUBLE={} -DCOMPLEX={} -DM={} -DN={} -DKU={} -DWANT_V={} -DW_COLMAJOR={} -DTRANS={} -DMPG={} \
                             -DSWEEPS={} -DTPP={} -DV_GLOBAL={}", double as u8, T::COMPLEX as u8, self.m, self.n, self.ku, self.want_v as u8, w_colmajor as u8, trans as u8,
                            self.mpg, self.sweeps, self.tpp, self.v_global as u8);
        if let Some(e) = eig {
            o += &format!(" -DEIG=1 -DLOWER={} -DFULL_CHECK={}", e.lower as u8, e.full_check as u8);
        }
        o
    }
}

/// The kernel's name in runs, metrics and benchmarks, with the caller's m x n.
fn name(m: usize, n: usize) -> String {
    format!("svd-jacobi-{m}x{n}")
}

/// The error the CPU routine gives for matrix `batch`, from the kernel's `info` code.
fn info_error(code: i32, batch: usize, check_finite: bool, routine: String, sweeps: usize) -> CoreError {
    match code {
        1 => CoreError::NonFinite { arg: "a", batch, always: false },
        // The CPU refuses Inf even with check_finite=False (refuse_inf).
        2 => CoreError::NonFinite { arg: "a", batch, always: !check_finite },
        _ => CoreError::Lapack { routine, info: sweeps as i64, batch },
    }
}

/// The routine named in a non-convergence error: x + "gesvj_batched".
pub fn routine<T: Scalar>() -> String {
    format!("{}gesvj_batched", T::PREFIX)
}

/// The routine named in eigh's non-convergence error: x + "syevj_batched" (real) or
/// "heevj_batched" (complex), after cuSOLVER's names.
pub fn eigh_routine<T: Scalar>() -> String {
    format!("{}{}evj_batched", T::PREFIX, if T::COMPLEX { "he" } else { "sy" })
}

/// The eigenvalues (ascending) and, with `vectors`, eigenvectors of every symmetric (Hermitian)
/// matrix of `a` (any of the four dtypes, n <= `EIGH_MAX_DIM`, at least one matrix: the caller routes everything
/// else to the CPU), reading the triangle `lower` names, by the kernel's EIG mode (one-sided
/// Jacobi on A + c I, see kernels/svd_small.cl). Errors as `svd`'s.
#[allow(clippy::type_complexity)]
pub fn eigh<T: Scalar>(gpu: &Gpu, a: ArrayViewD<T>, lower: bool, vectors: bool, check_finite: bool, knobs: &Knobs,
                       start: Instant) -> Result<(crate::error::Result<(ArrayD<T::Real>, Option<ArrayD<T>>)>, Run), ClFail> {
    let mats = Mats::new(a.clone()).map_err(|e| classify(0, e.to_string()))?;
    let (count, n) = (mats.count, mats.rows);
    if count == 0 || n == 0 || n != mats.cols || n > EIGH_MAX_DIM {
        return Err(classify(0, format!("eigh_small: {count} x {n}x{} {} is not for the small-eigh kernel", mats.cols, T::DTYPE)));
    }
    let staged = stage(a)?;
    let elem = std::mem::size_of::<T>();
    // Eigenvectors are the kernel's U (KU = N): see EIG in kernels/svd_small.cl.
    let l = plan(&gpu.info, elem, (n, n), if vectors { n } else { 0 }, false, knobs)
        .ok_or_else(|| classify(-5, format!("one {n}x{n} matrix does not fit the device's local memory")))?;
    let eig = Eig { lower, full_check: check_finite };
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), "svd_small.cl",
                                   &l.options::<T>(staged.col_major, false, Some(eig)))?;
    let (lw, lv) = (count * n, if vectors { count * n * n } else { 0 });
    let bytes = (staged.data.len() + lw + lv) as u64 * elem as u64 + count as u64 * 4;
    if gpu.info.global_mem > 0 && bytes > gpu.info.global_mem {
        return Err(classify(-4, format!("{} MiB of input and results do not fit the device's {} MiB", bytes >> 20,
                                        gpu.info.global_mem >> 20)));
    }
    let mut run = Run { kernel: format!("eigh-jacobi-{n}x{n}"), ..Run::default() };
    let mut da = alloc::<T>(gpu, staged.data.len(), CL_MEM_READ_ONLY)?;
    let dw = alloc::<T::Real>(gpu, lw, CL_MEM_WRITE_ONLY)?;
    let du = alloc::<T>(gpu, 0, CL_MEM_WRITE_ONLY)?;
    let dv = alloc::<T>(gpu, lv, CL_MEM_WRITE_ONLY)?;
    let dinfo = alloc::<cl_int>(gpu, count, CL_MEM_WRITE_ONLY)?;
    let (mut hw, mut hv) = (host_vec::<T::Real>(lw)?, host_vec::<T>(lv)?);
    let mut hinfo = crate::alloc::vec("eigh", count, 0 as cl_int).map_err(|e| classify(-6, format!("staging on the host: {e}")))?;
    let _finish = Finish(&gpu.queue);
    staging::upload(gpu, &mut da, 0, &staged.data, "copying a to the device")?;
    run.bytes_to_device = (staged.data.len() * elem) as u64;
    super::fail::launch_fault("eigh_small kernel")?;
    let stride = if staged.stride == 0 { 0 } else { n * n };
    run.kernel_ns = enqueue(gpu, &program.0, &l, count, stride, &da, (&dw, &du, &dv, &dinfo))?;
    staging::download(gpu, &dinfo, 0, &mut hinfo, "copying info from the device")?;
    staging::download(gpu, &dw, 0, &mut hw, "copying w from the device")?;
    if lv > 0 {
        staging::download(gpu, &dv, 0, &mut hv, "copying v from the device")?;
    }
    run.bytes_from_device = (lv * elem + lw * std::mem::size_of::<T::Real>() + count * 4) as u64;
    run.total_ns = start.elapsed().as_nanos() as u64;
    if let Some((batch, &code)) = hinfo.iter().enumerate().find(|(_, &c)| c != 0) {
        return Ok((Err(info_error(code, batch, check_finite, eigh_routine::<T>(), l.sweeps)), run));
    }
    let mut shape = mats.batch.clone();
    shape.push(n);
    let w = ArrayD::from_shape_vec(IxDyn(&shape), hw).expect("sized above");
    shape.push(n);
    let v = vectors.then(|| ArrayD::from_shape_vec(IxDyn(&shape), hv).expect("sized above"));
    Ok((Ok((w, v)), run))
}

/// SVD of every matrix of `a` (any of the four dtypes, max(m, n) <= `MAX_DIM`, at least one
/// matrix, m, n > 0: the caller routes everything else to the CPU) on `gpu`, launched as
/// `plan` decides with `knobs` (`Knobs::from_env()` in calls). Err: the device
/// failed (the caller falls back to the CPU). Ok((Err, run)): the device ran and found NaN,
/// Inf or a matrix that did not converge, the first of them reported as the CPU would.
#[allow(clippy::type_complexity)]
pub fn svd<T: Scalar>(gpu: &Gpu, a: ArrayViewD<T>, ju: Vectors, jvt: Vectors, check_finite: bool, knobs: &Knobs,
                      start: Instant) -> Result<(crate::error::Result<Svd<T>>, Run), ClFail> {
    let mats = Mats::new(a.clone()).map_err(|e| classify(0, e.to_string()))?;
    let (count, m, n) = (mats.count, mats.rows, mats.cols);
    if count == 0 || m == 0 || n == 0 || m.max(n) > MAX_DIM {
        return Err(classify(0, format!("svd_small: {count} x {m}x{n} {} is not for the small-SVD kernel", T::DTYPE)));
    }
    let staged = stage(a)?;
    // A wide matrix is decomposed as its transpose: A^T = U' S V'^T gives U = V', V^T = U'^T.
    let trans = m < n;
    let (km, kn) = if trans { (n, m) } else { (m, n) };
    let w_colmajor = staged.col_major != trans;
    let (kju, kjv) = if trans { (jvt, ju) } else { (ju, jvt) };
    let ku = match kju {
        Vectors::None => 0,
        Vectors::Reduced => kn,
        Vectors::Full => km,
    };
    let want_v = kjv != Vectors::None;
    let elem = std::mem::size_of::<T>();
    let l = plan(&gpu.info, elem, (km, kn), ku, want_v, knobs)
        .ok_or_else(|| classify(-5, format!("one {km}x{kn} matrix does not fit the device's local memory")))?;
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), "svd_small.cl",
                                   &l.options::<T>(w_colmajor, trans, None))?;
    let (ls, lu, lv) = (count * kn, count * km * ku, if want_v { count * kn * kn } else { 0 });
    let size = elem as u64;
    let bytes = (staged.data.len() + ls + lu + lv) as u64 * size + count as u64 * 4; // (s is real: an overestimate)
    if gpu.info.global_mem > 0 && bytes > gpu.info.global_mem {
        return Err(classify(-4, format!("{} MiB of input and results do not fit the device's {} MiB", bytes >> 20,
                                        gpu.info.global_mem >> 20)));
    }
    let mut run = Run { kernel: name(m, n), ..Run::default() };
    let mut da = alloc::<T>(gpu, staged.data.len(), CL_MEM_READ_ONLY)?;
    let ds = alloc::<T::Real>(gpu, ls, CL_MEM_WRITE_ONLY)?;
    let du = alloc::<T>(gpu, lu, CL_MEM_WRITE_ONLY)?;
    let dv = alloc::<T>(gpu, lv, l.v_flags())?;
    let dinfo = alloc::<cl_int>(gpu, count, CL_MEM_WRITE_ONLY)?;
    let t_host = Instant::now();
    let (mut hs, mut hu, mut hv) = (host_vec::<T::Real>(ls)?, host_vec::<T>(lu)?, host_vec::<T>(lv)?);
    log::debug!(target: "lapack_ai", "svd_small: staging and results' allocation {:.2} ms after the call began, {:.2} ms",
                t_host.duration_since(start).as_secs_f64() * 1e3, t_host.elapsed().as_secs_f64() * 1e3);
    let mut hinfo = crate::alloc::vec("svd", count, 0 as cl_int).map_err(|e| classify(-6, format!("staging on the host: {e}")))?;
    let q = &gpu.queue;
    // From the first transfer on, every exit waits for the queue (see gemm.rs: `launch`).
    let _finish = Finish(q);
    staging::upload(gpu, &mut da, 0, &staged.data, "copying a to the device")?;
    run.bytes_to_device = staged.data.len() as u64 * size;
    super::fail::launch_fault("svd_small kernel")?;
    let stride = if staged.stride == 0 { 0 } else { km * kn };
    run.kernel_ns = enqueue(gpu, &program.0, &l, count, stride, &da, (&ds, &du, &dv, &dinfo))?;
    staging::download(gpu, &dinfo, 0, &mut hinfo, "copying info from the device")?;
    staging::download(gpu, &ds, 0, &mut hs, "copying s from the device")?;
    if lu > 0 {
        staging::download(gpu, &du, 0, &mut hu, "copying u from the device")?;
    }
    if lv > 0 {
        staging::download(gpu, &dv, 0, &mut hv, "copying v from the device")?;
    }
    let real = std::mem::size_of::<T::Real>() as u64;
    run.bytes_from_device = (lu + lv) as u64 * size + ls as u64 * real + count as u64 * 4;
    run.total_ns = start.elapsed().as_nanos() as u64;
    log::debug!(target: "lapack_ai", "svd_small: {:.2} ms from the call to the results on the host (kernel {:.2} ms)",
                run.total_ns as f64 / 1e6, run.kernel_ns as f64 / 1e6);
    if let Some((batch, &code)) = hinfo.iter().enumerate().find(|(_, &c)| c != 0) {
        return Ok((Err(info_error(code, batch, check_finite, routine::<T>(), l.sweeps)), run));
    }
    let shaped = |data: Vec<T>, r: usize, c: usize| {
        let mut shape = mats.batch.clone();
        shape.extend([r, c]);
        ArrayD::from_shape_vec(IxDyn(&shape), data).expect("sized above")
    };
    let k = kn;
    // The kernel's U is the caller's U, or (transposed problem) the caller's V^T; its V the other.
    let (u, vt) = if trans {
        ((ju != Vectors::None).then(|| shaped(hv, m, m)), (jvt != Vectors::None).then(|| shaped(hu, ku, n)))
    } else {
        ((ju != Vectors::None).then(|| shaped(hu, m, ku)), (jvt != Vectors::None).then(|| shaped(hv, n, n)))
    };
    let mut shape = mats.batch.clone();
    shape.push(k);
    let s = ArrayD::from_shape_vec(IxDyn(&shape), hs).expect("sized above");
    Ok((Ok(Svd { u, s, vt }), run))
}

/// One launch over `count` matrices; waits for it and returns its device time in ns.
#[allow(clippy::type_complexity)]
fn enqueue<T: Scalar>(gpu: &Gpu, program: &opencl3::program::Program, l: &Launch, count: usize, stride: usize, a: &Buffer<T>,
                      (s, u, v, info): (&Buffer<T::Real>, &Buffer<T>, &Buffer<T>, &Buffer<cl_int>)) -> Result<u64, ClFail> {
    let groups = count.div_ceil(l.mpg);
    if groups > i32::MAX as usize {
        return Err(classify(-63, format!("{count} matrices in groups of {} are too many for one launch", l.mpg)));
    }
    let kernel = check(Kernel::create(program, "svd_small"), "creating the svd_small kernel")?;
    // SAFETY: the types match the kernel's parameter list in order.
    let event = check(unsafe {
        ExecuteKernel::new(&kernel)
            .set_arg(&(count as cl_long)).set_arg(&(stride as cl_long)).set_arg(a).set_arg(s).set_arg(u).set_arg(v).set_arg(info)
            .set_global_work_sizes(&[groups * l.wg]).set_local_work_sizes(&[l.wg])
            .enqueue_nd_range(&gpu.queue)
    }, "launching the svd_small kernel")?;
    device_ns(&event, "svd_small")
}

/// Kernel-only timing for benchmarks: a dense row-major stack of `count` random m x n matrices
/// uploaded once, `reps` launches (thin U and V^T when `vectors`, else values only), each
/// launch's device time in ns, and the kernel's name. Every launch is checked: a matrix the
/// kernel reports (it should converge on random input) is an error, not a time.
pub fn bench_svd<T: Scalar>(gpu: &Gpu, count: usize, m: usize, n: usize, reps: usize, vectors: bool)
                            -> Result<(String, Vec<u64>), ClFail> {
    bench::<T>(gpu, count, m, n, reps, vectors, false)
}

/// As `bench_svd` for `eigh` (symmetric n x n matrices: the lower triangle of random ones).
pub fn bench_eigh<T: Scalar>(gpu: &Gpu, count: usize, n: usize, reps: usize, vectors: bool) -> Result<(String, Vec<u64>), ClFail> {
    bench::<T>(gpu, count, n, n, reps, vectors, true)
}

fn bench<T: Scalar>(gpu: &Gpu, count: usize, m: usize, n: usize, reps: usize, vectors: bool, eig: bool)
                    -> Result<(String, Vec<u64>), ClFail> {
    let most = if eig { EIGH_MAX_DIM } else { MAX_DIM };
    if count == 0 || m == 0 || n == 0 || m.max(n) > most || (eig && m != n) {
        return Err(classify(-30, format!("bench_svd: {count} x {m}x{n} {}: need a non-empty stack, dimensions up to {most}",
                                         T::DTYPE)));
    }
    let trans = m < n;
    let (km, kn) = if trans { (n, m) } else { (m, n) };
    let ku = if vectors { kn } else { 0 };
    let l = plan(&gpu.info, std::mem::size_of::<T>(), (km, kn), ku, vectors && !eig, &Knobs::from_env())
        .ok_or_else(|| classify(-5, format!("one {km}x{kn} matrix does not fit the device's local memory")))?;
    // Row-major input: W = A^T is column-major exactly when the problem is transposed.
    let eig = eig.then_some(Eig { lower: true, full_check: true });
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), "svd_small.cl",
                                   &l.options::<T>(trans, trans, eig))?;
    let ha = random_fill::<T>(count * m * n)?;
    let mut da = alloc::<T>(gpu, ha.len(), CL_MEM_READ_ONLY)?;
    let ds = alloc::<T::Real>(gpu, count * kn, CL_MEM_WRITE_ONLY)?;
    let du = alloc::<T>(gpu, if eig.is_some() { 0 } else { count * km * l.ku }, CL_MEM_WRITE_ONLY)?;  // eigh writes v
    let dv = alloc::<T>(gpu, if vectors { count * kn * kn } else { 0 }, l.v_flags())?;
    let dinfo = alloc::<cl_int>(gpu, count, CL_MEM_WRITE_ONLY)?;
    let q = &gpu.queue;
    let _finish = Finish(q);
    unsafe { check(q.enqueue_write_buffer(&mut da, CL_BLOCKING, 0, &ha, &[]), "upload")? };
    let mut times = Vec::with_capacity(reps);
    let mut hinfo = vec![0 as cl_int; count];
    for _ in 0..reps {
        times.push(enqueue(gpu, &program.0, &l, count, m * n, &da, (&ds, &du, &dv, &dinfo))?);
        staging::download(gpu, &dinfo, 0, &mut hinfo, "copying info from the device")?;
        if let Some(i) = hinfo.iter().position(|&c| c != 0) {
            return Err(classify(0, format!("bench_svd: matrix {i} reported info {}", hinfo[i])));
        }
    }
    Ok((if eig.is_some() { format!("eigh-jacobi-{n}x{n}") } else { name(m, n) }, times))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(max_work_group: usize, local_mem: u64) -> DeviceInfo {
        DeviceInfo::hopper(max_work_group, local_mem)
    }

    /// Every shape and job plans a group within the device's limits and the budget (or one
    /// matrix where a single one exceeds it), with whole matrices per group.
    #[test]
    fn every_shape_plans_within_the_device() {
        for info in [device(1024, 48 << 10), device(256, 32 << 10), device(4096, 4 << 20), device(64, 16 << 10)] {
            for elem in [4, 8, 16] {
                for m in 1..=MAX_DIM {
                    for n in 1..=m {
                        for (ku, want_v) in [(0, false), (n, true), (m, true), (n, false), (0, true)] {
                            let Some(l) = plan(&info, elem, (m, n), ku, want_v, &Knobs::default()) else {
                                // (V goes to global memory before a matrix is refused)
                                assert!(local_bytes(elem, (m, n), ku, false, 1, 1) > info.local_mem as usize, "{m}x{n}");
                                continue;
                            };
                            assert!(l.v_global <= want_v && (l.v_global || !want_v || n <= LOCAL_V_DIM), "{l:?}");
                            assert_eq!(l.wg, l.mpg * n.div_ceil(2) * l.tpp);
                            assert!((1..=default_tpp(&info, elem, m)).contains(&l.tpp), "{l:?}");
                            assert!(l.mpg >= 1 && l.wg <= info.max_work_group, "{l:?}");
                            assert!(l.local_bytes <= info.local_mem as usize, "{l:?}");
                            assert!(l.mpg == 1 || l.local_bytes <= LOCAL_BUDGET, "{l:?}");
                            assert_eq!(l.sweeps, SWEEPS);
                        }
                    }
                }
            }
        }
    }

    /// eigh's kernel (no V) takes matrices up to 64x64 where one fits: every real and complex64
    /// size on 48 KiB, complex128 up to 53 rows there and 43 on 32 KiB, float64 up to 62 on
    /// 32 KiB; past 32 rows float64 gets two work-items per pair on a GPU, complex128 four.
    #[test]
    fn eigh_fits_up_to_64() {
        let most = |info: &DeviceInfo, elem| (1..=EIGH_MAX_DIM + 1).filter(|&n| eigh_fits(info, elem, n)).max();
        let (h, small) = (device(1024, 48 << 10), device(1024, 32 << 10));
        assert_eq!([most(&h, 4), most(&h, 8), most(&h, 16)], [Some(64), Some(64), Some(53)]);
        assert_eq!([most(&small, 8), most(&small, 16)], [Some(62), Some(43)]);
        assert_eq!(plan(&h, 8, (64, 64), 64, false, &Knobs::default()).unwrap().tpp, 2);
        assert_eq!(plan(&h, 16, (48, 48), 48, false, &Knobs::default()).unwrap().tpp, 4);
        assert_eq!(plan(&h, 4, (64, 64), 64, false, &Knobs::default()).unwrap().tpp, 1);
    }

    /// Past 32 columns V lives in global memory: SVDs up to 64x64 in every dtype but complex128
    /// (53 on NVIDIA's 48 KiB, thin; square U takes M columns of local memory).
    #[test]
    fn svd_fits_up_to_64() {
        let h = device(1024, 48 << 10);
        let most = |elem, full| (1..=MAX_DIM + 1).filter(|&n| svd_fits(&h, elem, n, n, full)).max();
        assert_eq!([most(4, false), most(8, false), most(16, false), most(16, true)], [Some(64), Some(64), Some(53), Some(53)]);
        assert!(svd_fits(&h, 16, 64, 20, false) && !svd_fits(&h, 16, 64, 20, true) && !svd_fits(&h, 8, 65, 2, false));
        let l = plan(&h, 8, (64, 64), 64, true, &Knobs::default()).unwrap();
        assert_eq!((l.v_global, l.mpg, l.tpp), (true, 1, 2));
        assert!(!plan(&h, 8, (64, 32), 32, true, &Knobs::default()).unwrap().v_global);
        assert!(!plan(&h, 8, (64, 40), 0, false, &Knobs::default()).unwrap().v_global);
    }

    /// The flagship shapes on a Hopper-like device: 4x4 packs 64 matrices (128 pairs) per
    /// group; 32x32 float64 with U and V two matrices (a warp of pairs), float32 four;
    /// complex128 one, with two work-items per pair (its matrix and V take 34 KiB).
    #[test]
    fn launches_of_the_flagship_shapes() {
        let h = device(1024, 48 << 10);
        let l = plan(&h, 8, (4, 4), 4, true, &Knobs::default()).unwrap();
        assert_eq!((l.mpg, l.wg), (64, 128));
        assert_eq!(l.tpp, 1);
        let l = plan(&h, 8, (32, 32), 32, true, &Knobs::default()).unwrap();
        assert_eq!((l.mpg, l.tpp, l.wg), (2, 1, 32));
        let l = plan(&h, 4, (32, 32), 32, true, &Knobs::default()).unwrap();
        assert_eq!((l.mpg, l.tpp, l.wg), (4, 1, 64));
        let l = plan(&h, 16, (32, 32), 32, true, &Knobs::default()).unwrap();
        assert_eq!((l.mpg, l.tpp, l.wg), (1, 2, 32));
        assert_eq!(plan(&h, 16, (16, 16), 16, true, &Knobs::default()).unwrap().tpp, 1);
        let k = Knobs { mpg: Some(3), sweeps: Some(1), tpp: None, v_global: false };
        let l = plan(&h, 8, (5, 3), 3, true, &k).unwrap();
        assert_eq!((l.mpg, l.wg, l.sweeps), (3, 6, 1));
        // The knob sets the lanes; one pair's worth of them per matrix still fits.
        let k = Knobs { tpp: Some(4), ..Knobs::default() };
        assert_eq!(plan(&h, 8, (32, 32), 32, true, &k).unwrap().wg, 128);
        let k = Knobs { tpp: Some(8), ..Knobs::default() };
        let l = plan(&h, 16, (32, 32), 32, true, &k).unwrap();
        assert_eq!((l.mpg, l.tpp, l.wg), (1, 8, 128));
        // A matrix that does not fit the device's local memory has no launch.
        assert!(plan(&device(256, 4 << 10), 8, (32, 32), 32, true, &Knobs::default()).is_none());
    }
}
