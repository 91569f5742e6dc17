//! gemm_alpha on an OpenCL device: one level of a 4x4 scheme (`crate::alpha`) with every
//! block product in one stacked launch of our own GEMM kernel.
//!
//! Per group of products (all `rank` of them when device memory allows): one kernel forms
//! every left factor S_r = sum U_r[p] A_p from a single read of A's 16 blocks, another every
//! right factor T_r from B, the stacked GEMM computes M_r = S_r T_r, and a last kernel adds
//! each C block's terms sum W_r[o] M_r in one pass. Reading each input block once, instead of
//! once per product, is what keeps the additions cheap next to the saved products. The three
//! kernels are generated from the scheme's coefficients as straight-line OpenCL C.

use std::fmt::Write as _;
use std::time::Instant;

use ndarray::{Array2, ArrayView2, ArrayViewMut2};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::types::{cl_int, cl_long};

use super::fail::{check, classify, ClFail};
use super::staging;
use super::gemm::{alloc, host_vec, stacked_on_device, Finish, Run};
use super::runtime::Gpu;
use crate::alpha::{peeled, short_name, Scheme};
use crate::Scalar;

/// Work-group shape of the generated kernels: 64 consecutive columns by 4 rows, fewer rows on
/// a device whose work-groups are smaller.
fn local(gpu: &Gpu) -> [usize; 2] {
    let most = gpu.info.max_work_group.max(1);
    if most >= 256 { [64, 4] } else if most >= 64 { [64, most / 64] } else { [most, 1] }
}

/// C = alpha A B + beta C on `gpu` by one level of `s`; rows, columns and inner terms past the
/// last multiple of 4 are added on the host (at most 3 of each: thin products). C is written
/// only after the device finished.
pub fn gemm_alpha<T: Scalar>(gpu: &Gpu, s: &Scheme, a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>,
                             alpha: T, beta: T) -> Result<Run, ClFail> {
    gemm_alpha_grouped(gpu, s, a, b, c, alpha, beta, crate::alpha::group_limit())
}

/// `gemm_alpha` with at most `most` products per group (None: as memory allows).
#[allow(clippy::too_many_arguments)]
pub fn gemm_alpha_grouped<T: Scalar>(gpu: &Gpu, s: &Scheme, a: ArrayView2<T>, b: ArrayView2<T>, c: ArrayViewMut2<T>,
                                     alpha: T, beta: T, most: Option<usize>) -> Result<Run, ClFail> {
    let start = Instant::now();
    let mut run = Run::default();
    peeled(a, b, c, alpha, beta, |a, b, c, al, be| {
        run = on_device(gpu, s, a, b, c, al, be, most)?;
        Ok::<(), ClFail>(())
    }, crate::routines::gemm::gemm1)?;
    run.total_ns = start.elapsed().as_nanos() as u64;
    Ok(run)
}

/// A row-major copy of `x` for upload, or `x`'s own memory when it is already C-contiguous.
fn rows<'a, T: Scalar>(x: ArrayView2<'a, T>) -> Result<std::borrow::Cow<'a, [T]>, ClFail> {
    if let Some(s) = x.to_slice() {
        return Ok(s.into());
    }
    let mut v = host_vec::<T>(x.len())?;
    v.iter_mut().zip(x.iter()).for_each(|(o, &e)| *o = e); // logical (row-major) order
    Ok(v.into())
}

/// How many products run per group: all of them when their factors and products fit beside
/// A, B and C in the device's memory (and each buffer under its largest allocation), or at
/// most `most`.
fn group_size(gpu: &Gpu, rank: usize, (m, n, k): (usize, usize, usize), elem: usize, most: Option<usize>) -> Result<usize, ClFail> {
    let (bm, bn, bk) = (m / 4, n / 4, k / 4);
    let fixed = (m * k + k * n + m * n) * elem;
    let per = (bm * bk + bk * bn + bm * bn) * elem;
    let free = super::free_memory(&gpu.info).unwrap_or(gpu.info.global_mem);
    // the share of free memory one call may use (LAPACK_GPU_MEMORY_LIMIT), workspace included
    let pct = crate::dispatch::settings().map_or(90.0, |s| s.memory_limit_pct);
    let cap = (free as f64 * pct / 100.0) as usize;
    let largest = (bm * bk).max(bk * bn).max(bm * bn) * elem;
    let by_alloc = if gpu.info.max_alloc > 0 { gpu.info.max_alloc as usize / largest.max(1) } else { rank };
    let mut g = (cap.saturating_sub(fixed) / per.max(1)).min(by_alloc).min(rank);
    if let Some(most) = most {
        g = g.min(most.max(1));
    }
    if g == 0 {
        return Err(classify(-4, format!("{} MiB of operands and one product's blocks do not fit the device's {} MiB free",
                                        (fixed + per) >> 20, free >> 20)));
    }
    Ok(g)
}

#[allow(clippy::too_many_arguments)]
fn on_device<T: Scalar>(gpu: &Gpu, s: &Scheme, a: ArrayView2<T>, b: ArrayView2<T>, mut c: ArrayViewMut2<T>, alpha: T, beta: T,
                        most: Option<usize>) -> Result<Run, ClFail> {
    let ((m, k), n) = (a.dim(), b.ncols());
    let (bm, bn, bk) = (m / 4, n / 4, k / 4);
    let elem = std::mem::size_of::<T>();
    let double = T::DTYPE == "float64";
    let g = group_size(gpu, s.rank, (m, n, k), elem, most)?;
    let (ha, hb) = (rows(a)?, rows(b)?);
    let read_c = beta != T::zero();
    let hc = if read_c { Some(rows(c.view())?) } else { None };
    let q = &gpu.queue;
    let mut da = alloc::<T>(gpu, m * k, CL_MEM_READ_ONLY)?;
    let mut db = alloc::<T>(gpu, k * n, CL_MEM_READ_ONLY)?;
    let mut dc = alloc::<T>(gpu, m * n, CL_MEM_READ_WRITE)?;
    let ds = alloc::<T>(gpu, g * bm * bk, CL_MEM_READ_WRITE)?;
    let dt = alloc::<T>(gpu, g * bk * bn, CL_MEM_READ_WRITE)?;
    let dm = alloc::<T>(gpu, g * bm * bn, CL_MEM_READ_WRITE)?;
    let _finish = Finish(q); // every exit waits for the transfers reading host memory
    staging::upload(gpu, &mut da, 0, &ha, "copying a to the device")?;
    staging::upload(gpu, &mut db, 0, &hb, "copying b to the device")?;
    if let Some(hc) = &hc {
        staging::upload(gpu, &mut dc, 0, hc, "copying c to the device")?;
    }
    let mut run = Run { bytes_to_device: ((m * k + k * n + if read_c { m * n } else { 0 }) * elem) as u64, ..Run::default() };
    super::fail::launch_fault("gemm_alpha kernels")?;
    let int = |x: usize| x as cl_int;
    let long = |x: usize| x as cl_long;
    let mut variant = String::new();
    let lw = local(gpu);
    for first in (0..s.rank).step_by(g) {
        let last = (first + g).min(s.rank);
        let src = generate(s, first..last);
        let program = gpu.programs.get(&gpu.context, gpu.device.id(), &[&src], &format!("-DREAL_DOUBLE={}", double as u8))?;
        let sides = |x: &Buffer<T>, ld: usize, rows: usize, cols: usize, out: &Buffer<T>, name: &str| -> Result<u64, ClFail> {
            let kernel = check(Kernel::create(&program.0, name), "creating a gemm_alpha kernel")?;
            // SAFETY: argument types match the generated kernel's parameters in order.
            let ev = unsafe {
                check(ExecuteKernel::new(&kernel).set_arg(x).set_arg(&long(ld)).set_arg(&int(rows)).set_arg(&int(cols))
                    .set_arg(out).set_global_work_sizes(&[cols.next_multiple_of(lw[0]), rows.next_multiple_of(lw[1])])
                    .set_local_work_sizes(&lw).enqueue_nd_range(q), "launching a gemm_alpha kernel")?
            };
            check(ev.wait(), "running a gemm_alpha kernel")?;
            Ok(check(ev.profiling_command_end(), "timing")?.saturating_sub(check(ev.profiling_command_start(), "timing")?))
        };
        run.kernel_ns += sides(&da, k, bm, bk, &ds, "alpha_left")?;
        run.kernel_ns += sides(&db, n, bk, bn, &dt, "alpha_right")?;
        let (name, ns) = stacked_on_device(gpu, &ds, &dt, &dm, (bm, bn, bk), last - first, T::one(), T::zero())?;
        run.kernel_ns += ns;
        variant = name;
        let kernel = check(Kernel::create(&program.0, "alpha_out"), "creating a gemm_alpha kernel")?;
        let beta_here = if first == 0 { beta } else { T::one() };
        // SAFETY: as above.
        let ev = unsafe {
            check(ExecuteKernel::new(&kernel).set_arg(&dm).set_arg(&int(bm)).set_arg(&int(bn)).set_arg(&dc).set_arg(&long(n))
                .set_arg(&alpha).set_arg(&beta_here).set_arg(&int((first == 0 && !read_c) as usize))
                .set_global_work_sizes(&[bn.next_multiple_of(lw[0]), bm.next_multiple_of(lw[1])])
                .set_local_work_sizes(&lw).enqueue_nd_range(q), "launching a gemm_alpha kernel")?
        };
        check(ev.wait(), "running a gemm_alpha kernel")?;
        run.kernel_ns += check(ev.profiling_command_end(), "timing")?.saturating_sub(check(ev.profiling_command_start(), "timing")?);
    }
    drop(hc); // its upload finished before the kernels we waited for (in-order queue)
    // Straight into C when it is row-major and dense (no second pass over m x n on the host).
    if let Some(dst) = c.as_slice_mut() {
        staging::download(gpu, &dc, 0, dst, "copying c from the device")?;
    } else {
        let mut out = host_vec::<T>(m * n)?;
        staging::download(gpu, &dc, 0, &mut out, "copying c from the device")?;
        c.assign(&Array2::from_shape_vec((m, n), out).expect("sized"));
    }
    run.bytes_from_device = (m * n * elem) as u64;
    run.kernel = format!("{} over {variant}", short_name(s));
    Ok(run)
}

/// A coefficient times a value as OpenCL C: +x, -x, or +(REAL)c*x (dyadic, so exact).
fn term(out: &mut String, coef: f64, value: &str) {
    let _ = match coef {
        1.0 => write!(out, " + {value}"),
        -1.0 => write!(out, " - {value}"),
        c => write!(out, " + (REAL)({c:?})*{value}"),
    };
}

/// OpenCL C for products `r` of scheme `s` (generated from its coefficients, never edited):
/// `alpha_left`/`alpha_right` write S_r/T_r for each r, `alpha_out` adds the products' terms
/// into C's 16 blocks (first group: beta C, or zero with `fresh`, without reading C).
pub fn generate(s: &Scheme, r: std::ops::Range<usize>) -> String {
    let mut src = format!("// Generated by rust/core/src/opencl/alpha.rs from rust/core/schemes/{}.json, products {}..{}.\n\
        #if REAL_DOUBLE\n#pragma OPENCL EXTENSION cl_khr_fp64 : enable\ntypedef double REAL;\n#else\ntypedef float REAL;\n#endif\n",
        s.key, r.start, r.end);
    for (name, factors) in [("alpha_left", s.u), ("alpha_right", s.v)] {
        let _ = write!(src, "__kernel void {name}(__global const REAL* x, long ld, int rows, int cols, __global REAL* out) {{\n\
            const int j = get_global_id(0), i = get_global_id(1);\n  if (i >= rows || j >= cols) return;\n\
            const long per = (long)rows * cols, o = (long)i * cols + j;\n  __global const REAL* p = x + (long)i * ld + j;\n");
        let used: std::collections::BTreeSet<usize> = r.clone().flat_map(|q| factors[q].iter().map(|&(p, _)| p)).collect();
        for p in &used {
            let _ = writeln!(src, "  const REAL x{p} = p[{}L * rows * ld + {}L * cols];", p / 4, p % 4);
        }
        for (slot, q) in r.clone().enumerate() {
            let mut e = String::new();
            for &(p, c) in factors[q] {
                term(&mut e, c, &format!("x{p}"));
            }
            let _ = writeln!(src, "  out[{slot}L * per + o] = 0{e};");
        }
        src.push_str("}\n");
    }
    let _ = write!(src, "__kernel void alpha_out(__global const REAL* m, int rows, int cols, __global REAL* c, long ldc, \
        REAL alpha, REAL beta, int fresh) {{\n  const int j = get_global_id(0), i = get_global_id(1);\n\
        if (i >= rows || j >= cols) return;\n  const long per = (long)rows * cols, o = (long)i * cols + j;\n\
        __global REAL* p = c + (long)i * ldc + j;\n");
    for (slot, _) in r.clone().enumerate() {
        let _ = writeln!(src, "  const REAL m{slot} = m[{slot}L * per + o];");
    }
    for blk in 0..16 {
        let mut e = String::new();
        for (slot, q) in r.clone().enumerate() {
            for &(o, z) in s.w[q] {
                if o == blk {
                    term(&mut e, z, &format!("m{slot}"));
                }
            }
        }
        let at = format!("p[{}L * rows * ldc + {}L * cols]", blk / 4, blk % 4);
        let _ = writeln!(src, "  {{ const REAL v = alpha * (0{e});\n    {at} = fresh ? v : v + beta * {at}; }}");
    }
    src.push_str("}\n");
    src
}
