//! GEMM on an OpenCL device: stage operands, pick a kernel variant for the device and shape,
//! launch, read C back. C = alpha op(A) op(B) + beta C over stacks, xGEMM semantics.
//!
//! Any layout works: an operand whose matrices are C- or F-contiguous and evenly spaced is
//! uploaded as it lies (the kernel reads either layout); anything else is first copied to a
//! C-ordered host buffer. A column-major C is handled by computing C^T = op(B)^T op(A)^T.
//! C is only written after the device finished: a failure leaves it untouched (or, with
//! beta = 0, about to be overwritten by the CPU fallback), never half-updated.

use std::ffi::c_void;
use std::time::Instant;

use ndarray::{ArrayViewD, ArrayViewMutD};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::command_queue::CommandQueue;
use opencl3::types::{cl_int, cl_long, CL_BLOCKING};

use super::staging;
use super::fail::{check, classify, ClFail, Fault};
use super::runtime::{DeviceInfo, Gpu};
use crate::layout::{split_shape, Mats};
use crate::Scalar;

/// Which kernel to use; `Auto` takes the fastest one the device can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelChoice {
    Auto,
    Portable,
    TensorCore,
}

/// What one call did on the device, for metrics, explain() and benchmarks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    pub kernel: String,
    pub kernel_ns: u64,
    pub total_ns: u64,
    pub bytes_to_device: u64,
    pub bytes_from_device: u64,
}

/// One compiled configuration of a GEMM kernel.
#[derive(Debug, Clone)]
pub struct Variant {
    pub name: &'static str,
    file: &'static str,
    defines: String,
    /// Block of C per work-group, its K-tile, work-group size, and work-items per group.
    tile: (usize, usize),
    tk: usize,
    local: [usize; 3],
    /// Work-items per group along dimension 0 and 1 (global = groups * these).
    per_group: (usize, usize),
    /// The kernel copies pairs of elements when told that every leading dimension and batch
    /// stride is even (`-DLD_EVEN=1`), so both kinds are built as needed.
    pairs: bool,
    /// The kernel indexes the operands with 32-bit offsets when told that each operand has
    /// fewer than 2^31 elements (`-DOFF32=1`), else with 64-bit ones.
    offsets: bool,
    /// On GPUs the K of a last, partly filled wave of tiles is split (`schedule`), planned for
    /// one work-group per multiprocessor at a time (`slots`).
    split: bool,
}

/// Facts about the operands that select a build of a variant.
#[derive(Debug, Clone, Copy)]
struct Operands {
    a_mfast: bool,
    b_nfast: bool,
    /// Every leading dimension and batch stride is even.
    ld_even: bool,
    /// Each operand's elements fit 32-bit offsets.
    small: bool,
}

impl Variant {
    /// Build options: precision, operand layouts, whether every leading dimension and batch
    /// stride is even (kernels that copy pairs), the variant's tile, whether the launch splits
    /// tiles (`-DSPLIT=1`: the schedule's arguments; kernels/schedule.h), plus
    /// `LAPACK_AI_KERNEL_DEFINES` (a tuning knob, e.g. "-DSTAGES=2", used by
    /// benchmarks/gemm_tiles.py).
    fn options(&self, double: bool, ops: Operands, sched: &Schedule) -> String {
        let mut o = format!("-DREAL_DOUBLE={} -DA_MFAST={} -DB_NFAST={} -DSPLIT={} {}", double as u8, ops.a_mfast as u8,
                            ops.b_nfast as u8, (sched.split > 0) as u8, self.defines);
        if self.pairs {
            o += &format!(" -DLD_EVEN={}", ops.ld_even as u8);
        }
        if self.offsets {
            o += &format!(" -DOFF32={}", ops.small as u8);
        }
        if let Ok(extra) = std::env::var("LAPACK_AI_KERNEL_DEFINES") {
            o = format!("{o} {extra}");
        }
        o
    }
}

fn tile_override(var: &str, n: usize) -> Option<Vec<usize>> {
    let v: Vec<usize> = std::env::var(var).ok()?.split(',').filter_map(|x| x.trim().parse().ok()).collect();
    (v.len() == n).then_some(v)
}

/// The FP64 tensor-core kernel, on NVIDIA devices of compute capability >= 8.0.
/// Tuning knob: LAPACK_AI_DMMA_TILE="MI,NI,WARPS_M,WARPS_N,TK".
pub fn tensor_core_eligible(info: &DeviceInfo) -> bool {
    info.is_nvidia() && info.nv_compute_capability.is_some_and(|(major, _)| major >= 8)
}

/// The tile for an m x n (x count) product: 128x128 (8 warps of 64x32, K-tiles of 8, three in
/// flight, tiles walked in bands of 8 rows) once there are enough of them (`large_tiles_fill`),
/// else 64x128 (8 warps of 32x32). Sweeps in docs/benchmarks.md: 51-56 TF/s from n = 3072 up for
/// the large tile, about 0.85 of that for the small one; at n = 1024 (64 large tiles on 132 SMs)
/// 38 TF/s for the small tile against 29 for the large one split in two.
fn tensor_core(info: &DeviceInfo, m: usize, n: usize, count: usize) -> Variant {
    let (v, stages) = match tile_override("LAPACK_AI_DMMA_TILE", 5) {
        Some(v) => (v, ""), // STAGES and GROUP_M from LAPACK_AI_KERNEL_DEFINES, else defaults
        None => {
            let small = !large_tiles_fill(info, m, n, count, (128, 128));
            (if small { vec![2, 4, 2, 4, 8] } else { vec![4, 4, 2, 4, 8] }, " -DGROUP_M=8")
        }
    };
    let (mi, ni, wm, wn, tk) = (v[0], v[1], v[2], v[3], v[4]);
    let nt = wm * wn * 32;
    Variant {
        name: "dmma-m16n8k4",
        file: "gemm_dmma.cl",
        defines: format!("-DMI={mi} -DNI={ni} -DWARPS_M={wm} -DWARPS_N={wn} -DTK={tk}{stages}"),
        tile: (wm * mi * 16, wn * ni * 8),
        tk,
        local: [nt, 1, 1],
        per_group: (nt, 1),
        pairs: true,
        offsets: false,
        split: info.kind == "gpu",
    }
}

/// Tiles of tm x tn in an m x n (x count) C, and the waves they take on the device's
/// multiprocessors (one work-group per multiprocessor at a time).
fn tiles_waves(info: &DeviceInfo, m: usize, n: usize, count: usize, tm: usize, tn: usize) -> (usize, usize) {
    let tiles = m.div_ceil(tm) * n.div_ceil(tn) * count.max(1);
    (tiles, tiles.div_ceil(info.compute_units.max(1) as usize))
}

/// Whether a kernel's large tile has enough tiles (2/3 of a wave) to beat its small one. Split K
/// fills the rest of a wave, but below that the small tile's twice as many groups, each with
/// all of K, ran faster. The ladder in docs/benchmarks.md ("Split K for float32 and the tensor
/// cores") puts the crossover between 0.55 and 0.76 of a wave for both float32 (128x256 against
/// 128x128) and the tensor-core kernel (128x128 against 64x128).
fn large_tiles_fill(info: &DeviceInfo, m: usize, n: usize, count: usize, (tm, tn): (usize, usize)) -> bool {
    let (tiles, _) = tiles_waves(info, m, n, count, tm, tn);
    3 * tiles >= 2 * info.compute_units.max(1) as usize
}

/// Fewest K-tiles per slice of a split tile: the slice's partial tile (written once, read once
/// by gemm_reduce) stays small against its FMAs.
const MIN_SLICE_KTILES: usize = 32;

/// The tiles of a last, partly filled wave and the K-slices to cut each into, for `tiles`
/// tiles on `slots` work-groups at a time and `ktiles` whole K-tiles: (0, 1) when splitting
/// would not shorten that wave at least twofold.
fn split_tail(tiles: usize, slots: usize, ktiles: usize) -> (usize, usize) {
    let tail = if slots == 0 { 0 } else { tiles % slots };
    if tail == 0 {
        return (0, 1);
    }
    let slices = (slots / tail).min(ktiles / MIN_SLICE_KTILES);
    if slices >= 2 { (tail, slices) } else { (0, 1) }
}

/// How a product's tiles are launched (kernels/schedule.h): `whole` tiles with all of K straight
/// into C, then `split` tiles in `slices` K-slices each, which gemm_reduce adds into C.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub tiles_m: usize,
    pub tiles_n: usize,
    pub whole: usize,
    pub split: usize,
    pub slices: usize,
}

/// Work-groups that run at once: one per multiprocessor for variants that split (`Variant::split`).
/// True of float64's tiles (232-254 registers x 256 work-items), the tensor-core kernel's (240 x
/// 256) and float32's 128x256 (124 x 512). float32's 128x128 and the tensor cores' 64x128 tiles
/// (256 work-items) may fit two, and then a split tail takes half the device's slots: still
/// faster than not split (the ladder in docs/benchmarks.md).
/// Tuning and test knob: LAPACK_AI_GEMM_SLOTS=S plans every variant for S at a time (so CI's
/// CPU driver runs split tiles too).
fn slots(info: &DeviceInfo, v: &Variant) -> usize {
    match std::env::var("LAPACK_AI_GEMM_SLOTS").ok().and_then(|s| s.trim().parse().ok()) {
        Some(s) => s,
        None if v.split => info.compute_units as usize,
        None => 0,
    }
}

/// The schedule of an m x n x k product (x count) for variant `v` on the device.
pub fn schedule(info: &DeviceInfo, v: &Variant, m: usize, n: usize, k: usize, count: usize) -> Schedule {
    let (tiles_m, tiles_n) = (m.div_ceil(v.tile.0), n.div_ceil(v.tile.1));
    let tiles = tiles_m * tiles_n * count;
    let (split, slices) = split_tail(tiles, slots(info, v), k / v.tk);
    Schedule { tiles_m, tiles_n, whole: tiles - split, split, slices }
}

/// The time of tm x tn tiles in units of one element of C per multiprocessor: waves (a split
/// last wave counts 1/slices) times the tile's area.
fn waves_area(info: &DeviceInfo, m: usize, n: usize, k: usize, count: usize, (tm, tn, tk): (usize, usize, usize)) -> f64 {
    let cu = info.compute_units.max(1) as usize;
    let (tiles, _) = tiles_waves(info, m, n, count, tm, tn);
    let (split, slices) = split_tail(tiles, cu, k / tk);
    let waves = (tiles - split).div_ceil(cu) as f64 + if split > 0 { 1.0 / slices as f64 } else { 0.0 };
    waves * (tm * tn) as f64
}

/// The portable FMA kernel; tiles by device type, precision and shape (GPU figures from the
/// sweeps in docs/benchmarks.md). float64: 256 work-items of 12x8 over 192x128 tiles that lie
/// inside the matrices (INSIDE, which needs m >= 192, n >= 128, k >= 8) where that takes
/// at least 2% less time (waves x area, a split last wave counted at its length) than
/// 128x128, else 256 work-items of 8x8 over 128x128, inside with two local buffers (and tiles
/// walked in bands of 8 rows: 23.8 against 23.5-23.7 TF/s at n = 8192) where the shape allows;
/// all read pairs from local memory (per full wave the 8x8 with two buffers ran 0.4-1.5%
/// faster than the 12x8 at n = 8192, so the choice is mostly by how tiles fill the device).
/// float32: 512 work-items of 8x8 over 128x256, reading 4-wide vectors, or 128x128 tiles of
/// 256 work-items (0.75-0.95 of the speed) when too few large tiles fill the device
/// (`large_tiles_fill`).
/// K-tiles of 8.
/// Tuning knob: LAPACK_AI_GEMM_TILE="TM,TN,TK,WM,WN" (with LAPACK_AI_KERNEL_DEFINES; -DINSIDE=1
/// only for shapes it allows).
fn portable(info: &DeviceInfo, double: bool, m: usize, n: usize, k: usize, count: usize) -> Variant {
    let (default, stages) = match (info.kind == "gpu", double) {
        (true, true) if m >= 192 && n >= 128 && k >= 8
            && waves_area(info, m, n, k, count, (192, 128, 8)) < 0.98 * waves_area(info, m, n, k, count, (128, 128, 8)) => {
            (vec![192, 128, 8, 16, 16], " -DVEC=2 -DINSIDE=1")
        }
        (true, true) if m >= 128 && n >= 128 && k >= 8 => (vec![128, 128, 8, 16, 16], " -DVEC=2 -DINSIDE=1 -DSTAGES=2 -DGROUP_M=8"),
        (true, true) => (vec![128, 128, 8, 16, 16], " -DVEC=2"),
        (true, false) if info.max_work_group >= 512 && large_tiles_fill(info, m, n, count, (128, 256)) => {
            (vec![128, 256, 8, 16, 32], " -DVEC=4")
        }
        (true, false) => (vec![128, 128, 8, 16, 16], " -DVEC=4"),
        (false, _) => (vec![32, 32, 8, 8, 8], ""),
    };
    let (v, stages) = match tile_override("LAPACK_AI_GEMM_TILE", 5) {
        Some(v) => (v, ""),
        None => (default, stages),
    };
    let (tm, tn, tk, wm, wn) = (v[0], v[1], v[2], v[3], v[4]);
    Variant {
        name: "portable-fma",
        file: "gemm.cl",
        defines: format!("-DTM={tm} -DTN={tn} -DTK={tk} -DWM={wm} -DWN={wn}{stages}"),
        tile: (tm, tn),
        tk,
        local: [wn, wm, 1],
        per_group: (wn, wm),
        pairs: false,
        offsets: true,
        split: info.kind == "gpu",
    }
}

/// Variants to try for an m x n (x count) C, best first.
pub fn variants(info: &DeviceInfo, double: bool, choice: KernelChoice, m: usize, n: usize, k: usize, count: usize) -> Vec<Variant> {
    let tc = double && tensor_core_eligible(info);
    match choice {
        KernelChoice::Portable => vec![portable(info, double, m, n, k, count)],
        KernelChoice::TensorCore if tc => vec![tensor_core(info, m, n, count)],
        KernelChoice::TensorCore => vec![],
        KernelChoice::Auto if tc => vec![tensor_core(info, m, n, count), portable(info, double, m, n, k, count)],
        KernelChoice::Auto => vec![portable(info, double, m, n, k, count)],
    }
}

/// A stack of matrices as the device will read it.
pub(super) struct Operand<'a, T: Clone> {
    pub(super) data: std::borrow::Cow<'a, [T]>,
    /// The first index (row) is the contiguous one (column-major matrices).
    pub(super) col_major: bool,
    pub(super) ld: usize,
    /// Elements between consecutive matrices (0 when one matrix is broadcast).
    pub(super) stride: usize,
}

/// A stack of densely packed matrices (no gaps between them, or one matrix repeated), each C- or
/// F-contiguous: (col_major, ld, stride between matrices). Such a stack is one run of memory
/// that holds nothing but its own elements, so it can be uploaded as it lies.
pub(super) fn uniform<T>(mats: &Mats<T>) -> Option<(bool, usize, usize)> {
    let (r, c) = (mats.rows, mats.cols);
    let (s0, s1) = mats.strides();
    let row = (c == 1 || s1 == 1) && (r == 1 || s0 == c as isize);
    let col = (r == 1 || s0 == 1) && (c == 1 || s1 == r as isize);
    let col_major = match (row, col) {
        (true, _) => false, // vectors and 1x1 are both; take row-major
        (false, true) => true,
        (false, false) => return None,
    };
    let ld = if col_major { r.max(1) } else { c.max(1) };
    if mats.count <= 1 {
        return Some((col_major, ld, 0));
    }
    let stride = mats.flat()?.strides()[0];
    (stride == 0 || stride == (r * c) as isize).then_some((col_major, ld, stride as usize))
}

pub(super) fn stage<'a, T: Scalar>(a: ArrayViewD<'a, T>) -> Result<Operand<'a, T>, ClFail> {
    let mats = Mats::new(a.clone()).map_err(|e| classify(0, e.to_string()))?;
    let (r, c) = (mats.rows, mats.cols);
    if let Some((col_major, ld, stride)) = uniform(&mats) {
        let extent = (mats.count - 1) * stride + r * c;
        // SAFETY: a dense stack (or one matrix repeated) spans exactly `extent` elements from its
        // first element, all of them its own, inside one allocation.
        let data = unsafe { std::slice::from_raw_parts(mats.get(0).as_ptr(), extent) };
        return Ok(Operand { data: data.into(), col_major, ld, stride });
    }
    let mut owned = host_vec::<T>(a.len())?;
    owned.iter_mut().zip(a.iter()).for_each(|(o, &v)| *o = v); // logical order: matrices, rows
    Ok(Operand { data: owned.into(), col_major: false, ld: c.max(1), stride: r * c })
}

/// A host buffer for results or staging, allocated fallibly (an out-of-memory class failure:
/// the CPU takes over). Zeroed by the allocator, not written: the copy from the device is the
/// first touch of its (huge) pages.
pub(super) fn host_vec<T: Scalar>(len: usize) -> Result<Vec<T>, ClFail> {
    crate::alloc::zeroed("gemm", len).map_err(|e| classify(-6, format!("staging on the host: {e}")))
}

/// Waits for the queue when dropped: every exit from a function that enqueued transfers from
/// or to host memory (errors included) waits until the device is done with that memory.
pub(super) struct Finish<'q>(pub(super) &'q CommandQueue);

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.finish() {
            log::warn!(target: "lapack_ai", "waiting for the OpenCL queue failed: {e}");
        }
    }
}

pub(super) fn alloc<T>(gpu: &Gpu, count: usize, flags: u64) -> Result<Buffer<T>, ClFail> {
    let bytes = (count.max(1) as u64).checked_mul(std::mem::size_of::<T>() as u64);
    let what = format!("allocating {} MiB on the device", bytes.unwrap_or(u64::MAX) >> 20);
    let max = gpu.info.max_alloc;
    if max > 0 && bytes.is_none_or(|b| b > max) {
        return Err(classify(-61, format!("{what}: more than the device's largest buffer ({} MiB)", max >> 20)));
    }
    if super::fail::injected() == Some(Fault::Alloc) {
        // Injected rather than provoked: PoCL crashes on absurd sizes instead of refusing them.
        return Err(classify(-4, format!("{what} (injected fault)")));
    }
    // SAFETY: no host pointer; the buffer is written before any kernel reads it.
    check(unsafe { Buffer::<T>::create(&gpu.context, flags, count.max(1), std::ptr::null_mut::<c_void>()) }, &what)
}

/// The problem as the kernel sees it (after the optional transposition for a column-major C).
struct Plan<'x, T: Clone> {
    m: usize,
    n: usize,
    k: usize,
    a: &'x Operand<'x, T>,
    a_mfast: bool,
    b: &'x Operand<'x, T>,
    b_nfast: bool,
}

/// C = alpha op(A) op(B) + beta C on `gpu`. Shapes are validated by the caller (the CPU routine
/// shares the checks); `m, n, k > 0` and `alpha != 0` here.
#[allow(clippy::too_many_arguments)]
pub fn gemm<T: Scalar>(gpu: &Gpu, a: ArrayViewD<T>, b: ArrayViewD<T>, mut c: ArrayViewMutD<T>, alpha: T, beta: T,
                       trans_a: bool, trans_b: bool, choice: KernelChoice) -> Result<Run, ClFail> {
    let start = Instant::now();
    let (_, ar, ac) = split_shape(a.shape()).map_err(|e| classify(0, e.to_string()))?;
    let (_, m, n) = split_shape(c.shape()).map_err(|e| classify(0, e.to_string()))?;
    let k = if trans_a { ar } else { ac };
    if c.is_empty() || k == 0 || alpha == T::zero() {
        // Nothing for a kernel to do: C = beta C (BLAS: beta = 0 does not read C).
        crate::routines::gemm::gemm(a, b, c, alpha, beta, trans_a, trans_b).map_err(|e| classify(0, e.to_string()))?;
        return Ok(Run { kernel: "none".into(), total_ns: start.elapsed().as_nanos() as u64, ..Run::default() });
    }
    if choice == KernelChoice::Auto && m.max(n).max(k) <= super::gemm_small::MAX_DIM {
        // A tile of this kernel per product would waste nearly all of it: the small-product kernel.
        return super::gemm_small::gemm(gpu, a, b, c, alpha, beta, trans_a, trans_b, start);
    }
    let sa = stage(a)?;
    let sb = stage(b)?;
    // op(A)(i,p): with A stored row-major, i is the slow index unless transposed.
    let a_mfast = sa.col_major != trans_a;
    // op(B)(p,j): with B stored row-major, j is the fast index unless transposed.
    let b_nfast = sb.col_major == trans_b;

    let read_c = beta != T::zero();
    let count = c.len() / (m * n);
    // C as the kernel writes it: a row-major stack is written in place, a column-major one too
    // (as the transposed product); anything else goes through a row-major host copy.
    let c_layout = Mats::new(c.view()).ok().and_then(|cm| uniform(&cm)).filter(|&(_, _, stride)| count == 1 || stride == m * n);
    let transpose = c_layout.is_some_and(|(col_major, _, _)| col_major);
    let direct = c_layout.is_some();
    let plan = if transpose {
        Plan { m: n, n: m, k, a: &sb, a_mfast: b_nfast, b: &sa, b_nfast: a_mfast }
    } else {
        Plan { m, n, k, a: &sa, a_mfast, b: &sb, b_nfast }
    };
    let total = count * m * n;
    let mut staged: Option<Vec<T>> = None;
    if !direct {
        let mut buf = host_vec::<T>(total)?;
        if read_c {
            buf.iter_mut().zip(c.iter()).for_each(|(o, &v)| *o = v); // logical order
        }
        staged = Some(buf);
    }

    let info = &gpu.info;
    let double = T::DTYPE == "float64";
    let mut last = classify(0, "no kernel variant for this device");
    for v in variants(info, double, choice, plan.m, plan.n, plan.k, count) {
        match launch(gpu, &v, &plan, &mut c, staged.as_deref_mut(), read_c, count, alpha, beta, double) {
            Ok(mut run) => {
                if let Some(buf) = staged {
                    // Copy the finished result into the caller's C (any strides, logical order).
                    c.iter_mut().zip(buf).for_each(|(x, v)| *x = v);
                }
                run.total_ns = start.elapsed().as_nanos() as u64;
                return Ok(run);
            }
            Err(e) if e.kind == super::FailKind::Build && v.name != "portable-fma" && choice == KernelChoice::Auto => {
                log::warn!(target: "lapack_ai", "{} kernel unavailable on {} ({e}); using the portable kernel", v.name, info.name);
                last = e;
            }
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[allow(clippy::too_many_arguments)]
fn launch<T: Scalar>(gpu: &Gpu, v: &Variant, p: &Plan<T>, c: &mut ArrayViewMutD<T>, staged: Option<&mut [T]>,
                     read_c: bool, count: usize, alpha: T, beta: T, double: bool) -> Result<Run, ClFail> {
    let ops = Operands {
        a_mfast: p.a_mfast,
        b_nfast: p.b_nfast,
        ld_even: [p.a.ld, p.b.ld, p.a.stride, p.b.stride].iter().all(|x| x.is_multiple_of(2)),
        small: p.a.data.len().max(p.b.data.len()) <= i32::MAX as usize,
    };
    let sched = schedule(&gpu.info, v, p.m, p.n, p.k, count);
    let options = v.options(double, ops, &sched);
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), v.file, &options)?;

    let q = &gpu.queue;
    let size = std::mem::size_of::<T>() as u64;
    let mut run = Run { kernel: v.name.to_string(), ..Run::default() };
    let total = count * p.m * p.n;
    let work = sched.split.saturating_mul(sched.slices).saturating_mul(v.tile.0 * v.tile.1);
    let bytes = (p.a.data.len() as u64).saturating_add(p.b.data.len() as u64).saturating_add(total as u64)
        .saturating_add(work as u64).saturating_mul(size);
    if gpu.info.global_mem > 0 && bytes > gpu.info.global_mem {
        return Err(classify(-4, format!("{} MiB of operands do not fit the device's {} MiB", bytes >> 20, gpu.info.global_mem >> 20)));
    }
    let mut da = alloc::<T>(gpu, p.a.data.len(), CL_MEM_READ_ONLY)?;
    let mut db = alloc::<T>(gpu, p.b.data.len(), CL_MEM_READ_ONLY)?;
    let mut dc = alloc::<T>(gpu, total, CL_MEM_READ_WRITE)?;
    // From the first transfer on, every exit waits for the queue, so the host memory the
    // transfers read (the caller's arrays, staging copies) outlives them, and the CPU fallback
    // never writes C while a transfer still reads it.
    let _finish = Finish(q);
    staging::upload(gpu, &mut da, 0, &p.a.data, "copying a to the device")?;
    staging::upload(gpu, &mut db, 0, &p.b.data, "copying b to the device")?;
    run.bytes_to_device = (p.a.data.len() + p.b.data.len()) as u64 * size;
    // C's host memory: the caller's (direct) or the staging copy.
    let direct = staged.is_none();
    let host_c: &mut [T] = match staged {
        Some(s) => s,
        // SAFETY: direct means the C stack is one contiguous run of `total` elements.
        None => unsafe { std::slice::from_raw_parts_mut(c.as_mut_ptr(), total) },
    };
    if read_c {
        staging::upload(gpu, &mut dc, 0, host_c, "copying c to the device")?;
        run.bytes_to_device += total as u64 * size;
    }

    super::fail::launch_fault("gemm kernel")?;
    let args = Args { m: p.m, n: p.n, k: p.k, alpha, beta, read_c, a: &da, lda: p.a.ld, sa: p.a.stride,
                      b: &db, ldb: p.b.ld, sb: p.b.stride, c: &dc, ldc: p.n, sc: p.m * p.n, work: None };
    run.kernel_ns = enqueue(gpu, &program.0, v, &sched, &args)?;
    // Read into a scratch buffer unless a failure could not hurt C: with beta = 0 the CPU
    // fallback overwrites C without reading it.
    if direct && !read_c {
        staging::download(gpu, &dc, 0, host_c, "copying c from the device")?;
    } else {
        let mut tmp = host_vec::<T>(total)?;
        staging::download(gpu, &dc, 0, &mut tmp, "copying c from the device")?;
        host_c.copy_from_slice(&tmp);
    }
    run.bytes_from_device = total as u64 * size;
    Ok(run)
}

/// One product's operands on the device, as the kernels take them (leading dimensions and
/// strides between the matrices of a stack in elements).
struct Args<'b, T> {
    m: usize,
    n: usize,
    k: usize,
    alpha: T,
    beta: T,
    read_c: bool,
    a: &'b Buffer<T>,
    lda: usize,
    sa: usize,
    b: &'b Buffer<T>,
    ldb: usize,
    sb: usize,
    c: &'b Buffer<T>,
    ldc: usize,
    sc: usize,
    /// A caller's workspace for split tiles (buffer, elements), reused across calls; else
    /// `enqueue` allocates one per launch.
    work: Option<(&'b Buffer<T>, usize)>,
}

/// Launches `v` over the tiles as `sched` says, waits for the last launch and returns the
/// device time from the first start to the last end.
fn enqueue<T: Scalar>(gpu: &Gpu, program: &opencl3::program::Program, v: &Variant, sched: &Schedule, x: &Args<T>) -> Result<u64, ClFail> {
    let events = launches(gpu, program, v, sched, x)?;
    let (first, last) = (&events[0], &events[events.len() - 1]);
    check(last.wait(), "waiting for the gemm kernels")?;
    let t0 = check(first.profiling_command_start(), "reading the kernel's start time")?;
    let t1 = check(last.profiling_command_end(), "reading the kernel's end time")?;
    Ok(t1.saturating_sub(t0))
}

/// Enqueues `v` over the tiles as `sched` says (a grid of whole tiles; or whole tiles, split
/// tiles and gemm_reduce) and returns the launches' events, in order, without waiting. The
/// program was built for `sched` (`Variant::options`). A workspace allocated here is released
/// when it goes out of scope, which OpenCL defers until the launches that use it are done.
fn launches<T: Scalar>(gpu: &Gpu, program: &opencl3::program::Program, v: &Variant, sched: &Schedule, x: &Args<T>)
                       -> Result<Vec<opencl3::event::Event>, ClFail> {
    let (tm, tn) = v.tile;
    let groups = sched.whole + sched.split * sched.slices;
    if groups > i32::MAX as usize / v.per_group.0.max(tm * tn) {
        return Err(classify(-63, format!("{groups} tiles of {tm}x{tn} are too many for one launch")));
    }
    let kernel = check(Kernel::create(program, "gemm"), "creating the gemm kernel")?;
    // Split tiles' partial products; lives until the launches below have finished.
    let need = sched.split * sched.slices * tm * tn;
    let owned = match (sched.split, x.work) {
        (0, _) => None,
        (_, Some((_, len))) if len >= need => None,
        _ => Some(alloc::<T>(gpu, need, CL_MEM_READ_WRITE)?),
    };
    let work = if sched.split == 0 { None } else { owned.as_ref().or(x.work.map(|(b, _)| b)) };
    let int = |x: usize| x as cl_int;
    let long = |x: usize| x as cl_long;
    // SAFETY (every set_arg here): the types match the kernels' parameter lists in order.
    let operands = |e: &mut ExecuteKernel| unsafe {
        e.set_arg(&int(x.m)).set_arg(&int(x.n)).set_arg(&int(x.k))
            .set_arg(&x.alpha).set_arg(&x.beta).set_arg(&(x.read_c as cl_int))
            .set_arg(x.a).set_arg(&int(x.lda)).set_arg(&long(x.sa))
            .set_arg(x.b).set_arg(&int(x.ldb)).set_arg(&long(x.sb))
            .set_arg(x.c).set_arg(&int(x.ldc)).set_arg(&long(x.sc));
    };
    let mut events = Vec::with_capacity(3);
    if let Some(work) = work {
        // Groups for tiles [first, first + groups / slices), `slices` per tile.
        let mut gemm = |first: usize, groups: usize, slices: usize| {
            let mut e = ExecuteKernel::new(&kernel);
            operands(&mut e);
            unsafe { e.set_arg(&int(sched.tiles_m)).set_arg(&int(sched.tiles_n)).set_arg(&int(first)).set_arg(&int(slices)).set_arg(work) };
            e.set_global_work_sizes(&[groups * v.per_group.0, v.per_group.1, 1]).set_local_work_sizes(&v.local);
            check(unsafe { e.enqueue_nd_range(&gpu.queue) }, "launching the gemm kernel").map(|ev| events.push(ev))
        };
        if sched.whole > 0 {
            gemm(0, sched.whole, 1)?;
        }
        gemm(sched.whole, sched.split * sched.slices, sched.slices)?;
        let reduce = check(Kernel::create(program, "gemm_reduce"), "creating the gemm_reduce kernel")?;
        events.push(unsafe {
            check(ExecuteKernel::new(&reduce)
                .set_arg(&int(x.m)).set_arg(&int(x.n)).set_arg(&x.alpha).set_arg(&x.beta).set_arg(&(x.read_c as cl_int))
                .set_arg(x.c).set_arg(&int(x.ldc)).set_arg(&long(x.sc))
                .set_arg(&int(sched.tiles_m)).set_arg(&int(sched.tiles_n)).set_arg(&int(sched.whole)).set_arg(&int(sched.slices))
                .set_arg(work)
                .set_global_work_sizes(&[tm * tn, sched.split, 1])
                .enqueue_nd_range(&gpu.queue), "launching the gemm_reduce kernel")?
        });
    } else {
        // The grid of tiles: columns, rows, matrices of the stack.
        let count = sched.whole / (sched.tiles_m * sched.tiles_n).max(1);
        let mut e = ExecuteKernel::new(&kernel);
        operands(&mut e);
        e.set_global_work_sizes(&[sched.tiles_n * v.per_group.0, sched.tiles_m * v.per_group.1, count])
            .set_local_work_sizes(&v.local);
        events.push(check(unsafe { e.enqueue_nd_range(&gpu.queue) }, "launching the gemm kernel")?);
    }
    Ok(events)
}

/// An operand already on the device, for other routines' passes (svd_tall): its buffer (the
/// matrix from element 0), whether its first index is the contiguous one (A: m, B: n), and
/// its leading dimension.
pub(super) struct OnDevice<'b, T> {
    pub buf: &'b Buffer<T>,
    pub fast: bool,
    pub ld: usize,
}

/// C = alpha A B on the FP64 tensor cores, every operand on the device: A m x k, B k x n, C
/// m x n row-major (overwritten). Returns the launches' events without waiting (the caller
/// times them; reading C or reusing `work` in a later launch is safe on the runtime's in-order
/// queue). For float64 on devices where `tensor_core_eligible`; anywhere else a build failure,
/// which the caller answers with its own kernels.
pub(super) fn tensor_core_on_device<T: Scalar>(gpu: &Gpu, (m, n, k): (usize, usize, usize), a: OnDevice<T>, b: OnDevice<T>,
                                               c: &Buffer<T>, alpha: T, work: Option<(&Buffer<T>, usize)>)
                                               -> Result<Vec<opencl3::event::Event>, ClFail> {
    if T::DTYPE != "float64" || !tensor_core_eligible(&gpu.info) {
        return Err(classify(-11, format!("no tensor-core kernel for {} on this device", T::DTYPE)));
    }
    let v = tensor_core(&gpu.info, m, n, 1);
    let ops = Operands { a_mfast: a.fast, b_nfast: b.fast, ld_even: a.ld.is_multiple_of(2) && b.ld.is_multiple_of(2),
                         small: (m * k).max(k * n).max(m * n) <= i32::MAX as usize };
    let sched = schedule(&gpu.info, &v, m, n, k, 1);
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), v.file, &v.options(true, ops, &sched))?;
    let args = Args { m, n, k, alpha, beta: T::zero(), read_c: false, a: a.buf, lda: a.ld, sa: 0, b: b.buf, ldb: b.ld, sb: 0,
                      c, ldc: n, sc: m * n, work };
    launches(gpu, &program.0, &v, &sched, &args)
}

/// Elements of split-tile workspace `tensor_core_on_device` needs for an m x n x k product (0:
/// none), so that a caller of many can hold one (an allocation per product costs more than a
/// small product's kernels).
pub(super) fn tensor_core_workspace(info: &DeviceInfo, (m, n, k): (usize, usize, usize)) -> usize {
    let v = tensor_core(info, m, n, 1);
    let sched = schedule(info, &v, m, n, k, 1);
    sched.split * sched.slices * v.tile.0 * v.tile.1
}

/// Kernel-only timing for benchmarks: random m x k and k x n operands (row-major) uploaded
/// once, `reps` launches, each launch's device time in ns. Also returns the variant used.
pub fn bench<T: Scalar>(gpu: &Gpu, m: usize, n: usize, k: usize, reps: usize, choice: KernelChoice) -> Result<(String, Vec<u64>), ClFail> {
    let double = T::DTYPE == "float64";
    let v = variants(&gpu.info, double, choice, m, n, k, 1).into_iter().next()
        .ok_or_else(|| classify(0, "this device has no such kernel"))?;
    let ops = Operands { a_mfast: false, b_nfast: true, ld_even: k.is_multiple_of(2) && n.is_multiple_of(2),
                         small: (m * k).max(k * n) <= i32::MAX as usize };
    let sched = schedule(&gpu.info, &v, m, n, k, 1);
    let options = v.options(double, ops, &sched);
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), v.file, &options)?;
    let mut seed = 0x9E3779B97F4A7C15u64;
    let mut rand = |len: usize| -> Vec<T> {
        (0..len).map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            T::from((seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5).unwrap()
        }).collect()
    };
    let (ha, hb) = (rand(m * k), rand(k * n));
    let q = &gpu.queue;
    let mut da = alloc::<T>(gpu, m * k, CL_MEM_READ_ONLY)?;
    let mut db = alloc::<T>(gpu, k * n, CL_MEM_READ_ONLY)?;
    let dc = alloc::<T>(gpu, m * n, CL_MEM_READ_WRITE)?;
    let _finish = Finish(q); // every exit waits for what was enqueued
    unsafe {
        check(q.enqueue_write_buffer(&mut da, CL_BLOCKING, 0, &ha, &[]), "upload")?;
        check(q.enqueue_write_buffer(&mut db, CL_BLOCKING, 0, &hb, &[]), "upload")?;
    }
    let args = Args { m, n, k, alpha: T::one(), beta: T::zero(), read_c: false, a: &da, lda: k, sa: 0,
                      b: &db, ldb: n, sb: 0, c: &dc, ldc: n, sc: 0, work: None };
    let times = (0..reps).map(|_| enqueue(gpu, &program.0, &v, &sched, &args)).collect::<Result<Vec<u64>, ClFail>>()?;
    Ok((v.name.to_string(), times))
}

/// C_i = alpha A_i B_i + beta C_i for `count` row-major products stored back to back in
/// device buffers (A_i m x k, B_i k x n, C_i m x n): the device-resident stacked GEMM under
/// gemm_alpha's block products. Returns the variant that ran and its device time.
#[allow(clippy::too_many_arguments)]
pub(super) fn stacked_on_device<T: Scalar>(gpu: &Gpu, a: &Buffer<T>, b: &Buffer<T>, c: &Buffer<T>, (m, n, k): (usize, usize, usize),
                                           count: usize, alpha: T, beta: T) -> Result<(String, u64), ClFail> {
    let double = T::DTYPE == "float64";
    let ops = Operands { a_mfast: false, b_nfast: true, ld_even: k.is_multiple_of(2) && n.is_multiple_of(2),
                         small: (count * m * k).max(count * k * n).max(count * m * n) <= i32::MAX as usize };
    let args = Args { m, n, k, alpha, beta, read_c: beta != T::zero(), a, lda: k, sa: m * k, b, ldb: n, sb: k * n,
                      c, ldc: n, sc: m * n, work: None };
    let mut last = classify(0, "no kernel variant for this device");
    for v in variants(&gpu.info, double, KernelChoice::Auto, m, n, k, count) {
        let sched = schedule(&gpu.info, &v, m, n, k, count);
        let built = gpu.programs.file(&gpu.context, gpu.device.id(), v.file, &v.options(double, ops, &sched));
        match built.and_then(|p| enqueue(gpu, &p.0, &v, &sched, &args)) {
            Ok(ns) => return Ok((v.name.to_string(), ns)),
            Err(e) if e.kind == super::FailKind::Build && v.name != "portable-fma" => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h100_like() -> DeviceInfo {
        DeviceInfo { global_mem: 80 << 30, max_alloc: 20 << 30, ..DeviceInfo::hopper(1024, 48 << 10) }
    }

    /// The float64 tiles that lie inside the matrices (INSIDE) are chosen only for shapes that
    /// allow them; 192x128 only where it takes 2% less time (waves x area) than 128x128.
    #[test]
    fn float64_portable_tile_by_shape() {
        let info = h100_like();
        let inside = |m, n, k| portable(&info, true, m, n, k, 1).defines.contains("-DINSIDE=1");
        let tile = |m, n, k| portable(&info, true, m, n, k, 1).tile;
        // 4096 tiles of 128x128: 31 waves and 4 tiles split 32 ways; 2752 of 192x128: 21 waves x 1.5
        assert_eq!(tile(8192, 8192, 8192), (128, 128));
        assert_eq!(tile(1501, 1499, 67), (192, 128)); // K too short to split: 1 wave x 1.5 against 2
        assert_eq!(tile(4096, 4096, 4096), (128, 128)); // 5 1/3 waves x 1.5 against 8
        assert!(inside(8192, 8192, 8192) && inside(4096, 4096, 4096) && inside(128, 128, 8));
        assert_eq!(tile(191, 8192, 8192), (128, 128));
        assert!(!inside(127, 8192, 8192) && !inside(8192, 127, 8192) && !inside(8192, 8192, 7));
        assert!(portable(&info, false, 8192, 8192, 8192, 1).defines.contains("-DVEC=4")); // float32 unchanged
    }

    /// Only a last, partly filled wave is split, into slices of at least MIN_SLICE_KTILES
    /// K-tiles that together take no more groups than run at once.
    #[test]
    fn split_only_the_last_wave() {
        assert_eq!(split_tail(4096, 132, 1024), (4, 32)); // 33 slices would be shorter than 32 K-tiles
        assert_eq!(split_tail(64, 132, 128), (64, 2)); // less than one wave
        assert_eq!(split_tail(2752, 132, 1024), (0, 1)); // 112 of 132: no twofold gain
        assert_eq!(split_tail(64, 132, 63), (0, 1)); // K too short
        assert_eq!(split_tail(264, 132, 1024), (0, 1)); // full waves
        assert_eq!(split_tail(5, 0, 1024), (0, 1)); // no slots known
        for tiles in 1..300 {
            for slots in 1..40 {
                for ktiles in [0, 31, 64, 100, 1000] {
                    let (split, slices) = split_tail(tiles, slots, ktiles);
                    assert!(split <= tiles);
                    if split > 0 {
                        assert_eq!((tiles - split) % slots, 0);
                        assert!(split * slices <= slots && slices >= 2 && slices * MIN_SLICE_KTILES <= ktiles);
                    } else {
                        assert_eq!(slices, 1);
                    }
                }
            }
        }
        let info = h100_like();
        let f64_8192 = portable(&info, true, 8192, 8192, 8192, 1);
        assert_eq!(schedule(&info, &f64_8192, 8192, 8192, 8192, 1),
                   Schedule { tiles_m: 64, tiles_n: 64, whole: 4092, split: 4, slices: 32 });
        let f32_8192 = portable(&info, false, 8192, 8192, 8192, 1);
        assert_eq!(schedule(&info, &f32_8192, 8192, 8192, 8192, 1).split, 0); // 68 tiles of 132: no twofold gain
        let f32_1024 = portable(&info, false, 1024, 1024, 1024, 1);
        assert_eq!(schedule(&info, &f32_1024, 1024, 1024, 1024, 1),
                   Schedule { tiles_m: 8, tiles_n: 8, whole: 0, split: 64, slices: 2 });
        let tc_1536 = tensor_core(&info, 1536, 1536, 1);
        assert_eq!(schedule(&info, &tc_1536, 1536, 1536, 1536, 1),
                   Schedule { tiles_m: 12, tiles_n: 12, whole: 132, split: 12, slices: 6 });
    }

    /// float32 and the tensor cores take their large tile once it fills 2/3 of a wave: the
    /// measured best of the two tiles at each n of the ladder in docs/benchmarks.md.
    #[test]
    fn large_tiles_from_two_thirds_of_a_wave() {
        let info = h100_like();
        let (large, small) = ((128, 256), (128, 128));
        for (n, f32_tile) in [(768, small), (1024, small), (1280, small), (1536, small), (2048, large), (2560, large),
                              (3072, large), (4096, large), (5120, large), (6144, large), (8192, large)] {
            assert_eq!(portable(&info, false, n, n, n, 1).tile, f32_tile, "float32 n = {n}");
        }
        let (large, small) = ((128, 128), (64, 128));
        for (n, tc_tile) in [(768, small), (1024, small), (1280, large), (1536, large), (2048, large), (2560, large),
                             (3072, large), (4096, large), (5120, large), (6144, large), (8192, large)] {
            assert_eq!(tensor_core(&info, n, n, 1).tile, tc_tile, "tensor cores n = {n}");
        }
    }
}
