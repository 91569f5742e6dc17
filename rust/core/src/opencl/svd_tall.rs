//! Tall-skinny SVDs on an OpenCL device (kernels/svd_tall.cl): m >= `MIN_RATIO` n, n up to
//! `MAX_N`; a wide matrix is decomposed as its transpose. CholeskyQR (Yamamoto et al., ETNA
//! 2015) on the device, the small factors on the host:
//!
//! 1. G = X^T X (the one pass over the caller's matrix that is only read), R1 = chol(G).
//!    When that Cholesky breaks down, chol(G + s I) with Fukaya et al.'s shift (shifted
//!    CholeskyQR3, SISC 2020), which handles cond(X) up to about 1/eps.
//! 2. Q_{k+1} = Q_k R_{k+1}^{-1} and G = Q_{k+1}^T Q_{k+1}, R_{k+2} = chol(G), until G is within
//!    1/2 of the identity: Q_{k+1} is then well conditioned and one more factor makes it
//!    orthogonal to working precision (CholeskyQR2: two passes for cond(X) < eps^(-1/2)).
//! 3. R = R_last ... R_1 = U_R S V^T by LAPACK's gesdd on the host (n x n), and
//!    U = Q_k (R_last^{-1} U_R) in the last pass.
//!
//! A well-conditioned X (cond(X) <= 2) takes a shortcut instead (`Passes::by_eigh`): G's
//! eigendecomposition on the host, U = X V S^{-1} in one product, kept when U^H U is within 16 n
//! ulp of the identity; otherwise the passes go on from G.
//!
//! Complex matrices take the same passes with G = X^H X (Hermitian); the host's factors are
//! LAPACK's complex ones.
//!
//! Every pass streams the m x n matrix once or twice: the device's memory speed, with the host
//! round trips of n x n matrices between passes. A Gram matrix that overflows or underflows
//! sends the matrix through again with a power-of-two scale (exact); NaN and Inf become the
//! errors the CPU routine gives. A rank-deficient matrix has no orthonormal Q = X R^{-1}: its
//! Cholesky factors break down even with the shift, and the call is declined (`Tall::Declined`)
//! for the CPU's gesdd, as is one whose passes do not converge.

use std::time::Instant;

use ndarray::{ArrayD, ArrayViewD, IxDyn};
use num_traits::{Float, One, ToPrimitive, Zero};
use opencl3::kernel::{ExecuteKernel, Kernel};
use opencl3::memory::{Buffer, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::program::Program;
use opencl3::types::{cl_int, cl_long, CL_BLOCKING, CL_NON_BLOCKING};

use super::fail::{check, classify, ClFail};
use super::staging;
use super::gemm::{alloc, host_vec, stage, Finish, OnDevice, Run};
use super::gemm_small::device_ns;
use super::runtime::{DeviceInfo, Gpu};
use crate::error::CoreError;
use crate::lapack::{gesdd, lansy, pocon, potrf, syevd, trtrs, FMat, Work};
use crate::layout::Mats;
use crate::routines::svd::{Svd, Vectors};
use crate::Scalar;

/// The narrow side's largest size: its n x n factors are decomposed on the host.
pub const MAX_N: usize = 512;
/// The long side is at least this many times the narrow one (else the host's n x n SVD is
/// most of the work, and LAPACK's own SVD is as fast).
pub const MIN_RATIO: usize = 4;
/// Cholesky passes before a matrix is declined: CholeskyQR2 takes 2, shifted CholeskyQR3 3,
/// rank-deficient input a few more shifted ones.
const MAX_PASSES: usize = 6;
/// Up to this n the host's factors run on one OpenBLAS thread.
const SINGLE_THREAD_N: usize = 128;

/// Whether the tall-skinny route takes an m x n matrix (either orientation); stacks of
/// matrices up to `svd_small::MAX_DIM` go to the small-SVD kernel instead.
pub fn covers(m: usize, n: usize) -> bool {
    let (lo, hi) = (m.min(n), m.max(n));
    (1..=MAX_N).contains(&lo) && hi > super::svd_small::MAX_DIM && hi >= MIN_RATIO.saturating_mul(lo)
}

/// What the device made of a stack.
#[allow(clippy::large_enum_variant)] // one per call, moved once
pub enum Tall<T: Scalar> {
    Done(Svd<T>),
    /// NaN or Inf, or the like: the error the CPU routine gives.
    Refused(CoreError),
    /// CholeskyQR cannot orthogonalize matrix `batch` (rank-deficient, or too ill-conditioned);
    /// the CPU decomposes the stack.
    Declined(String),
}

/// The kernels' launch shape for n columns: (tile edge TS, a work-item's PB x PB block of
/// entries); work-items per group (TS/PB)^2 for the Gram, (TS/PB) (64/PB) for the product.
/// LAPACK_AI_SVD_TALL_PB overrides PB (a sweep's knob).
pub fn tile(n: usize) -> (usize, usize) {
    // Swept on an H200 (docs/benchmarks.md): 4x4 blocks from 17 columns on, 2x2 below.
    let (ts, pb) = match n {
        0..=16 => (16, 2),
        17..=32 => (32, 4),
        _ => (64, 4),
    };
    let knob = std::env::var("LAPACK_AI_SVD_TALL_PB").ok().and_then(|v| v.trim().parse::<usize>().ok());
    (ts, knob.filter(|&p| [1, 2, 4, 8].contains(&p) && p <= ts / 2).unwrap_or(pb))
}

/// Row chunks of the Gram pass: (chunks, rows per chunk). Enough work-groups to fill the
/// device (`per_unit` per compute unit, LAPACK_AI_SVD_TALL_GROUPS), each summing at least
/// 256 rows so that the partial sums stay a small fraction of the traffic.
pub fn chunks(info: &DeviceInfo, m: usize, n: usize) -> (usize, usize) {
    let per_unit = std::env::var("LAPACK_AI_SVD_TALL_GROUPS").ok().and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&x| x > 0).unwrap_or(4);
    let tiles = n.div_ceil(tile(n).0);
    let active = tiles * (tiles + 1) / 2;
    let target = (per_unit * info.compute_units.max(1) as usize).div_ceil(active).max(1);
    let rows = m.div_ceil(target).max(256).next_multiple_of(16);
    (m.div_ceil(rows), rows)
}

/// The kernels' build options for data T accumulated in A.
fn options<T: Scalar, A: Scalar>(ts: usize, pb: usize) -> String {
    let double = |d: &str| matches!(d, "float64" | "complex128");
    let acc = !double(T::DTYPE) && double(A::DTYPE);
    format!("-DREAL_DOUBLE={} -DCOMPLEX={} -DACC_DOUBLE={} -DTS={ts} -DPB={pb}", double(T::DTYPE) as u8, T::COMPLEX as u8, acc as u8)
}

/// The routine named in errors and metrics: x + "gesvd_cholqr".
pub fn routine<T: Scalar>() -> String {
    format!("{}gesvd_cholqr", T::PREFIX)
}

/// The kernel's name in runs, metrics and benchmarks, with the caller's m x n.
fn name(m: usize, n: usize) -> String {
    format!("svd-cholqr-{m}x{n}")
}

/// The device side of one call: the program, its buffers, and the time spent in kernels. X
/// and the Q's are T; the Gram matrices, the factors and every sum are A (T, or T::Wide where
/// single-precision data is accumulated in double: `wide`).
struct Passes<'g, T: Scalar, A: Scalar> {
    gpu: &'g Gpu,
    program: &'g Program,
    /// The kernels' problem: m x n, m >= n.
    m: usize,
    n: usize,
    chunks: usize,
    rows: usize,
    ts: usize,
    /// Work-items across a tile, and down a product's 64 rows.
    wi: usize,
    hi: usize,
    q: [Buffer<T>; 2],
    part: Buffer<A>,
    g: Buffer<A>,
    w: Buffer<A>,
    /// Host staging of W (written without blocking: the next blocking read drains the queue).
    hw: Vec<A>,
    /// Launches not yet added into `kernel_ns`.
    events: Vec<(opencl3::event::Event, &'static str)>,
    kernel_ns: u64,
    /// Time spent in the host's share (Cholesky, inverses, the n x n SVD), ns.
    host_ns: u64,
    /// float64 passes go to the tensor-core GEMM (`tensor_core`), with this split-tile
    /// workspace (elements) held for the whole call.
    tc: bool,
    ws: Option<(Buffer<A>, usize)>,
}

/// Whether float64 passes run on the FP64 tensor-core GEMM (kernels/gemm_dmma.cl) rather than
/// svd_tall.cl's FMA kernels: on NVIDIA devices that have it, unless LAPACK_AI_SVD_TALL_TC=0.
/// On an H100 (`svd_gpu.py tall`, column "fma", docs/benchmarks.md) its passes took 0.19 ms of
/// a 100000 x 64 SVD against 0.36, and the call 0.65 ms against 0.80; at 100000 x 16 the FMA
/// kernels were a little faster (0.24 against 0.28 ms).
/// Only unscaled passes over a matrix at the start of its buffer take it (the GEMM has no
/// offset, and a Gram matrix that needs scaling must be scaled before it is squared).
fn tensor_core<T: Scalar, A: Scalar>(gpu: &Gpu) -> bool {
    T::DTYPE == "float64" && A::DTYPE == "float64" && super::gemm::tensor_core_eligible(&gpu.info)
        && std::env::var("LAPACK_AI_SVD_TALL_TC").map_or(true, |v| v.trim() != "0")
}

/// The same buffer as `Buffer<T>`, for T = A (both float64: `tensor_core`).
fn same<T: Scalar, A: Scalar>(b: &Buffer<A>) -> &Buffer<T> {
    assert_eq!(T::DTYPE, A::DTYPE, "a buffer of {} read as {}", A::DTYPE, T::DTYPE);
    // SAFETY: T and A are the same type (checked above); Buffer's layout does not depend on it.
    unsafe { &*(b as *const Buffer<A> as *const Buffer<T>) }
}

/// Where a pass reads X: a buffer, the offset of the matrix in it, its layout.
#[derive(Clone, Copy)]
enum Src<'b, T> {
    Input(&'b Buffer<T>, usize, bool),
    /// q[i], column-major when the flag says so.
    Q(usize, bool),
}

/// What one matrix's passes leave: S and V^T of X (n and n x n row-major, on the host) and,
/// when U was asked for, which Q buffer holds it (m x n, laid out as asked).
struct Factored<T: Scalar> {
    s: Vec<T::Real>,
    vt: Vec<T>,
    u: Option<usize>,
}

impl<T: Scalar> Factored<T> {
    /// From S and V^T computed in A's precision on the matrix scaled by `scale`.
    fn from_wide<A: Scalar>(s: Vec<A::Real>, vt: Vec<A>, scale: A, u: Option<usize>) -> Self {
        Factored { s: unscaled_as::<A, T>(s, scale), vt: vt.into_iter().map(narrow::<A, T>).collect(), u }
    }
}

enum Outcome<T: Scalar> {
    Done(Factored<T>),
    /// 1: NaN, 2: Inf (as svd_small's info).
    NonFinite(i32),
    Declined(String),
}

impl<'g, T: Scalar, A: Scalar> Passes<'g, T, A> {
    fn new(gpu: &'g Gpu, program: &'g Program, m: usize, n: usize) -> Result<Self, ClFail> {
        let (chunks, rows) = chunks(&gpu.info, m, n);
        let (ts, pb) = tile(n);
        let group = (ts / pb) * (ts / pb).max(64 / pb);
        if gpu.info.max_work_group > 0 && group > gpu.info.max_work_group {
            // CL_INVALID_WORK_GROUP_SIZE before anything is enqueued: the CPU takes over.
            return Err(classify(-54, format!("the tall-skinny SVD's work-groups of {group} exceed the device's {}",
                                             gpu.info.max_work_group)));
        }
        let tc = tensor_core::<T, A>(gpu);
        // One split-K workspace for every tensor-core pass of the call: the Gram matrix, and
        // the products into a row- or column-major Q.
        let ws = if tc {
            let len = [(n, n, m), (m, n, n), (n, m, n)].into_iter()
                .map(|s| super::gemm::tensor_core_workspace(&gpu.info, s)).max().unwrap_or(0);
            Some((alloc::<A>(gpu, len, CL_MEM_READ_WRITE)?, len))
        } else {
            None
        };
        Ok(Passes {
            gpu, program, m, n, chunks, rows, ts, wi: ts / pb, hi: 64 / pb,
            q: [alloc::<T>(gpu, m * n, CL_MEM_READ_WRITE)?, alloc::<T>(gpu, m * n, CL_MEM_READ_WRITE)?],
            part: alloc::<A>(gpu, chunks * n * n, CL_MEM_READ_WRITE)?,
            g: alloc::<A>(gpu, n * n, CL_MEM_READ_WRITE)?,
            w: alloc::<A>(gpu, n * n, CL_MEM_READ_ONLY)?,
            hw: host_vec::<A>(n * n)?,
            events: Vec::new(),
            kernel_ns: 0,
            host_ns: 0,
            tc,
            ws,
        })
    }

    fn source<'s>(&'s self, x: Src<'s, T>) -> (&'s Buffer<T>, usize, bool) {
        match x {
            Src::Input(b, off, col) => (b, off, col),
            Src::Q(i, col) => (&self.q[i], 0, col),
        }
    }

    /// The outcome of a pass on the tensor-core GEMM (`tc`): its launches join `events` (timed
    /// at the next `settle`); a failure turns `tc` off, and the caller runs its own kernel
    /// instead (false).
    fn took(&mut self, what: &'static str, r: Result<Vec<opencl3::event::Event>, ClFail>, t: Instant) -> bool {
        match r {
            Ok(events) => {
                log::debug!(target: "lapack_ai", "svd_tall {}x{}: {what}: {:.1} us on the host to enqueue", self.m, self.n,
                            t.elapsed().as_secs_f64() * 1e6);
                self.events.extend(events.into_iter().map(|e| (e, what)));
                true
            }
            Err(e) => {
                log::debug!(target: "lapack_ai", "svd_tall {}x{}: the tensor-core {what} failed ({e}); svd_tall.cl's kernels go on", self.m, self.n);
                self.tc = false;
                false
            }
        }
    }

    /// G = (scale X)^T (scale X), read back (n x n, symmetric).
    fn gram(&mut self, x: Src<'_, T>, scale: A) -> Result<Vec<A>, ClFail> {
        let (m, n, tiles) = (self.m, self.n, self.n.div_ceil(self.ts));
        let mut done = false;
        if self.tc && self.source(x).1 == 0 && scale == A::one() {
            let (buf, _, col) = self.source(x);
            // X^T is m-fast where X is row-major; both read with X's leading dimension.
            let ld = if col { m } else { n };
            let ws = self.ws.as_ref().map(|(b, len)| (same::<T, A>(b), *len));
            let t = Instant::now();
            let r = super::gemm::tensor_core_on_device(self.gpu, (n, n, m), OnDevice { buf, fast: !col, ld }, OnDevice { buf, fast: !col, ld },
                                                       same::<T, A>(&self.g), T::one(), ws);
            done = self.took("gram (tensor cores)", r, t);
        }
        if !done {
            let (buf, off, col) = self.source(x);
            let k = check(Kernel::create(self.program, "gram"), "creating the gram kernel")?;
            // SAFETY: the types match the kernel's parameter list in order.
            let e = check(unsafe {
                ExecuteKernel::new(&k).set_arg(&(m as cl_long)).set_arg(&(n as cl_int)).set_arg(&(col as cl_int))
                    .set_arg(&(off as cl_long)).set_arg(&(self.rows as cl_long)).set_arg(&scale.re()).set_arg(buf).set_arg(&self.part)
                    .set_global_work_sizes(&[tiles * self.wi, tiles * self.wi, self.chunks]).set_local_work_sizes(&[self.wi, self.wi, 1])
                    .enqueue_nd_range(&self.gpu.queue)
            }, "launching the gram kernel")?;
            self.events.push((e, "gram"));
            let k = check(Kernel::create(self.program, "gram_sum"), "creating the gram_sum kernel")?;
            let side = n.next_multiple_of(16);
            // SAFETY: as above.
            let e = check(unsafe {
                ExecuteKernel::new(&k).set_arg(&(n as cl_int)).set_arg(&(self.chunks as cl_int)).set_arg(&self.part).set_arg(&self.g)
                    .set_global_work_sizes(&[side, side]).enqueue_nd_range(&self.gpu.queue)
            }, "launching the gram_sum kernel")?;
            self.events.push((e, "gram_sum"));
        }
        let mut g = host_vec::<A>(n * n)?;
        // SAFETY: a blocking read into a host buffer of the buffer's length.
        unsafe { check(self.gpu.queue.enqueue_read_buffer(&self.g, CL_BLOCKING, 0, &mut g, &[]), "copying a Gram matrix from the device")? };
        self.settle()?;
        Ok(g)
    }

    /// Adds the device time of finished launches (waits for any still running).
    fn settle(&mut self) -> Result<(), ClFail> {
        for (e, what) in std::mem::take(&mut self.events) {
            let ns = device_ns(&e, what)?;
            log::debug!(target: "lapack_ai", "svd_tall {}x{}: {what} {:.1} us", self.m, self.n, ns as f64 / 1e3);
            self.kernel_ns += ns;
        }
        Ok(())
    }

    /// q[to] = (scale X) W (W n x n row-major, uploaded here); `col`: q[to] column-major.
    fn product(&mut self, x: Src<'_, T>, scale: A, w: &[A], to: usize, col: bool) -> Result<(), ClFail> {
        let (m, n) = (self.m, self.n);
        // Any earlier write of `hw` is done: a blocking read (or `settle`) came in between.
        self.settle()?;
        self.hw.copy_from_slice(w);
        // SAFETY: `hw` is not touched again before the queue is drained (the next blocking read,
        // `settle`, or the caller's `Finish`).
        unsafe { check(self.gpu.queue.enqueue_write_buffer(&mut self.w, CL_NON_BLOCKING, 0, &self.hw, &[]), "copying a factor to the device")? };
        if self.tc && self.source(x).1 == 0 && scale == A::one() {
            let (buf, _, xcol) = self.source(x);
            let (x_op, w_op) = (OnDevice { buf, fast: xcol, ld: if xcol { m } else { n } }, OnDevice { buf: same::<T, A>(&self.w), fast: true, ld: n });
            let y = &self.q[to];
            // Y row-major = X W; column-major, Y^T = W^T X^T row-major (W^T m-fast).
            let ws = self.ws.as_ref().map(|(b, len)| (same::<T, A>(b), *len));
            let t = Instant::now();
            let r = if col {
                super::gemm::tensor_core_on_device(self.gpu, (n, m, n), w_op, x_op, y, T::one(), ws)
            } else {
                super::gemm::tensor_core_on_device(self.gpu, (m, n, n), x_op, w_op, y, T::one(), ws)
            };
            if self.took("product (tensor cores)", r, t) {
                return Ok(());
            }
        }
        let (buf, off, xcol) = self.source(x);
        let k = check(Kernel::create(self.program, "product"), "creating the product kernel")?;
        // SAFETY: as in `gram`.
        let e = check(unsafe {
            ExecuteKernel::new(&k).set_arg(&(m as cl_long)).set_arg(&(n as cl_int)).set_arg(&(xcol as cl_int))
                .set_arg(&(off as cl_long)).set_arg(&(col as cl_int)).set_arg(&scale.re()).set_arg(buf).set_arg(&self.w).set_arg(&self.q[to])
                .set_global_work_sizes(&[m.div_ceil(64) * self.wi, n.div_ceil(self.ts) * self.hi]).set_local_work_sizes(&[self.wi, self.hi])
                .enqueue_nd_range(&self.gpu.queue)
        }, "launching the product kernel")?;
        self.events.push((e, "product"));
        Ok(())
    }

    /// One matrix X (m x n as the kernels see it). `scan`: on the host, the matrix's
    /// non-finite code (0, 1 NaN, 2 Inf) and its largest magnitude, asked only when the Gram
    /// matrix is not finite or underflows. `u_col`: U column-major.
    fn factor(&mut self, x: Src<'_, T>, scan: &dyn Fn() -> (i32, f64), want_u: bool, u_col: bool, work: &mut Work<A>)
              -> Result<Outcome<T>, ClFail> {
        let (m, n) = (self.m, self.n);
        let mut scale = A::one();
        let mut g = self.gram(x, scale)?;
        if !gram_usable(&g, n) {
            let (code, big) = scan();
            if code != 0 {
                return Ok(Outcome::NonFinite(code));
            }
            if big == 0.0 {
                return Ok(Outcome::Declined("it is zero".into()));
            }
            // A power of two near 1/max|x|: exact, and the squares stay in range. Itself in
            // range: subnormal input (max|x| < 2^-1022) is scaled by 2^(max exponent - 8).
            let top = A::Real::max_value().to_f64().unwrap_or(f64::MAX).log2().floor() as i32 - 8;
            // clamped as a float: no integer overflow for any magnitude
            let e = (big.log2().floor() + 1.0).clamp(-top as f64, top as f64) as i32;
            scale = A::from(2f64.powi(-e)).unwrap_or(A::one());
            g = self.gram(x, scale)?;
            if !gram_usable(&g, n) {
                return Ok(Outcome::Declined("its Gram matrix is out of range even scaled".into()));
            }
        }
        // OpenBLAS's threads cost more than they save on the host's small matrices.
        let _single = (n <= SINGLE_THREAD_N).then(crate::threads::single_blas);
        if let Some(done) = self.by_eigh(x, &g, scale, 0, want_u, u_col, work)? {
            return Ok(done);
        }
        let mut factors: Vec<Vec<A>> = Vec::new();
        let mut cur = x;
        let mut next = 0;
        // Q = X R^{-1} is formed with R's inverse: only from an R whose condition is at most
        // eps^(-3/8) (G's at most eps^(-3/4); 7e5 in float64, 400 in float32), eps that of the
        // Gram matrix and the sums (A). A worse one, or a Cholesky that breaks down, is
        // replaced by the factor of G + s I (Fukaya et al.'s shift), and the passes go on from
        // the better conditioned Q.
        let min_rcond = A::Real::epsilon().to_f64().unwrap_or(0.0).powf(0.75);
        for pass in 0..MAX_PASSES {
            let t = Instant::now();
            let off = off_identity(&g, n);
            let settled = pass > 0 && off <= 0.5;
            // A settled pass needs no condition estimate: its factor is the last one.
            let r = match cholesky(&g, n, !settled, work) {
                Some((r, rcond)) if settled || rcond >= min_rcond => r,
                _ => {
                    let shift = shift::<A>(&g, m, n);
                    let mut gs = g.clone();
                    (0..n).for_each(|i| gs[i * n + i] = gs[i * n + i] + shift);
                    match cholesky(&gs, n, false, work) {
                        Some((r, _)) => r,
                        None => return Ok(Outcome::Declined(format!("its Cholesky factor broke down even shifted (pass {})", pass + 1))),
                    }
                }
            };
            self.host_ns += t.elapsed().as_nanos() as u64;
            log::debug!(target: "lapack_ai", "svd_tall {m}x{n}: pass {}: |G - I| <= {off:.3e}, host Cholesky {:.1} us", pass + 1,
                        t.elapsed().as_secs_f64() * 1e6);
            if settled {
                factors.push(r);
                return self.finish(cur, &factors, scale, next, want_u, u_col, work);
            }
            if pass + 1 == MAX_PASSES {
                break;
            }
            // Q_{k+1} = Q_k R^{-1}, the first pass on the scaled X.
            let t = Instant::now();
            let Some(w) = inverse_upper(&r, n) else {
                return Ok(Outcome::Declined(format!("its Cholesky factor of pass {} is singular", pass + 1)));
            };
            factors.push(r);
            self.host_ns += t.elapsed().as_nanos() as u64;
            log::debug!(target: "lapack_ai", "svd_tall {m}x{n}: pass {}: host inverse {:.1} us", pass + 1, t.elapsed().as_secs_f64() * 1e6);
            self.product(cur, if pass == 0 { scale } else { A::one() }, &w, next, false)?;
            cur = Src::Q(next, false);
            next = 1 - next;
            g = self.gram(cur, A::one())?;
        }
        Ok(Outcome::Declined(format!("CholeskyQR did not settle in {MAX_PASSES} passes")))
    }

    /// R = R_last ... R_1 = U_R S V^T on the host (S then unscaled); U = Q_k (R_last^{-1} U_R)
    /// into q[to]. A host routine that fails (gesdd not converging) declines the matrix.
    #[allow(clippy::too_many_arguments)]
    fn finish(&mut self, cur: Src<'_, T>, factors: &[Vec<A>], scale: A, to: usize, want_u: bool, u_col: bool, work: &mut Work<A>)
              -> Result<Outcome<T>, ClFail> {
        let n = self.n;
        let t = Instant::now();
        let mut r = factors[0].clone();
        for f in &factors[1..] {
            r = product(f, &r, n);
        }
        let product_us = t.elapsed().as_secs_f64() * 1e6;
        let (s, vt, right) = match small_svd(r, n, work) {
            Ok(x) => x,
            Err(e) => return Ok(Outcome::Declined(format!("the host's SVD of its n x n factor failed: {e}"))),
        };
        let svd_us = t.elapsed().as_secs_f64() * 1e6 - product_us;
        let last = factors.last().expect("at least two factors");
        // R_last^{-1} U_R by R_last's inverse: R_last is from a settled pass (|G - I| <= 1/2,
        // so its condition is at most sqrt(3)), where the inverse is as accurate as a solve.
        let w = if want_u {
            match inverse_upper(last, n) {
                Some(inv) => Some(product(&inv, &right, n)),
                None => return Ok(Outcome::Declined("its last Cholesky factor is singular".into())),
            }
        } else {
            None
        };
        self.host_ns += t.elapsed().as_nanos() as u64;
        log::debug!(target: "lapack_ai", "svd_tall {}x{n}: host R product {product_us:.1} us, gesdd {svd_us:.1} us, solve {:.1} us", self.m,
                    t.elapsed().as_secs_f64() * 1e6 - product_us - svd_us);
        if let Some(w) = w {
            self.product(cur, A::one(), &w, to, u_col)?;
        }
        Ok(Outcome::Done(Factored::from_wide(s, vt, scale, want_u.then_some(to))))
    }

    /// The shortcut for a well-conditioned X: G = V Lambda V^H on the host (LAPACK's syevd)
    /// and, when lambda_max <= 4 lambda_min (cond(X) <= 2), U = X V Lambda^{-1/2} in one
    /// product, whose Gram matrix then says whether to keep it: U^H U within `shortcut_tol` of
    /// the identity makes X = U S V^H with S = Lambda^{1/2} X's SVD to LAPACK's accuracy (X's
    /// singular values are S's times factors in [sqrt(1 - d), sqrt(1 + d)], and the product
    /// rounds to eps cond(X) ||X||). It saves CholeskyQR's factors and the n x n SVD, most of
    /// the host's time. None: not taken (the passes go on from G; q[to] is free again).
    #[allow(clippy::too_many_arguments)]
    fn by_eigh(&mut self, x: Src<'_, T>, g: &[A], scale: A, to: usize, want_u: bool, u_col: bool, work: &mut Work<A>)
               -> Result<Option<Outcome<T>>, ClFail> {
        let (m, n) = (self.m, self.n);
        // lambda_max >= max G_ii and lambda_min <= min G_ii: graded columns fail without syevd.
        // (G is finite: `gram_usable`.)
        let diag = (0..n).map(|i| g[i * n + i].re().to_f64().unwrap_or(0.0));
        let (dlo, dhi) = diag.fold((f64::INFINITY, 0.0f64), |(lo, hi), d| (lo.min(d), hi.max(d)));
        if dhi > 4.0 * dlo {
            log::debug!(target: "lapack_ai", "svd_tall {m}x{n}: no shortcut (diagonal of G in [{dlo:.3e}, {dhi:.3e}])");
            return Ok(None);
        }
        let t = Instant::now();
        // G row-major read column-major is G^T = conj(G): its eigenvectors are conj(V), column-major.
        let mut z = g.to_vec();
        let mut lam = vec![A::Real::zero(); n];
        let ok = syevd(b'V', b'L', &mut FMat::new(&mut z, n, n), &mut lam, work).is_ok();
        let (lo, hi) = (lam[0].to_f64().unwrap_or(0.0), lam[n - 1].to_f64().unwrap_or(f64::INFINITY));
        self.host_ns += t.elapsed().as_nanos() as u64;
        if !(ok && lo > 0.0 && hi <= 4.0 * lo) {
            log::debug!(target: "lapack_ai", "svd_tall {m}x{n}: no shortcut (eigenvalues of G in [{lo:.3e}, {hi:.3e}])");
            return Ok(None);
        }
        // Descending: S_k = lambda_{n-1-k}^{1/2}; V^H's row k is conj(V)'s column n-1-k read
        // as is, and W = V S^{-1} (row-major) holds its conjugates scaled.
        let s: Vec<A::Real> = (0..n).map(|k| lam[n - 1 - k].sqrt()).collect();
        let vt: Vec<A> = (0..n).flat_map(|k| z[(n - 1 - k) * n..(n - k) * n].iter().copied()).collect();
        let mut w = vec![A::zero(); n * n];
        for i in 0..n {
            for k in 0..n {
                w[i * n + k] = vt[k * n + i].conj() * A::from_real(A::Real::one() / s[k]);
            }
        }
        let host_us = t.elapsed().as_secs_f64() * 1e6;
        self.product(x, scale, &w, to, u_col)?;
        let gu = self.gram(Src::Q(to, u_col), A::one())?;
        let off = off_identity(&gu, n);
        let kept = off <= shortcut_tol::<T>(n);
        log::debug!(target: "lapack_ai", "svd_tall {m}x{n}: host eigh of G {host_us:.1} us; |U^H U - I| <= {off:.3e}{}",
                    if kept { ", kept" } else { ", CholeskyQR instead" });
        Ok(kept.then(|| Outcome::Done(Factored::from_wide(s, vt, scale, want_u.then_some(to)))))
    }
}

/// The largest |U^H U - I| (`off_identity`'s bound on its 2-norm) at which `by_eigh`'s U is
/// kept, 16 n ulp: X's singular values are then off by at most 8 n ulp relative (LAPACK's test
/// allows 35 n ulp ||X||) and U orthonormal to within it. Knob (tests, comparisons):
/// LAPACK_AI_SVD_TALL_SHORTCUT_ULPS=k for k n ulp; 0 keeps none, so CholeskyQR always runs.
fn shortcut_tol<T: Scalar>(n: usize) -> f64 {
    let ulps = std::env::var("LAPACK_AI_SVD_TALL_SHORTCUT_ULPS").ok().and_then(|v| v.trim().parse::<f64>().ok()).unwrap_or(16.0);
    ulps.clamp(0.0, 16.0) * n as f64 * T::Real::epsilon().to_f64().unwrap_or(0.0)
}

/// S (computed in A's precision on a matrix scaled by `scale`) unscaled, in T's.
fn unscaled_as<A: Scalar, T: Scalar>(s: Vec<A::Real>, scale: A) -> Vec<T::Real> {
    unscaled(s, scale).into_iter().map(|v| <T::Real as num_traits::NumCast>::from(v).unwrap_or_else(T::Real::nan)).collect()
}

/// A's value in T (the same, or rounded from double).
fn narrow<A: Scalar, T: Scalar>(v: A) -> T {
    let (re, im) = parts(v);
    from_f64(re, im)
}

/// The real and imaginary parts in float64.
fn parts<T: Scalar>(v: T) -> (f64, f64) {
    (v.re().to_f64().unwrap_or(f64::NAN), v.im().to_f64().unwrap_or(f64::NAN))
}

/// T from float64 parts (a real T takes re: its im is zero here).
fn from_f64<T: Scalar>(re: f64, im: f64) -> T {
    T::from_parts(re, im).unwrap_or_else(|| T::from_parts(re, 0.0).unwrap_or_else(T::zero))
}

/// Whether T's passes accumulate in double on this device: single-precision data where the
/// device has fp64, unless LAPACK_AI_SVD_TALL_WIDE=0. The Gram matrix of float32 data is then
/// exact to double precision, and Q = X R^{-1} is formed in double and rounded once: one pass
/// leaves |Q^H Q - I| about eps_d cond(X)^2 and the next factor makes Q orthogonal to float32
/// precision, for cond up to about 1e7 (tests/test_svd_tall.py); with single accumulation
/// the limit is about 3e3, past which even the shifted passes fail at a million entries.
fn wide<T: Scalar>(gpu: &Gpu) -> bool {
    let single = matches!(T::DTYPE, "float32" | "complex64");
    single && gpu.info.fp64 && std::env::var("LAPACK_AI_SVD_TALL_WIDE").map_or(true, |v| v.trim() != "0")
}

/// Singular values of the scaled X, for X (a power of two: exact unless they underflow).
fn unscaled<T: Scalar>(mut s: Vec<T::Real>, scale: T) -> Vec<T::Real> {
    if scale != T::one() {
        s.iter_mut().for_each(|v| *v = *v / scale.re());
    }
    s
}

/// S, V^T and U_R (row-major) of an n x n R = U_R S V^T.
type SmallSvd<T> = (Vec<<T as Scalar>::Real>, Vec<T>, Vec<T>);

/// The SVD of the row-major n x n R by LAPACK's gesdd.
fn small_svd<T: Scalar>(mut r: Vec<T>, n: usize, work: &mut Work<T>) -> crate::error::Result<SmallSvd<T>> {
    // R row-major, read column-major, is R^T = conj(V) S U_R^T: gesdd's U is conj(V) and its
    // V^H is U_R^T (column-major), which read row-major are V^H and U_R.
    let mut s = vec![T::Real::zero(); n];
    let mut left = vec![T::zero(); n * n];
    let mut right = vec![T::zero(); n * n];
    {
        let mut fa = FMat::new(&mut r, n, n);
        let mut fl = FMat::new(&mut left, n, n);
        let mut fr = FMat::new(&mut right, n, n);
        gesdd(b'S', &mut fa, &mut s, Some(&mut fl), Some(&mut fr), work)?;
    }
    Ok((s, left, right))
}

/// Finite, with a largest diagonal entry (a squared column norm) far enough from underflow
/// that eps times it is still a normal number.
fn gram_usable<T: Scalar>(g: &[T], n: usize) -> bool {
    let mut big = 0.0f64;
    for i in 0..n {
        let d = g[i * n + i].re().to_f64().unwrap_or(f64::NAN);
        if !d.is_finite() {
            return false;
        }
        big = big.max(d);
    }
    let (tiny, eps) = (T::Real::min_positive_value().to_f64().unwrap(), T::Real::epsilon().to_f64().unwrap());
    g.iter().all(|v| !v.has_nan() && !v.has_inf()) && big >= tiny / (eps * eps)
}

/// max |G - I| (entrywise), in float64.
fn off_identity<T: Scalar>(g: &[T], n: usize) -> f64 {
    let mut worst = 0.0f64; // of the squared moduli (no hypot: this runs on every pass)
    for i in 0..n {
        for j in 0..n {
            let (re, im) = parts(g[i * n + j]);
            let re = re - if i == j { 1.0 } else { 0.0 };
            let sq = re * re + im * im;
            worst = if sq.is_nan() { f64::INFINITY } else { worst.max(sq) };
        }
    }
    // Frobenius bounds the 2-norm; the entrywise maximum times n bounds Frobenius.
    worst.sqrt() * n as f64
}

/// Fukaya et al.'s shift: 11 (m n + n (n + 1)) eps ||X||_2^2, with trace(G) >= ||X||_2^2.
fn shift<T: Scalar>(g: &[T], m: usize, n: usize) -> T {
    let trace: f64 = (0..n).map(|i| g[i * n + i].re().to_f64().unwrap_or(0.0)).sum();
    let eps = T::Real::epsilon().to_f64().unwrap();
    T::from(11.0 * ((m * n + n * (n + 1)) as f64) * eps * trace).unwrap_or(T::zero())
}

/// The upper Cholesky factor R (row-major, G = R^H R) of the row-major Hermitian G and, when
/// `rcond` asks, G's reciprocal condition number (LAPACK's pocon, 1-norm; else 1), or None
/// when it breaks down.
fn cholesky<T: Scalar>(g: &[T], n: usize, rcond: bool, work: &mut Work<T>) -> Option<(Vec<T>, f64)> {
    // G row-major read column-major is G^T = conj(G) = L L^H (potrf's 'L'); L read row-major is
    // L^T = R: R^H R = conj(L L^H) = G. The entries below R's diagonal still hold G's.
    let mut a = g.to_vec();
    let anorm = if rcond { lansy(b'1', b'L', &FMat::new(&mut a, n, n), work).ok()? } else { T::Real::one() };
    potrf(b'L', &mut FMat::new(&mut a, n, n)).ok()?;
    let rcond = if rcond { pocon(b'L', &FMat::new(&mut a, n, n), anorm, work).ok()?.to_f64()? } else { 1.0 };
    for i in 0..n {
        for j in 0..i {
            a[i * n + j] = T::zero(); // row-major (i, j), i > j: below R's diagonal
        }
    }
    a.iter().all(|v| !v.has_nan() && !v.has_inf()).then_some((a, rcond))
}

/// R^{-1} of a row-major upper triangular R, row-major: R's buffer read column-major is R^T,
/// lower triangular, and trtrs's (R^T)^{-1} = (R^{-1})^T written column-major is R^{-1}
/// row-major (no transposed copies).
fn inverse_upper<T: Scalar>(r: &[T], n: usize) -> Option<Vec<T>> {
    let mut x = vec![T::zero(); n * n];
    (0..n).for_each(|i| x[i * n + i] = T::one());
    let rt = ndarray::ArrayView2::from_shape(ndarray::ShapeBuilder::f((n, n)), r).ok()?;
    trtrs(b'L', b'N', b'N', &crate::lapack::FRef::of(&rt)?, &mut FMat::new(&mut x, n, n)).ok()?;
    Some(x)
}

/// A B for row-major n x n A and B, by BLAS (the host's factors are small: one thread).
fn product<T: Scalar>(a: &[T], b: &[T], n: usize) -> Vec<T> {
    let mut c = vec![T::zero(); n * n];
    let (av, bv) = (ndarray::ArrayView2::from_shape((n, n), a).expect("n x n"), ndarray::ArrayView2::from_shape((n, n), b).expect("n x n"));
    let cv = ndarray::ArrayViewMut2::from_shape((n, n), &mut c[..]).expect("n x n");
    // n x n operands: BLAS does not fail on them (a failure would leave NaN, which the
    // caller's results carry to its checks).
    if crate::routines::gemm::gemm1(av, bv, cv, T::one(), T::zero()).is_err() {
        c.iter_mut().for_each(|v| *v = from_f64(f64::NAN, 0.0));
    }
    c
}

/// SVD of every matrix of `a` (float32 or float64, `covers(m, n)`, U and V^T thin or absent:
/// the caller routes everything else to the CPU) on `gpu`. Err: the device failed (the caller
/// falls back to the CPU). Ok((Tall, run)) otherwise.
pub fn svd<T: Scalar>(gpu: &Gpu, a: ArrayViewD<T>, ju: Vectors, jvt: Vectors, check_finite: bool, start: Instant)
                      -> Result<(Tall<T>, Run), ClFail> {
    match wide::<T>(gpu) {
        true => svd_with::<T, T::Wide>(gpu, a, ju, jvt, check_finite, start),
        false => svd_with::<T, T>(gpu, a, ju, jvt, check_finite, start),
    }
}

/// `svd` with the Gram matrices, factors and sums in A.
fn svd_with<T: Scalar, A: Scalar>(gpu: &Gpu, a: ArrayViewD<T>, ju: Vectors, jvt: Vectors, check_finite: bool, start: Instant)
                                  -> Result<(Tall<T>, Run), ClFail> {
    let mats = Mats::new(a.clone()).map_err(|e| classify(0, e.to_string()))?;
    let (count, m, n) = (mats.count, mats.rows, mats.cols);
    if count == 0 || !covers(m, n) || ju == Vectors::Full || jvt == Vectors::Full {
        return Err(classify(0, format!("svd_tall: {count} x {m}x{n} {} is not for the tall-skinny kernels", T::DTYPE)));
    }
    let staged = stage(a)?;
    let t_staged = start.elapsed();
    // A wide matrix is decomposed as X = A^T: A^T = U' S V'^T gives U = V', V^T = U'^T.
    let trans = m < n;
    let (xm, xn) = if trans { (n, m) } else { (m, n) };
    let x_col = staged.col_major != trans;
    let (want_xu, want_xv) = if trans { (jvt != Vectors::None, ju != Vectors::None) } else { (ju != Vectors::None, jvt != Vectors::None) };
    let elem = std::mem::size_of::<T>() as u64;
    let (chunks, _) = chunks(&gpu.info, xm, xn);
    let wide_elem = std::mem::size_of::<A>() as u64;
    let bytes = (staged.data.len() as u64 + 2 * (xm * xn) as u64) * elem + (chunks * xn * xn + 2 * xn * xn) as u64 * wide_elem;
    if gpu.info.global_mem > 0 && bytes > gpu.info.global_mem {
        return Err(classify(-4, format!("{} MiB of input and work space do not fit the device's {} MiB", bytes >> 20,
                                        gpu.info.global_mem >> 20)));
    }
    let (ts, pb) = tile(xn);
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), "svd_tall.cl",
                                   &options::<T, A>(ts, pb))?;
    let mut run = Run { kernel: name(m, n), ..Run::default() };
    let mut da = alloc::<T>(gpu, staged.data.len(), CL_MEM_READ_ONLY)?;
    let mut passes = Passes::<T, A>::new(gpu, &program.0, xm, xn)?;
    let q = &gpu.queue;
    let _finish = Finish(q);
    let t_ready = start.elapsed();
    staging::upload(gpu, &mut da, 0, &staged.data, "copying a to the device")?;
    let t_up = start.elapsed();
    run.bytes_to_device = staged.data.len() as u64 * elem;
    super::fail::launch_fault("svd_tall kernels")?;
    let k = xn;
    let mut hu = host_vec::<T>(if want_xu { count * xm * xn } else { 0 })?;
    let (mut t_factor, mut t_down) = (std::time::Duration::ZERO, std::time::Duration::ZERO);
    let (mut hvt, mut hs) = (Vec::new(), Vec::with_capacity(count * k));
    let mut work = Work::<A>::default();
    for i in 0..count {
        let off = i * staged.stride;
        let data = &staged.data[off..off + xm * xn];
        let scan = || {
            let code = if data.iter().any(|v| v.has_inf()) { 2 } else if data.iter().any(|v| v.has_nan()) { 1 } else { 0 };
            // max(|re|, |im|): finite for finite parts, unlike a modulus in T
            let mag = |v: &T| v.re().to_f64().unwrap_or(0.0).abs().max(v.im().to_f64().unwrap_or(0.0).abs());
            (code, data.iter().map(mag).fold(0.0, f64::max))
        };
        let t = Instant::now();
        let factored = passes.factor(Src::Input(&da, off, x_col), &scan, want_xu, trans, &mut work)?;
        t_factor += t.elapsed();
        match factored {
            Outcome::NonFinite(code) => {
                // As the CPU routine: Inf is refused even with check_finite=False (refuse_inf).
                let always = code == 2 && !check_finite;
                return Ok((Tall::Refused(CoreError::NonFinite { arg: "a", batch: i, always }), finish(run, passes.kernel_ns, start)));
            }
            Outcome::Declined(why) => {
                let at = if count > 1 { format!("matrix {i} of the stack: ") } else { String::new() };
                return Ok((Tall::Declined(format!("{at}{why}")), finish(run, passes.kernel_ns, start)));
            }
            Outcome::Done(f) => {
                if let Some(b) = f.u {
                    let piece = &mut hu[i * xm * xn..(i + 1) * xm * xn];
                    let t = Instant::now();
                    staging::download(gpu, &passes.q[b], 0, piece, "copying u from the device")?;
                    t_down += t.elapsed();
                    run.bytes_from_device += piece.len() as u64 * elem;
                }
                if want_xv {
                    hvt.extend_from_slice(&f.vt);
                }
                hs.extend_from_slice(&f.s);
            }
        }
    }
    passes.settle()?;
    let run = finish(run, passes.kernel_ns, start);
    // where an end-to-end call spends its time (benchmarks read it with debug logging on)
    log::debug!(target: "lapack_ai", "svd_tall {m}x{n}: staged {:.2} ms, buffers and program ready {:.2} ms, uploaded {:.2} ms \
                after the call began; factors {:.2} ms, U downloaded in {:.2} ms; {:.2} ms in all", t_staged.as_secs_f64() * 1e3,
                t_ready.as_secs_f64() * 1e3, t_up.as_secs_f64() * 1e3, t_factor.as_secs_f64() * 1e3, t_down.as_secs_f64() * 1e3,
                run.total_ns as f64 / 1e6);
    let shaped = |data: Vec<T>, r: usize, c: usize| {
        let mut shape = mats.batch.clone();
        shape.extend([r, c]);
        ArrayD::from_shape_vec(IxDyn(&shape), data).expect("sized above")
    };
    // X's U (xm x k) and V^T (k x k); for a wide A, A's U is X's V (k x k: the transpose of
    // X's V^T) and A's V^T is X's U^T, which the last pass wrote column-major (= k x xm row-major).
    let (u, vt) = if trans {
        let u = (ju != Vectors::None).then(|| shaped(transposed(&hvt, count, k), k, k));
        (u, (jvt != Vectors::None).then(|| shaped(hu, k, xm)))
    } else {
        ((ju != Vectors::None).then(|| shaped(hu, xm, k)), (jvt != Vectors::None).then(|| shaped(hvt, k, k)))
    };
    let mut shape = mats.batch.clone();
    shape.push(k);
    let s = ArrayD::from_shape_vec(IxDyn(&shape), hs).expect("sized above");
    Ok((Tall::Done(Svd { u, s, vt }), run))
}

fn finish(mut run: Run, kernel_ns: u64, start: Instant) -> Run {
    run.kernel_ns = kernel_ns;
    run.total_ns = start.elapsed().as_nanos() as u64;
    run
}

/// Each k x k matrix of a stack transposed.
fn transposed<T: Scalar>(x: &[T], count: usize, k: usize) -> Vec<T> {
    let mut out = x.to_vec();
    for c in 0..count {
        for i in 0..k {
            for j in 0..k {
                out[c * k * k + j * k + i] = x[c * k * k + i * k + j];
            }
        }
    }
    out
}

/// Uniform random entries in [-0.5, 0.5), none repeated: gemm_small's cyclic fill repeats its
/// block every 2^16 entries, and a tall matrix of 256 distinct rows repeated is as ill
/// conditioned as a random 256 x 256 one (beyond CholeskyQR in float32, so declined).
fn random_rows<T: Scalar>(len: usize) -> Result<Vec<T>, ClFail> {
    let mut v = host_vec::<T>(len)?;
    let mut seed = 0x9E3779B97F4A7C15u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    v.iter_mut().for_each(|o| {
        let re = next();
        let im = if T::COMPLEX { next() } else { 0.0 };
        *o = from_f64(re, im);
    });
    Ok(v)
}

/// Kernel-side timing for benchmarks: a row-major random m x n matrix (m >= n, `covers`)
/// uploaded once, then `reps` decompositions from the matrix on the device to U (thin, when
/// `vectors`) on the device and S, V^T on the host, each rep's wall time in ns, host round
/// trips included, the part of it in kernels and the part in the host's factors; and the
/// kernel's name. `cond` > 1 scales column j by cond^(-j/(n-1)), so that the matrix's condition
/// is about `cond` (past 2 it takes CholeskyQR's passes, not the well-conditioned shortcut).
#[allow(clippy::type_complexity)]
pub fn bench_tall<T: Scalar>(gpu: &Gpu, m: usize, n: usize, reps: usize, vectors: bool, cond: f64)
                             -> Result<(String, Vec<u64>, Vec<u64>, Vec<u64>), ClFail> {
    match wide::<T>(gpu) {
        true => bench_with::<T, T::Wide>(gpu, m, n, reps, vectors, cond),
        false => bench_with::<T, T>(gpu, m, n, reps, vectors, cond),
    }
}

#[allow(clippy::type_complexity)]
fn bench_with<T: Scalar, A: Scalar>(gpu: &Gpu, m: usize, n: usize, reps: usize, vectors: bool, cond: f64)
                                    -> Result<(String, Vec<u64>, Vec<u64>, Vec<u64>), ClFail> {
    if m < n || !covers(m, n) {
        return Err(classify(-30, format!("bench_tall: {m}x{n} {}: need m >= {MIN_RATIO} n, n up to {MAX_N}", T::DTYPE)));
    }
    let (ts, pb) = tile(n);
    let program = gpu.programs.file(&gpu.context, gpu.device.id(), "svd_tall.cl",
                                   &options::<T, A>(ts, pb))?;
    let mut ha = random_rows::<T>(m * n)?;
    if cond > 1.0 && n > 1 {
        let d: Vec<T> = (0..n).map(|j| from_f64(cond.powf(-(j as f64) / (n - 1) as f64), 0.0)).collect();
        ha.chunks_mut(n).for_each(|row| row.iter_mut().zip(&d).for_each(|(x, &d)| *x = *x * d));
    }
    let mut da = alloc::<T>(gpu, ha.len(), CL_MEM_READ_ONLY)?;
    let mut passes = Passes::<T, A>::new(gpu, &program.0, m, n)?;
    let q = &gpu.queue;
    let _finish = Finish(q);
    // SAFETY: a blocking write from a host slice of the buffer's length.
    unsafe { check(q.enqueue_write_buffer(&mut da, CL_BLOCKING, 0, &ha, &[]), "upload")? };
    let mut work = Work::<A>::default();
    let scan = || (0, 1.0);
    let (mut times, mut kernel, mut host) = (Vec::with_capacity(reps), Vec::with_capacity(reps), Vec::with_capacity(reps));
    for _ in 0..reps {
        let t = Instant::now();
        (passes.kernel_ns, passes.host_ns) = (0, 0);
        match passes.factor(Src::Input(&da, 0, false), &scan, vectors, false, &mut work)? {
            Outcome::Done(_) => {}
            _ => return Err(classify(0, "bench_tall: the random matrix was not decomposed")),
        }
        check(q.finish(), "waiting for the queue")?;
        times.push(t.elapsed().as_nanos() as u64);
        passes.settle()?;
        kernel.push(passes.kernel_ns);
        host.push(passes.host_ns);
    }
    Ok((name(m, n), times, kernel, host))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_tall_and_wide_beyond_the_small_kernel() {
        assert!(covers(100_000, 64) && covers(64, 100_000) && covers(65, 1) && covers(2048, 512));
        assert!(!covers(64, 8) && !covers(4096, 4096) && !covers(2000, 513) && !covers(100, 26) && !covers(0, 40));
    }

    #[test]
    fn chunks_fill_the_device_and_cover_every_row() {
        let h = DeviceInfo::hopper(1024, 48 << 10);
        for (m, n) in [(100_000, 64), (33, 1), (1 << 24, 16), (4096, 512), (1000, 200)] {
            let (c, rows) = chunks(&h, m, n);
            assert!(c * rows >= m && (c - 1) * rows < m && rows % 16 == 0 && rows >= 256, "{m}x{n}: {c} x {rows}");
        }
        // 4 groups per unit: 528 wanted, 256 rows each at least.
        assert_eq!(chunks(&h, 100_000, 64), (391, 256));
        assert_eq!(chunks(&h, 1 << 24, 16), (528, 31776));
    }

    #[test]
    fn host_factors_invert_and_multiply() {
        let n = 5;
        let g: Vec<f64> = (0..n * n).map(|k| { let (i, j) = (k / n, k % n); if i == j { 4.0 + i as f64 } else { 1.0 / (1 + i + j) as f64 } }).collect();
        let mut work = Work::<f64>::default();
        let (r, rcond) = cholesky(&g, n, true, &mut work).unwrap();
        assert!(rcond > 0.1 && rcond <= 1.0, "{rcond}");
        // R^T R = G
        for i in 0..n {
            for j in 0..n {
                let s: f64 = (0..n).map(|k| r[k * n + i] * r[k * n + j]).sum();
                assert!((s - g[i * n + j]).abs() < 1e-13, "{i} {j}");
            }
        }
        let w = inverse_upper(&r, n).unwrap();
        let id = product(&r, &w, n);
        for i in 0..n {
            for j in 0..n {
                // 1e-13: OpenBLAS's trtrs rounds differently with the thread count, which
                // other tests running beside this one change
                let e = (id[i * n + j] - if i == j { 1.0 } else { 0.0 }).abs();
                assert!(e < 1e-13, "R R^-1 at ({i}, {j}) is off the identity by {e:e}");
            }
        }
        let mut bad = g.clone();
        bad[0] = -1.0;
        assert!(cholesky(&bad, n, true, &mut work).is_none() && cholesky(&bad, n, false, &mut work).is_none());
    }
}
