//! Stacks of small products (every dimension up to `MAX_DIM`) on an OpenCL device, at memory
//! speed: kernels/gemm_small.cl with M, N, K compiled in. A 4x4 product is 384 bytes of
//! traffic in float64 and 64 FMAs, so the tiled GEMM (one 64x128 work-group per product) wastes
//! almost all of its work; here a work-group takes a run of consecutive matrices, read and
//! written in consecutive vectors.
//!
//! Operands are staged exactly as for the tiled kernel (`gemm::stage`: uploaded as they lie
//! when each matrix is C- or F-contiguous and the stack is dense or one matrix broadcast,
//! else copied), a column-major C is handled as the transposed product, and C is written only
//! after the device finished: a failure leaves it untouched, or with beta = 0 (read straight
//! into C) about to be overwritten by the CPU fallback, which does not read it.

use std::time::Instant;

use ndarray::{ArrayViewD, ArrayViewMutD};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::types::{cl_int, cl_long, CL_BLOCKING};

use super::fail::{check, classify, ClFail};
use super::staging;
use super::gemm::{alloc, host_vec, stage, uniform, Finish, Operand, Run};
use super::runtime::{DeviceInfo, Gpu};
use crate::layout::{split_shape, Mats};
use crate::Scalar;

/// Products with every dimension up to this run the small-product kernel (when the tiled
/// kernel is not asked for by name).
pub const MAX_DIM: usize = 16;

/// How work-items share a run of products (kernels/gemm_small.cl says what each does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmallVariant {
    /// Operands staged in local memory; each work-item computes R rows of one column of a
    /// product and stores them straight to C.
    Element,
    /// Operands staged in local memory; each work-item computes a whole product; C goes back
    /// through local memory as consecutive vectors.
    Matrix,
    /// As `Element`, reading the operands from global memory where they lie (no local memory).
    Direct,
}

/// The variant used unless LAPACK_AI_SMALL_GEMM_VARIANT names another: every work-item has
/// its own outputs, C needs no second pass through local memory, and its registers do not
/// grow with the product (the matrix variant holds M*N accumulators).
pub const DEFAULT_VARIANT: SmallVariant = SmallVariant::Element;

impl SmallVariant {
    pub const ALL: [SmallVariant; 3] = [SmallVariant::Element, SmallVariant::Matrix, SmallVariant::Direct];

    pub fn name(self) -> &'static str {
        match self {
            SmallVariant::Element => "element",
            SmallVariant::Matrix => "matrix",
            SmallVariant::Direct => "direct",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.name() == s.trim().to_ascii_lowercase())
    }

    /// The kernel's VARIANT define.
    fn code(self) -> u8 {
        match self {
            SmallVariant::Element => 0,
            SmallVariant::Matrix => 1,
            SmallVariant::Direct => 2,
        }
    }

    /// Tuning knob: LAPACK_AI_SMALL_GEMM_VARIANT=element|matrix|direct, else `DEFAULT_VARIANT`.
    pub fn from_env() -> Self {
        match std::env::var("LAPACK_AI_SMALL_GEMM_VARIANT") {
            Ok(s) if !s.trim().is_empty() => Self::parse(&s).unwrap_or_else(|| {
                log::warn!(target: "lapack_ai", "LAPACK_AI_SMALL_GEMM_VARIANT={s:?} is not element, matrix or direct; using {}",
                           DEFAULT_VARIANT.name());
                DEFAULT_VARIANT
            }),
            _ => DEFAULT_VARIANT,
        }
    }
}

/// Overrides of the launch shape, for tuning on a device (unset: `plan` decides).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Knobs {
    /// LAPACK_AI_SMALL_GEMM_ROWS: rows of a product per work-item (element, direct).
    pub rows: Option<usize>,
    /// LAPACK_AI_SMALL_GEMM_MPG: matrices per work-group.
    pub mpg: Option<usize>,
    /// LAPACK_AI_SMALL_GEMM_VW: elements per global vector load (1, 2 or 4).
    pub vw: Option<usize>,
}

impl Knobs {
    pub fn from_env() -> Self {
        let get = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse::<usize>().ok()).filter(|&x| x > 0);
        Knobs { rows: get("LAPACK_AI_SMALL_GEMM_ROWS"), mpg: get("LAPACK_AI_SMALL_GEMM_MPG"), vw: get("LAPACK_AI_SMALL_GEMM_VW") }
    }
}

/// Work-items per group aimed at: 8 such groups fill an NVIDIA multiprocessor (2048).
const WG_TARGET: usize = 256;
/// Local memory per group aimed at: 8 groups of 24 KiB fit a Hopper multiprocessor's 228 KiB,
/// and NVIDIA's OpenCL allows 48 KiB per group. The matrix variant also stages C.
const LOCAL_BUDGET: usize = 24 << 10;
const LOCAL_BUDGET_MATRIX: usize = 32 << 10;
/// Work-items of a product (element, direct) at most: larger products take several rows per
/// work-item (8x8: 4 rows of one column, 16x16: the whole column), so an operand value read
/// from local memory feeds several FMAs. On the H200 16x16 float64 went from 0.78 of copy
/// bandwidth at 64 work-items a product to 0.82 at 32 and 0.91 at 16 (LAPACK_AI_SMALL_GEMM_ROWS).
const MAX_ITEMS_PER_PRODUCT: usize = 16;

/// float32 16x16 outputs: two work-items per column (8 rows each) and scalar loads. The H200
/// went from 0.68 of copy bandwidth (16 rows, 16-byte loads) to 0.82, the H100 from 0.92 to
/// 1.00 (2026-12-05, docs/benchmarks.md).
fn f32_16x16(elem: usize, m: usize, n: usize) -> bool {
    elem == 4 && m == 16 && n == 16
}
/// Rounds of products per group at most (element): more matrices per group, more loads in
/// flight per work-item before the barrier.
const MAX_ROUNDS: usize = 8;

/// How one stack is launched: the kernel's compile-time shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub variant: SmallVariant,
    /// Kernel dimensions (after any transposition for a column-major C).
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub bcast_a: bool,
    pub bcast_b: bool,
    /// Rows of a product per work-item (element, direct; 1 for matrix).
    pub r: usize,
    /// Products computed side by side by the group (one round).
    pub wpr: usize,
    /// Products per work-group (`mpg / wpr` rounds).
    pub mpg: usize,
    /// Elements per vector load of A and B (and store of C for matrix).
    pub vw: usize,
    /// Work-items per group.
    pub wg: usize,
    /// Local memory the kernel declares, bytes.
    pub local_bytes: usize,
}

/// The odd stride of a matrix of `x` elements in local memory (gemm_small.cl's ODD).
fn odd(x: usize) -> usize {
    if x % 2 == 1 { x } else { x + 1 }
}

/// Local memory of a build, in elements (mirrors the kernel's declarations).
fn local_elems(v: SmallVariant, (m, n, k): (usize, usize, usize), (ba, bb): (bool, bool), mpg: usize) -> usize {
    if v == SmallVariant::Direct {
        return 0;
    }
    let a = if ba { odd(m * k) } else { mpg * odd(m * k) };
    let b = if bb { odd(k * n) } else { mpg * odd(k * n) };
    let c = if v == SmallVariant::Matrix { mpg * odd(m * n) } else { 0 };
    a + b + c
}

/// The launch of an m x n x k stack on `info` (pure: every choice is a function of the device's
/// facts, the shape, the element size and the knobs).
pub fn plan(info: &DeviceInfo, elem: usize, (m, n, k): (usize, usize, usize), (ba, bb): (bool, bool),
            variant: SmallVariant, knobs: &Knobs) -> Launch {
    let dims = (m, n, k);
    let wg_max = WG_TARGET.min(info.max_work_group.max(1));
    let device_local = if info.local_mem > 0 { info.local_mem as usize } else { usize::MAX };
    let fits = |v: SmallVariant, mpg: usize| local_elems(v, dims, (ba, bb), mpg) * elem <= device_local;
    // A device too small for one staged round of products reads them where they lie.
    let variant = if variant != SmallVariant::Direct && !fits(variant, 1) { SmallVariant::Direct } else { variant };
    let per = |v: SmallVariant| local_elems(v, dims, (ba, bb), 2) - local_elems(v, dims, (ba, bb), 1); // per product
    let fixed = |v: SmallVariant| local_elems(v, dims, (ba, bb), 1) - per(v);
    let room = |v: SmallVariant, budget: usize| {
        let budget = budget.min(device_local) / elem;
        budget.saturating_sub(fixed(v)) / per(v).max(1)
    };
    let (r, wpr, mut mpg) = match variant {
        SmallVariant::Matrix => {
            let mut wpr = room(variant, LOCAL_BUDGET_MATRIX).clamp(1, wg_max);
            if wpr >= 32 {
                wpr -= wpr % 32; // whole warps
            }
            (1, wpr, wpr)
        }
        SmallVariant::Element | SmallVariant::Direct => {
            let divisors = (1..=m).filter(|d| m % d == 0);
            let r = match knobs.rows.filter(|r| m % r == 0) {
                Some(r) => r,
                None => {
                    let most = if f32_16x16(elem, m, n) { 2 * MAX_ITEMS_PER_PRODUCT } else { MAX_ITEMS_PER_PRODUCT };
                    divisors.clone().find(|d| (m / d) * n <= most.min(wg_max)).unwrap_or(m)
                }
            };
            let tpm = (m / r) * n;
            let mut wpr = (wg_max / tpm).max(1);
            let mut rounds = 1;
            if variant == SmallVariant::Element {
                wpr = wpr.min(room(variant, LOCAL_BUDGET).max(1));
                let fit = room(variant, LOCAL_BUDGET) / wpr;
                while rounds * 2 <= fit.min(MAX_ROUNDS) {
                    rounds *= 2;
                }
            }
            (r, wpr, wpr * rounds)
        }
    };
    if let Some(x) = knobs.mpg {
        mpg = x.div_ceil(wpr) * wpr;
        while mpg > wpr && !fits(variant, mpg) {
            mpg -= wpr;
        }
    }
    let tpm = if variant == SmallVariant::Matrix { 1 } else { (m / r) * n };
    // Vector loads need every group's run to start on a vector: a multiple of VW elements.
    let vw_default = if f32_16x16(elem, m, n) && variant == SmallVariant::Element { 1 } else { 16 / elem };
    let mut vw = knobs.vw.unwrap_or(vw_default).clamp(1, 4);
    let runs = [(!ba).then_some(m * k), (!bb).then_some(k * n), (variant == SmallVariant::Matrix).then_some(m * n)];
    while vw > 1 && (vw == 3 || runs.iter().flatten().any(|x| (mpg * x) % vw != 0)) {
        vw -= 1;
    }
    Launch { variant, m, n, k, bcast_a: ba, bcast_b: bb, r, wpr, mpg, vw, wg: wpr * tpm,
             local_bytes: local_elems(variant, dims, (ba, bb), mpg) * elem }
}

impl Launch {
    fn options(&self, double: bool, a_mfast: bool, b_nfast: bool) -> String {
        format!("-DREAL_DOUBLE={} -DM={} -DN={} -DK={} -DA_MFAST={} -DB_NFAST={} -DBCAST_A={} -DBCAST_B={} -DVARIANT={} \
                 -DR={} -DWPR={} -DMPG={} -DVW={}",
                double as u8, self.m, self.n, self.k, a_mfast as u8, b_nfast as u8, self.bcast_a as u8, self.bcast_b as u8,
                self.variant.code(), self.r, self.wpr, self.mpg, self.vw)
    }
}

/// The kernel's name in runs, metrics and benchmarks, with the caller's m x n x k.
fn name(variant: SmallVariant, m: usize, n: usize, k: usize) -> String {
    format!("small-{m}x{n}x{k}-{}", variant.name())
}

/// C = alpha op(A) op(B) + beta C on `gpu` for a stack with every dimension up to `MAX_DIM`.
/// Shapes are validated by the caller; `m, n, k > 0`, `alpha != 0` and a non-empty C here
/// (`gemm::gemm` routes such stacks here and handles the rest).
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Scalar>(gpu: &Gpu, a: ArrayViewD<T>, b: ArrayViewD<T>, mut c: ArrayViewMutD<T>, alpha: T, beta: T,
                       trans_a: bool, trans_b: bool, start: Instant) -> Result<Run, ClFail> {
    let (_, ar, ac) = split_shape(a.shape()).map_err(|e| classify(0, e.to_string()))?;
    let (_, m, n) = split_shape(c.shape()).map_err(|e| classify(0, e.to_string()))?;
    let k = if trans_a { ar } else { ac };
    let count = c.len() / (m * n);
    let sa = stage(a)?;
    let sb = stage(b)?;
    // As in gemm.rs: op(A)(i,p) has i fast when A is column-major xor transposed, and so on.
    let a_mfast = sa.col_major != trans_a;
    let b_nfast = sb.col_major == trans_b;
    let read_c = beta != T::zero();
    let c_layout = Mats::new(c.view()).ok().and_then(|cm| uniform(&cm)).filter(|&(_, _, stride)| count == 1 || stride == m * n);
    // A column-major C is written as the row-major C^T = op(B)^T op(A)^T.
    let transpose = c_layout.is_some_and(|(col_major, _, _)| col_major);
    let (km, kn, ka, kb, ka_mfast, kb_nfast): (usize, usize, &Operand<T>, &Operand<T>, bool, bool) =
        if transpose { (n, m, &sb, &sa, b_nfast, a_mfast) } else { (m, n, &sa, &sb, a_mfast, b_nfast) };
    let total = count * m * n;
    let mut staged: Option<Vec<T>> = None;
    if c_layout.is_none() {
        let mut buf = host_vec::<T>(total)?;
        if read_c {
            buf.iter_mut().zip(c.iter()).for_each(|(o, &v)| *o = v); // logical order
        }
        staged = Some(buf);
    }

    let double = T::DTYPE == "float64";
    let elem = std::mem::size_of::<T>();
    let l = plan(&gpu.info, elem, (km, kn, k), (ka.stride == 0, kb.stride == 0), SmallVariant::from_env(), &Knobs::from_env());
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), "gemm_small.cl", &l.options(double, ka_mfast, kb_nfast))?;
    let size = elem as u64;
    let bytes = (ka.data.len() as u64).saturating_add(kb.data.len() as u64).saturating_add(total as u64).saturating_mul(size);
    if gpu.info.global_mem > 0 && bytes > gpu.info.global_mem {
        return Err(classify(-4, format!("{} MiB of operands do not fit the device's {} MiB", bytes >> 20, gpu.info.global_mem >> 20)));
    }
    let mut run = Run { kernel: name(l.variant, m, n, k), ..Run::default() };
    let mut da = alloc::<T>(gpu, ka.data.len(), CL_MEM_READ_ONLY)?;
    let mut db = alloc::<T>(gpu, kb.data.len(), CL_MEM_READ_ONLY)?;
    let mut dc = alloc::<T>(gpu, total, CL_MEM_READ_WRITE)?;
    let q = &gpu.queue;
    // From the first transfer on, every exit waits for the queue (see gemm.rs: `launch`).
    let _finish = Finish(q);
    staging::upload(gpu, &mut da, 0, &ka.data, "copying a to the device")?;
    staging::upload(gpu, &mut db, 0, &kb.data, "copying b to the device")?;
    run.bytes_to_device = (ka.data.len() + kb.data.len()) as u64 * size;
    let direct = staged.is_none();
    let host_c: &mut [T] = match staged.as_deref_mut() {
        Some(s) => s,
        // SAFETY: a direct C is one contiguous run of `total` elements (`uniform`, dense stride).
        None => unsafe { std::slice::from_raw_parts_mut(c.as_mut_ptr(), total) },
    };
    if read_c {
        staging::upload(gpu, &mut dc, 0, host_c, "copying c to the device")?;
        run.bytes_to_device += total as u64 * size;
    }
    super::fail::launch_fault("gemm_small kernel")?;
    run.kernel_ns = enqueue(gpu, &program.0, &l, count, alpha, beta, read_c, (&da, &db, &dc))?;
    // With beta = 0 the CPU fallback overwrites C without reading it, so a failed read into C
    // could not hurt; otherwise read aside and copy once the read succeeded.
    if direct && !read_c {
        staging::download(gpu, &dc, 0, host_c, "copying c from the device")?;
    } else {
        let mut tmp = host_vec::<T>(total)?;
        staging::download(gpu, &dc, 0, &mut tmp, "copying c from the device")?;
        host_c.copy_from_slice(&tmp);
    }
    run.bytes_from_device = total as u64 * size;
    if let Some(buf) = staged {
        c.iter_mut().zip(buf).for_each(|(x, v)| *x = v); // the caller's C, any strides, logical order
    }
    run.total_ns = start.elapsed().as_nanos() as u64;
    Ok(run)
}

/// One launch over `count` products; waits for it and returns its device time in ns.
#[allow(clippy::too_many_arguments)]
fn enqueue<T: Scalar>(gpu: &Gpu, program: &opencl3::program::Program, l: &Launch, count: usize, alpha: T, beta: T,
                      read_c: bool, (a, b, c): (&Buffer<T>, &Buffer<T>, &Buffer<T>)) -> Result<u64, ClFail> {
    let groups = count.div_ceil(l.mpg);
    if groups > i32::MAX as usize {
        return Err(classify(-63, format!("{count} products in groups of {} are too many for one launch", l.mpg)));
    }
    let kernel = check(Kernel::create(program, "gemm_small"), "creating the gemm_small kernel")?;
    // SAFETY: the types match the kernel's parameter list in order.
    let event = check(unsafe {
        ExecuteKernel::new(&kernel)
            .set_arg(&(count as cl_long)).set_arg(&alpha).set_arg(&beta).set_arg(&(read_c as cl_int))
            .set_arg(a).set_arg(b).set_arg(c)
            .set_global_work_sizes(&[groups * l.wg]).set_local_work_sizes(&[l.wg])
            .enqueue_nd_range(&gpu.queue)
    }, "launching the gemm_small kernel")?;
    device_ns(&event, "gemm_small")
}

/// Waits for a launch and returns its device time in ns (OpenCL profiling events).
pub(super) fn device_ns(event: &opencl3::event::Event, kernel: &str) -> Result<u64, ClFail> {
    check(event.wait(), &format!("waiting for the {kernel} kernel"))?;
    let t0 = check(event.profiling_command_start(), "reading the kernel's start time")?;
    let t1 = check(event.profiling_command_end(), "reading the kernel's end time")?;
    Ok(t1.saturating_sub(t0))
}

/// Kernel-only timing for benchmarks: a dense row-major stack of `count` m x k and k x n
/// products (random values) uploaded once, `reps` launches, each launch's device time in ns,
/// and the kernel's name. `variant` None: LAPACK_AI_SMALL_GEMM_VARIANT or the default. With
/// `beta` != 0 the kernel also reads C. Minimal traffic per launch:
/// count * (m*k + k*n + m*n (+ m*n when beta != 0)) elements.
#[allow(clippy::too_many_arguments)]
pub fn bench_small<T: Scalar>(gpu: &Gpu, count: usize, m: usize, n: usize, k: usize, reps: usize,
                              variant: Option<SmallVariant>, beta: f64) -> Result<(String, Vec<u64>), ClFail> {
    if count == 0 || m == 0 || n == 0 || k == 0 || m.max(n).max(k) > MAX_DIM {
        return Err(classify(-30, format!("bench_small: {count} x {m}x{n}x{k}: need a non-empty stack, dimensions up to {MAX_DIM}")));
    }
    let double = T::DTYPE == "float64";
    let l = plan(&gpu.info, std::mem::size_of::<T>(), (m, n, k), (false, false), variant.unwrap_or_else(SmallVariant::from_env),
                 &Knobs::from_env());
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), "gemm_small.cl", &l.options(double, false, true))?;
    let (ha, hb, hc) = (random_fill(count * m * k)?, random_fill(count * k * n)?, random_fill(count * m * n)?);
    let q = &gpu.queue;
    let mut da = alloc::<T>(gpu, ha.len(), CL_MEM_READ_ONLY)?;
    let mut db = alloc::<T>(gpu, hb.len(), CL_MEM_READ_ONLY)?;
    let mut dc = alloc::<T>(gpu, hc.len(), CL_MEM_READ_WRITE)?;
    let _finish = Finish(q);

    unsafe {
        check(q.enqueue_write_buffer(&mut da, CL_BLOCKING, 0, &ha, &[]), "upload")?;
        check(q.enqueue_write_buffer(&mut db, CL_BLOCKING, 0, &hb, &[]), "upload")?;
        check(q.enqueue_write_buffer(&mut dc, CL_BLOCKING, 0, &hc, &[]), "upload")?;
    }
    let beta = T::from(beta).unwrap();
    let times = (0..reps).map(|_| enqueue(gpu, &program.0, &l, count, T::one(), beta, beta != T::zero(), (&da, &db, &dc)))
        .collect::<Result<Vec<u64>, ClFail>>()?;
    Ok((name(l.variant, m, n, k), times))
}

/// `len` values uniform in [-0.5, 0.5) for kernel timings: a block of 2^16 random values
/// repeated (the values do not change the time of a product, generating them all would).
pub(super) fn random_fill<T: Scalar>(len: usize) -> Result<Vec<T>, ClFail> {
    let mut seed = 0x9E3779B97F4A7C15u64;
    let block: Vec<T> = (0..(1usize << 16)).map(|_| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        T::from((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5).unwrap()
    }).collect();
    let mut v = host_vec::<T>(len)?;
    v.iter_mut().zip(block.iter().cycle()).for_each(|(o, &x)| *o = x);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device(max_work_group: usize, local_mem: u64) -> DeviceInfo {
        DeviceInfo::hopper(max_work_group, local_mem)
    }

    /// The shapes the kernel asserts (#error) and assumes: R divides M, WPR divides MPG, the
    /// group is WPR products of (M/R)*N work-items (one for matrix) within the device's limit,
    /// local memory within the budget and the device, vector width dividing every group's run.
    fn consistent(info: &DeviceInfo, elem: usize, l: &Launch) {
        let (m, n, k) = (l.m, l.n, l.k);
        assert!(m.is_multiple_of(l.r) && l.mpg.is_multiple_of(l.wpr) && l.mpg >= l.wpr, "{l:?}");
        let tpm = if l.variant == SmallVariant::Matrix { 1 } else { (m / l.r) * n };
        assert_eq!(l.wg, l.wpr * tpm, "{l:?}");
        assert!(l.wg <= info.max_work_group.max(1) && l.wg <= WG_TARGET.max(tpm), "{l:?}");
        assert!(l.local_bytes <= info.local_mem as usize, "{l:?}");
        assert!([1, 2, 4].contains(&l.vw), "{l:?}");
        for (run, on) in [(m * k, !l.bcast_a), (k * n, !l.bcast_b), (m * n, l.variant == SmallVariant::Matrix)] {
            assert!(!on || (l.mpg * run).is_multiple_of(l.vw), "{l:?}");
        }
        if l.variant == SmallVariant::Direct {
            assert_eq!(l.local_bytes, 0);
        } else {
            assert_eq!(l.local_bytes, local_elems(l.variant, (m, n, k), (l.bcast_a, l.bcast_b), l.mpg) * elem);
        }
    }

    #[test]
    fn every_shape_and_variant_is_consistent() {
        for info in [device(1024, 48 << 10), device(256, 32 << 10), device(4096, 4 << 20), device(64, 16 << 10)] {
            for elem in [4, 8] {
                for m in 1..=MAX_DIM {
                    for n in 1..=MAX_DIM {
                        for k in [1, 2, 3, 4, 7, 8, 13, 16] {
                            for v in SmallVariant::ALL {
                                for bc in [(false, false), (true, false), (false, true), (true, true)] {
                                    consistent(&info, elem, &plan(&info, elem, (m, n, k), bc, v, &Knobs::default()));
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The flagship shapes on a Hopper-like device: 16-byte loads, full groups, several
    /// rounds of 4x4 products per group, 8x8 four rows to a work-item, 16x16 whole columns.
    #[test]
    fn launches_of_the_flagship_shapes() {
        let h = device(1024, 48 << 10);
        let el = |elem, d| plan(&h, elem, d, (false, false), SmallVariant::Element, &Knobs::default());
        let l = el(8, (4, 4, 4));
        assert_eq!((l.r, l.wg, l.wpr, l.mpg, l.vw), (1, 256, 16, 64, 2));
        let l = el(4, (4, 4, 4));
        assert_eq!((l.r, l.wg, l.mpg, l.vw), (1, 256, 128, 4));
        let l = el(8, (8, 8, 8));
        assert_eq!((l.r, l.wg, l.wpr, l.vw), (4, 256, 16, 2));
        let l = el(8, (16, 16, 16));
        assert_eq!((l.r, l.wg, l.wpr, l.mpg), (16, 80, 5, 5)); // 5 products' 4 KiB of local memory each
        let l = plan(&h, 8, (4, 4, 4), (false, false), SmallVariant::Matrix, &Knobs::default());
        assert_eq!((l.wg, l.mpg, l.vw), (64, 64, 2));
        assert!(l.local_bytes <= LOCAL_BUDGET_MATRIX);
        let l = plan(&h, 8, (4, 4, 4), (false, false), SmallVariant::Direct, &Knobs::default());
        assert_eq!((l.wg, l.mpg, l.local_bytes), (256, 16, 0));
        // A broadcast operand takes one matrix of local memory, not one per product.
        let l = plan(&h, 8, (16, 16, 16), (false, true), SmallVariant::Element, &Knobs::default());
        assert_eq!(l.local_bytes, (l.mpg * 257 + 257) * 8);
    }

    #[test]
    fn knobs_and_odd_shapes() {
        let h = device(1024, 48 << 10);
        let k = Knobs { rows: Some(2), mpg: Some(50), vw: Some(4) };
        let l = plan(&h, 8, (4, 4, 4), (false, false), SmallVariant::Element, &k);
        assert_eq!((l.r, l.wpr, l.mpg, l.vw), (2, 32, 64, 4)); // 50 rounded up to whole rounds
        let bad_rows = Knobs { rows: Some(3), ..Knobs::default() }; // 3 does not divide 4: ignored
        assert_eq!(plan(&h, 8, (4, 4, 4), (false, false), SmallVariant::Element, &bad_rows).r, 1);
        // 3x5x7: 15 work-items a product, 17 products a round, runs of odd length: scalar loads
        // unless the rounds make them even.
        let l = plan(&h, 8, (3, 5, 7), (false, false), SmallVariant::Element, &Knobs::default());
        assert_eq!((l.r, l.wpr, l.wg), (1, 17, 255));
        // A device whose local memory cannot hold one staged round reads operands in place.
        let tiny = device(256, 1 << 10);
        assert_eq!(plan(&tiny, 8, (16, 16, 16), (false, false), SmallVariant::Element, &Knobs::default()).variant, SmallVariant::Direct);
        assert_eq!(SmallVariant::parse(" Matrix "), Some(SmallVariant::Matrix));
        assert_eq!(SmallVariant::parse("tiles"), None);
    }
}
