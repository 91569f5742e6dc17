//! The one place where a call is assigned to a backend.
//!
//! `decide` weighs the operation, shapes, dtype, the devices, their memory under the
//! `LAPACK_GPU_MEMORY_LIMIT` cap, the host's (cgroup) memory, and the measured or default
//! crossover size (for stacks of small products and small SVDs their count: `SMALL_GEMM_OP`,
//! `SMALL_SVD_OP`), and returns a
//! named strategy with its reasons in words. Routines without an OpenCL kernel always get the
//! CPU. The last decision of each thread is kept for `last()`.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::{Mutex, RwLock};

use crate::opencl::{self, DeviceInfo};

/// Where a call runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Cpu,
    /// OpenCL device by its index in `opencl::devices()`.
    OpenCl(usize),
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Cpu => "cpu",
            Backend::OpenCl(_) => "opencl",
        }
    }
}

/// A backend choice and why, in words a user can read.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub backend: Backend,
    /// "cpu", "opencl", or "cpu-fallback" (the device failed during the call).
    pub strategy: &'static str,
    pub reason: Cow<'static, str>,
    /// The OpenCL device considered or used, by name.
    pub device: Option<String>,
}

impl Decision {
    pub(crate) fn cpu(reason: impl Into<Cow<'static, str>>) -> Self {
        Decision { backend: Backend::Cpu, strategy: "cpu", reason: reason.into(), device: None }
    }
    /// A tiny product, computed inline on the CPU (no device could win at this size).
    pub fn small() -> Self {
        Decision::cpu(Cow::Borrowed("cpu: tiny product, computed inline"))
    }
    pub fn fallback(device: Option<String>, reason: impl Into<Cow<'static, str>>) -> Self {
        Decision { backend: Backend::Cpu, strategy: "cpu-fallback", reason: reason.into(), device }
    }
}

/// What the caller asked for: `device="auto" | "cpu" | "opencl" | "opencl:<index or name>"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    Auto,
    Cpu,
    /// Forced OpenCL; None picks the best device.
    OpenCl(Option<String>),
}

impl std::fmt::Display for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Request::Auto => f.write_str("auto"),
            Request::Cpu => f.write_str("cpu"),
            Request::OpenCl(None) => f.write_str("opencl"),
            Request::OpenCl(Some(sel)) => write!(f, "opencl:{sel}"),
        }
    }
}

pub fn parse_request(s: &str) -> Result<Request, String> {
    let t = s.trim().to_ascii_lowercase();
    match t.as_str() {
        "" | "auto" => Ok(Request::Auto),
        "cpu" => Ok(Request::Cpu),
        "opencl" | "gpu" => Ok(Request::OpenCl(None)),
        _ => match t.strip_prefix("opencl:") {
            Some(sel) if !sel.is_empty() => Ok(Request::OpenCl(Some(sel.to_string()))),
            _ => Err(format!("device must be 'auto', 'cpu', 'opencl' or 'opencl:<index or name>', got {s:?}")),
        },
    }
}

/// Process settings from the environment (read once; `reload` re-reads them).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `LAPACK_AI_DEVICE`: the default request.
    pub device: Request,
    /// `LAPACK_GPU_ENABLED` (default true).
    pub gpu_enabled: bool,
    /// `LAPACK_GPU_MEMORY_LIMIT`: percent of a device's free memory one call may use (default 90).
    pub memory_limit_pct: f64,
}

fn env_settings() -> Result<Settings, String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let device = match var("LAPACK_AI_DEVICE") {
        Some(v) => parse_request(&v).map_err(|e| format!("LAPACK_AI_DEVICE={v:?}: {e}"))?,
        None => Request::Auto,
    };
    let gpu_enabled = match var("LAPACK_GPU_ENABLED").map(|v| v.trim().to_ascii_lowercase()) {
        None => true,
        Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => true,
        Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => false,
        Some(v) => return Err(format!("LAPACK_GPU_ENABLED={v:?}: expected true/false (or 1/0, yes/no, on/off)")),
    };
    let memory_limit_pct = match var("LAPACK_GPU_MEMORY_LIMIT") {
        None => 90.0,
        Some(v) => match v.trim().trim_end_matches('%').parse::<f64>() {
            Ok(p) if p > 0.0 && p <= 100.0 => p,
            _ => return Err(format!("LAPACK_GPU_MEMORY_LIMIT={v:?}: expected a percentage in (0, 100]")),
        },
    };
    Ok(Settings { device, gpu_enabled, memory_limit_pct })
}

static SETTINGS: RwLock<Option<Result<Settings, String>>> = RwLock::new(None);

/// The current settings, or the message naming the bad variable.
pub fn settings() -> Result<Settings, String> {
    if let Some(s) = SETTINGS.read().unwrap().as_ref() {
        return s.clone();
    }
    reload()
}

/// Re-read the environment.
pub fn reload() -> Result<Settings, String> {
    let s = env_settings();
    *SETTINGS.write().unwrap() = Some(s.clone());
    s
}

// ---- crossovers (measured by calibrate(), stored per device) ----

/// Matrix size (cube root of m*n*k) from which the device beats the CPU end to end, when
/// nothing was measured: a GPU pays ~1-2 ms of transfers for a 1024^2 problem.
pub const DEFAULT_CROSSOVER: usize = 1024;

static CROSSOVERS: Mutex<Option<BTreeMap<String, BTreeMap<String, usize>>>> = Mutex::new(None);

fn crossover_path() -> std::path::PathBuf {
    crate::cache::dir().join("crossover.json")
}

fn with_crossovers<R>(f: impl FnOnce(&mut BTreeMap<String, BTreeMap<String, usize>>) -> R) -> R {
    let mut guard = CROSSOVERS.lock().unwrap();
    let map = guard.get_or_insert_with(|| {
        std::fs::read(crossover_path()).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    });
    f(map)
}

/// The stored crossover of `op` in `dtype` on `dev`; None when never calibrated. `usize::MAX`
/// means the device never won.
pub fn crossover(dev: &DeviceInfo, op: &str, dtype: &str) -> Option<usize> {
    crossover_at(&dev.key(), op, dtype)
}

/// The key crossovers measured on the host CPU are stored under (gemm_alpha's schemes).
pub const CPU_KEY: &str = "cpu";

/// The stored crossover of `op` in `dtype` under a device key (`DeviceInfo::key`, or `CPU_KEY`).
pub fn crossover_at(key: &str, op: &str, dtype: &str) -> Option<usize> {
    with_crossovers(|m| m.get(key).and_then(|d| d.get(&format!("{op}/{dtype}")).copied()))
}

/// The smallest crossover of `op`/`dtype` over every device (`default` included).
fn smallest_crossover(op: &str, dtype: &str, default: usize) -> usize {
    let key = format!("{op}/{dtype}");
    with_crossovers(|m| m.values().filter_map(|d| d.get(&key).copied()).min()).map_or(default, |n| n.min(default))
}

/// Whether any device has a stored crossover of `op`/`dtype` (a "never won" included).
fn measured(op: &str, dtype: &str) -> bool {
    let key = format!("{op}/{dtype}");
    with_crossovers(|m| m.values().any(|d| d.contains_key(&key)))
}

/// The crossover key of stacks of gemm products with every dimension up to
/// `gemm_small::MAX_DIM`, measured in products (their count), not in size: a stack of 4x4 has
/// n = 4 however many it holds, and what it costs to move grows with the count. No default:
/// until calibrate() measures a device winning, "auto" keeps them on the CPU.
pub const SMALL_GEMM_OP: &str = "gemm_small";

// The reasons in `decide_for` name the bound.
const _: () = assert!(opencl::gemm_small::MAX_DIM == 16, "update the reasons that say 16x16x16");

fn small_gemm(p: &Problem) -> bool {
    p.op == "gemm" && p.m.max(p.n).max(p.k) <= opencl::gemm_small::MAX_DIM
}

/// The crossover key of stacks of SVDs with max(m, n) up to `svd_small::MAX_DIM`, measured in
/// matrices (their count), as `SMALL_GEMM_OP`; CPU until calibrate() measures a device winning.
pub const SMALL_SVD_OP: &str = "svd_small";

/// The crossover key of tall-skinny SVDs (`svd_tall::covers`), measured by size as gemm's
/// (the cube root of m n^2); CPU until calibrate() measures a device winning.
pub const TALL_SVD_OP: &str = "svd_tall";

/// The crossover key of stacks of symmetric eigenproblems up to `svd_small::EIGH_MAX_DIM` (the
/// same kernel in its EIG mode), measured in matrices as `SMALL_SVD_OP`, one crossover for
/// every size (calibrate() measures stacks of 4x4).
pub const SMALL_EIGH_OP: &str = "eigh_small";

const _: () = assert!(opencl::svd_small::MAX_DIM == 64 && opencl::svd_small::EIGH_MAX_DIM == 64,
                      "update the reasons that say 64x64");
const _: () = assert!(opencl::svd_tall::MAX_N == 512 && opencl::svd_tall::MIN_RATIO == 4,
                      "update the reasons that describe tall-skinny matrices");

/// The SVD's problems: "svd" (thin U and V^T, or none) and "svd_full" (square U and V^T).
fn is_svd(p: &Problem) -> bool {
    p.op == "svd" || p.op == "svd_full"
}

/// Stacks weighed by their count: (crossover key, what they are in a reason, what one is).
fn small_stack(p: &Problem) -> Option<(&'static str, &'static str, &'static str)> {
    if small_gemm(p) {
        Some((SMALL_GEMM_OP, "stacks of products up to 16x16x16", "products"))
    } else if is_svd(p) && p.m.max(p.n) <= opencl::svd_small::MAX_DIM {
        Some((SMALL_SVD_OP, "stacks of SVDs up to 64x64", "matrices"))
    } else if p.op == "eigh" && p.n <= opencl::svd_small::EIGH_MAX_DIM {
        Some((SMALL_EIGH_OP, "stacks of eigh up to 64x64", "matrices"))
    } else {
        None
    }
}

/// Whether `p`'s kernel takes complex matrices (the small-SVD kernel, also eigh's, and the
/// tall-skinny SVD's).
fn complex_kernel(p: &Problem) -> bool {
    matches!(small_stack(p), Some((SMALL_SVD_OP | SMALL_EIGH_OP, _, _)))
        || (is_svd(p) && opencl::svd_tall::covers(p.m, p.n))
}

/// Whether `p` needs double precision on the device (cl_khr_fp64).
fn needs_fp64(p: &Problem) -> bool {
    p.dtype == "float64" || p.dtype == "complex128"
}

/// Why `p` has no OpenCL kernel although its operation has one, or None.
fn not_covered(p: &Problem) -> Option<String> {
    if p.op == "eigh" && p.n > opencl::svd_small::EIGH_MAX_DIM {
        return Some(format!("the OpenCL eigh covers stacks of matrices up to 64x64 so far, not {}", p.describe()));
    }
    if !is_svd(p) || p.m.max(p.n) <= opencl::svd_small::MAX_DIM {
        return None;
    }
    let tall = opencl::svd_tall::covers(p.m, p.n);
    if tall && p.op == "svd" {
        None
    } else if tall {
        Some(format!("the OpenCL SVD gives square U and V^T (full_matrices=True) for matrices up to 64x64 only, not {}; \
                      tall-skinny ones like it run with full_matrices=False", p.describe()))
    } else {
        Some(format!("the OpenCL SVD covers stacks of matrices with max(m, n) <= 64 and tall-skinny ones (one side at most 512 \
                      and at most a quarter of the other) so far, not {}", p.describe()))
    }
}

/// Store a measured crossover (writes the user's cache file).
pub fn set_crossover(dev: &DeviceInfo, op: &str, dtype: &str, n: usize) -> std::io::Result<()> {
    set_crossover_at(&dev.key(), op, dtype, n)
}

/// `set_crossover` under a device key (`DeviceInfo::key`, or `CPU_KEY`).
pub fn set_crossover_at(key: &str, op: &str, dtype: &str, n: usize) -> std::io::Result<()> {
    let bytes = with_crossovers(|m| {
        m.entry(key.to_string()).or_default().insert(format!("{op}/{dtype}"), n);
        serde_json::to_vec_pretty(m).expect("plain map")
    });
    crate::cache::write_atomic(&crossover_path(), &bytes)
}

/// Forget stored crossovers in memory (the file is re-read on next use).
pub fn reload_crossovers() {
    *CROSSOVERS.lock().unwrap() = None;
}

// ---- the decision ----

/// Operations with an OpenCL implementation.
pub const OPENCL_OPS: &[&str] = &["gemm", "svd", "svd_full", "eigh"];

/// A problem as dispatch sees it: `count` products of (m x k) by (k x n), or for other
/// routines `count` matrices of m x n (k = n).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Problem<'a> {
    pub op: &'a str,
    pub count: usize,
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub dtype: &'a str,
}

impl Problem<'_> {
    fn elem(&self) -> u64 {
        match self.dtype {
            "float32" => 4,
            "complex128" => 16,
            _ => 8,
        }
    }
    /// Bytes on the device (gemm: A, B and C; svd: A and two more m x n for the thin U and the
    /// tall-skinny route's Q, plus small factors; svd_full: A, S and square U and V^T; eigh: A,
    /// the eigenvectors and the eigenvalues).
    pub fn device_bytes(&self) -> u64 {
        // Saturating: a broadcast stack can name more elements than 64 bits count.
        let (c, m, n, k) = (self.count as u64, self.m as u64, self.n as u64, self.k as u64);
        let small = m.min(n);
        let per = if self.op == "svd" {
            m.saturating_mul(n).saturating_mul(3).saturating_add(small.saturating_mul(small).saturating_mul(2)).saturating_add(small)
        } else if self.op == "eigh" {
            n.saturating_mul(n).saturating_mul(2).saturating_add(n)
        } else if self.op == "svd_full" {
            m.saturating_mul(n).saturating_add(m.saturating_mul(m)).saturating_add(n.saturating_mul(n)).saturating_add(small)
        } else {
            m.saturating_mul(k).saturating_add(k.saturating_mul(n)).saturating_add(m.saturating_mul(n))
        };
        c.saturating_mul(per).saturating_mul(self.elem())
    }
    /// The largest single buffer the device path allocates: a stack of the largest operand
    /// (GEMM: A, B or C; SVD: the matrix, whose U and V^T are no larger, or the square side of
    /// full vectors; eigh: the matrix).
    fn largest_buffer(&self) -> u64 {
        let (m, n, k) = (self.m as u64, self.n as u64, self.k as u64);
        let per = match self.op {
            "svd" => m.saturating_mul(n),
            "svd_full" => m.saturating_mul(n).max(m.saturating_mul(m)).max(n.saturating_mul(n)),
            "eigh" => n.saturating_mul(n),
            _ => m.saturating_mul(k).max(k.saturating_mul(n)).max(m.saturating_mul(n)),
        };
        (self.count as u64).saturating_mul(per).saturating_mul(self.elem())
    }
    fn size(&self) -> usize {
        ((self.m as f64) * (self.n as f64) * (self.k as f64)).cbrt().round() as usize
    }
    fn describe(&self) -> String {
        let stack = if self.count != 1 { format!("{} x ", self.count) } else { String::new() };
        if self.op == "gemm" || self.op == "gemm_alpha" {
            format!("{stack}{}x{}x{} {}", self.m, self.n, self.k, self.dtype)
        } else {
            format!("{stack}{}x{} {}", self.m, self.n, self.dtype)
        }
    }
    /// "has nothing to multiply" and the like, for a stack with no work.
    fn nothing(&self) -> &'static str {
        if is_svd(self) || self.op == "eigh" { "has nothing to decompose" } else { "has nothing to multiply" }
    }
}

fn gib(b: u64) -> String {
    let g = b as f64 / (1u64 << 30) as f64;
    if g >= 10.0 { format!("{g:.0} GiB") } else if g >= 0.1 { format!("{g:.1} GiB") } else { format!("{:.0} MiB", b as f64 / (1u64 << 20) as f64) }
}

/// Why `dev` cannot run `p`, or None when it can (memory under the cap, fp64, index limits).
fn cannot_run(dev: &DeviceInfo, p: &Problem, limit_pct: f64) -> Option<String> {
    if let Some(why) = &dev.unusable {
        return Some(format!("{} is unusable: {why}", dev.name));
    }
    if needs_fp64(p) && !dev.fp64 {
        return Some(format!("{} has no float64 support (cl_khr_fp64)", dev.name));
    }
    if [p.m, p.n, p.k].iter().any(|&x| x >= i32::MAX as usize) {
        return Some("a dimension exceeds the kernels' 32-bit indices".into());
    }
    let fits = match small_stack(p) {
        Some((SMALL_EIGH_OP, _, _)) => opencl::svd_small::eigh_fits(dev, p.elem() as usize, p.n),
        Some((SMALL_SVD_OP, _, _)) => opencl::svd_small::svd_fits(dev, p.elem() as usize, p.m, p.n, p.op == "svd_full"),
        _ => true,
    };
    if !fits {
        let which = if p.op == "eigh" { "small-eigh" } else { "small-SVD" };
        return Some(format!("one {}x{} {} matrix does not fit its local memory ({} KiB) or work-group size ({}) for the \
                             {which} kernel", p.m, p.n, p.dtype, dev.local_mem >> 10, dev.max_work_group));
    }
    let need = p.device_bytes();
    let (avail, what) = match opencl::free_memory(dev) {
        Some(f) => (f, "free"),
        None => (dev.global_mem, "total"),
    };
    let cap = (avail as f64 * limit_pct / 100.0) as u64;
    if need > cap {
        return Some(format!("{} needs {} on the device, over the {limit_pct}% of {} {what} allowed by LAPACK_GPU_MEMORY_LIMIT",
                            p.describe(), gib(need), gib(avail)));
    }
    let largest = p.largest_buffer();
    if largest > dev.max_alloc {
        return Some(format!("one operand ({}) exceeds the device's largest buffer ({})", gib(largest), gib(dev.max_alloc)));
    }
    // The GPU path may stage copies of the operands on the host: respect the cgroup.
    if let Some(host) = crate::container::current().memory_available() {
        if need > host {
            return Some(format!("staging {} on the host would exceed the container's memory limit ({} left)", gib(need), gib(host)));
        }
    }
    None
}

/// Pick the OpenCL device a forced request names.
fn select(sel: &Option<String>, p: &Problem) -> Result<&'static DeviceInfo, String> {
    let found = opencl::devices();
    if found.list.is_empty() {
        let mut why = found.problem.clone().unwrap_or_else(|| "no OpenCL device found".into());
        for h in &found.hints {
            why.push_str("; ");
            why.push_str(h);
        }
        return Err(why);
    }
    match sel {
        None => {
            // Best: a GPU that can run it, else any device that can.
            let can = |d: &&DeviceInfo| d.unusable.is_none() && (!needs_fp64(p) || d.fp64);
            found.list.iter().filter(can).find(|d| d.kind == "gpu").or_else(|| found.list.iter().find(can))
                .ok_or_else(|| format!("no OpenCL device can run {} (devices: {})", p.dtype, names(&found.list)))
        }
        Some(s) => match s.parse::<usize>() {
            Ok(i) => found.list.get(i).ok_or_else(|| format!("no OpenCL device {i}; there are {} ({})", found.list.len(), names(&found.list))),
            Err(_) => {
                let s = s.to_ascii_lowercase();
                found.list.iter().find(|d| d.name.to_ascii_lowercase().contains(&s) || d.platform.to_ascii_lowercase().contains(&s))
                    .ok_or_else(|| format!("no OpenCL device matches {s:?} (devices: {})", names(&found.list)))
            }
        },
    }
}

fn names(list: &[DeviceInfo]) -> String {
    list.iter().map(|d| format!("{}: {} [{}]", d.index, d.name, d.platform)).collect::<Vec<_>>().join(", ")
}

/// Decide where `p` runs. `request` None means the process default (`LAPACK_AI_DEVICE`).
/// Err: a forced device cannot run the call (or a setting is invalid); "auto" never fails
/// because of a device.
pub fn decide_for(p: &Problem, request: Option<&Request>) -> Result<Decision, String> {
    crate::threads::init();
    let settings = settings()?;
    let explicit = request.is_some();
    let request = request.cloned().unwrap_or(settings.device.clone());
    if request == Request::Cpu {
        return Ok(Decision::cpu("cpu: requested"));
    }
    let has_kernel = OPENCL_OPS.contains(&p.op) && not_covered(p).is_none();
    let forced = matches!(request, Request::OpenCl(_));
    if p.dtype.starts_with("complex") && !complex_kernel(p) {
        // No complex kernel for it: say so instead of calibrating a crossover that cannot exist.
        let why = format!("the OpenCL kernels are real-only (float32/float64) except for stacks of SVDs and \
                           eigh up to 64x64, and tall-skinny SVDs; {} runs on the CPU", p.describe());
        return if forced && explicit { Err(why) } else { Ok(Decision::cpu(format!("cpu: {why}"))) };
    }
    if !has_kernel {
        if let Some(why) = not_covered(p) {
            return if forced && explicit { Err(why) } else { Ok(Decision::cpu(format!("cpu: {why}"))) };
        }
        if forced && explicit {
            return Err(format!("{} has no OpenCL implementation yet; use device='cpu' or 'auto'", p.op));
        }
        return Ok(Decision::cpu(format!("cpu: LAPACK via OpenBLAS ({} has no OpenCL kernel)", p.op)));
    }
    if !settings.gpu_enabled {
        let why = "OpenCL devices are turned off by LAPACK_GPU_ENABLED=false";
        return if forced { Err(why.into()) } else { Ok(Decision::cpu(format!("cpu: {why}"))) };
    }
    if let Err(why) = opencl::enabled() {
        let why = format!("OpenCL devices were disabled for this process after a failure: {why}");
        return if forced { Err(why) } else { Ok(Decision::cpu(format!("cpu: {why}"))) };
    }
    let empty = p.count == 0 || p.m == 0 || p.n == 0 || p.k == 0;
    if let Request::OpenCl(sel) = &request {
        let dev = select(sel, p)?;
        if let Some(why) = cannot_run(dev, p, settings.memory_limit_pct) {
            return Err(format!("device {} cannot run this call: {why}", dev.index));
        }
        if empty {
            return Ok(Decision::cpu(format!("cpu: {} {}; no device needed", p.describe(), p.nothing())));
        }
        return Ok(Decision { backend: Backend::OpenCl(dev.index), strategy: "opencl", device: Some(dev.name.clone()),
                             reason: Cow::Owned(format!("opencl: {} on {} (requested)", p.describe(), dev.name)) });
    }
    // Auto: the first GPU-like device that can run it and is past its crossover.
    if empty {
        return Ok(Decision::cpu(format!("cpu: {} {}", p.describe(), p.nothing())));
    }
    // Small products and small SVDs are weighed by their number (SMALL_GEMM_OP, SMALL_SVD_OP),
    // everything else by its size.
    let stack = small_stack(p);
    let small = stack.is_some();
    // Tall-skinny SVDs (the SVDs past the small kernel that reach here) are weighed by size,
    // but like small stacks stay on the CPU until calibrated.
    let tall = !small && p.op == "svd";
    let (op, measure, default) = match stack {
        Some((key, _, _)) => (key, p.count, usize::MAX),
        None if tall => (TALL_SVD_OP, p.size(), usize::MAX),
        None => (p.op, p.size(), DEFAULT_CROSSOVER),
    };
    let (what, unit) = match stack {
        Some((_, what, unit)) => (what, unit),
        None if tall => ("tall-skinny SVDs", ""),
        None => ("", ""),
    };
    let amount = |x: usize| if small { format!("{x} {unit}") } else { format!("n={x}") };
    let at = |x: usize| if small { format!("of {x} {unit}") } else { format!("n={x}") };
    let smallest = smallest_crossover(op, p.dtype, default);
    if measure < smallest {
        // Below every device's crossover: decided without even looking for devices.
        return Ok(Decision::cpu(match (small || tall, smallest) {
            (false, _) => Cow::Borrowed("cpu: below every OpenCL device's crossover"),
            (true, usize::MAX) if measured(op, p.dtype) => Cow::Owned(format!("cpu: {what} stay on the CPU: no OpenCL device \
                                                 beat it when calibrate() measured them")),
            (true, usize::MAX) => Cow::Owned(format!("cpu: {what} stay on the CPU below the default crossover (not calibrated: \
                                                 calibrate() measures it)")),
            (true, x) => Cow::Owned(format!("cpu: {} is below every OpenCL device's measured crossover for {what} (the smallest: \
                                             {})", p.describe(), amount(x))),
        }));
    }
    let found = opencl::devices();
    let mut why_not = Vec::new();
    // CPU OpenCL devices share the host with LAPACK: only a calibration that saw one win
    // makes it a candidate.
    let candidate = |d: &&DeviceInfo| d.kind != "cpu" || crossover(d, op, p.dtype).is_some_and(|n| n != usize::MAX);
    for dev in found.list.iter().filter(candidate) {
        if let Some(why) = cannot_run(dev, p, settings.memory_limit_pct) {
            why_not.push(why);
            continue;
        }
        let (cross, source) = match crossover(dev, op, p.dtype) {
            Some(n) => (n, "measured"),
            None => (default, "default, not calibrated"),
        };
        if measure < cross {
            let why = match (cross, source) {
                (usize::MAX, "measured") => "the device never won when measured".to_string(),
                (usize::MAX, _) => format!("{what} stay on the CPU below the default crossover (not calibrated: \
                                    calibrate() measures it)"),
                _ => format!("below the {source} crossover {}", at(cross)),
            };
            why_not.push(format!("{} on {}: {why}", p.describe(), dev.name));
            continue;
        }
        let (avail, what) = opencl::free_memory(dev).map_or((dev.global_mem, "total"), |f| (f, "free"));
        return Ok(Decision { backend: Backend::OpenCl(dev.index), strategy: "opencl", device: Some(dev.name.clone()),
            reason: Cow::Owned(format!("opencl: {} needs {} of {} {what} on {}; above the {source} crossover {}",
                            p.describe(), gib(p.device_bytes()), gib(avail), dev.name, at(cross))) });
    }
    if why_not.is_empty() {
        why_not.push(match &found.problem {
            Some(pr) if found.list.is_empty() => format!("no OpenCL device ({pr})"),
            _ => "no OpenCL GPU (CPU OpenCL devices run only when requested or calibrated faster)".into(),
        });
    }
    Ok(Decision::cpu(format!("cpu: {}", why_not.join("; "))))
}

/// What a device run moved and ran, kept beside its decision for metrics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Transfer {
    /// Kernel variant that ran, e.g. "tensor-core".
    pub kernel: String,
    pub bytes_to_device: u64,
    pub bytes_from_device: u64,
    /// Kernel time from the OpenCL profiling events.
    pub kernel_ns: u64,
}

/// One call's final decision (after any fallback) and, for device runs, what moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Last {
    pub op: &'static str,
    pub decision: Decision,
    pub transfer: Option<Transfer>,
}

thread_local! {
    static LAST: RefCell<Option<Last>> = const { RefCell::new(None) };
    static GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// Counts the decisions recorded on this thread: metrics compare it around a call to know
/// whether the call reached the core, without clearing the last decision.
pub fn generation() -> u64 {
    GENERATION.with(|g| g.get())
}

/// Remember the final decision of a call on this thread (after any fallback).
pub fn record(op: &'static str, d: &Decision) {
    record_run(op, d, None);
}

/// `record` for a call that ran on a device, with its transfers.
pub fn record_run(op: &'static str, d: &Decision, transfer: Option<Transfer>) {
    LAST.with(|l| *l.borrow_mut() = Some(Last { op, decision: d.clone(), transfer }));
    GENERATION.with(|g| g.set(g.get().wrapping_add(1)));
}

/// The last recorded decision on this thread.
pub fn last() -> Option<Last> {
    LAST.with(|l| l.borrow().clone())
}

/// Decide for a routine without an OpenCL kernel (every LAPACK routine today): always the
/// CPU, recorded like any other decision.
pub fn decide(op: &'static str, dims: (usize, usize, usize), dtype: &str) -> Decision {
    crate::threads::init();
    let d = Decision::cpu("cpu: LAPACK via OpenBLAS");
    let _ = (dims, dtype);
    record(op, &d);
    d
}

// ---- gemm_alpha's scheme ----

/// The scheme `scheme="auto"` uses where it was measured faster: Strassen squared has the
/// fewest additions of the rank-49 schemes (318 against 468), which decides at block sizes.
pub const AUTO_SCHEME: &str = "strassen2";

/// Which product gemm_alpha runs on `backend` for an m x n x k problem: a fast scheme (one
/// level over 4x4 blocks) or None for the standard product, and why in words. `auto` takes
/// `AUTO_SCHEME` from its measured crossover (min(m, n, k), stored by `calibrate()` as op
/// "gemm_alpha" under the device's key or `CPU_KEY`); with nothing measured it keeps the
/// standard product, which on this project's machines was faster (docs/alphatensor.md).
pub fn choose_scheme(backend: Backend, dtype: &str, (m, n, k): (usize, usize, usize),
                     request: &crate::alpha::SchemeRequest) -> (Option<&'static crate::alpha::Scheme>, String) {
    use crate::alpha::{by_name, short_name, SchemeRequest};
    let small = m.min(n).min(k) < 4;
    match request {
        SchemeRequest::Standard => (None, "scheme: standard (requested)".into()),
        SchemeRequest::Named(s) if small => (None, format!("scheme: standard ({} needs every dimension >= 4)", short_name(s))),
        SchemeRequest::Named(s) => (Some(*s), format!("scheme: {} ({} products per level, requested)", short_name(s), s.rank)),
        SchemeRequest::Auto => {
            let s = by_name(AUTO_SCHEME).expect("generated scheme");
            let (key, place) = match backend {
                Backend::Cpu => (CPU_KEY.to_string(), "the CPU".to_string()),
                Backend::OpenCl(i) => match opencl::devices().list.get(i) {
                    Some(d) => (d.key(), d.name.clone()),
                    None => return (None, "scheme: standard (unknown device)".into()),
                },
            };
            let size = m.min(n).min(k);
            match crossover_at(&key, "gemm_alpha", dtype) {
                None => (None, format!("scheme: standard ({AUTO_SCHEME} not measured on {place}; calibrate(schemes=True) measures it)")),
                Some(usize::MAX) => (None, format!("scheme: standard ({AUTO_SCHEME} never beat it when measured on {place})")),
                Some(x) if size < x => (None, format!("scheme: standard (min(m, n, k) = {size} is below {AUTO_SCHEME}'s measured crossover {x} on {place})")),
                Some(x) => (Some(s), format!("scheme: {AUTO_SCHEME} (min(m, n, k) = {size} is at or above its measured crossover {x} on {place})")),
            }
        }
    }
}

/// gemm_alpha's decision: the backend gemm would get for the same product, and the scheme
/// `choose_scheme` picks there (None: the standard product), its reason appended.
pub fn decide_gemm_alpha(p: &Problem, request: Option<&Request>, scheme: &crate::alpha::SchemeRequest)
                         -> Result<(Decision, Option<&'static crate::alpha::Scheme>), String> {
    let d = decide_for(&Problem { op: "gemm", ..*p }, request)?;
    let empty = p.count == 0 || p.m == 0 || p.n == 0 || p.k == 0;
    let (s, why) = if empty {
        (None, "scheme: standard (nothing to multiply)".to_string())
    } else if d.backend != Backend::Cpu && small_gemm(&Problem { op: "gemm", ..*p }) {
        // blocks of at most 4x4 gain nothing, and the batched kernel runs the whole stack at once
        (None, "scheme: standard (products up to 16x16x16 run the batched small-product kernel)".to_string())
    } else {
        choose_scheme(d.backend, p.dtype, (p.m, p.n, p.k), scheme)
    };
    Ok((Decision { reason: format!("{}; {why}", d.reason).into(), ..d }, s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wide SVD's buffers are m x n, not n x n: 64 x 100000 float64 (49 MiB) fits a device
    /// whose largest buffer is 35 GiB (it was once refused as a 75 GiB operand).
    #[test]
    fn largest_buffer_by_operation() {
        let h = DeviceInfo::hopper(1024, 48 << 10);
        let svd = |op, m, n| Problem { op, count: 1, m, n, k: m.min(n), dtype: "float64" };
        assert_eq!(svd("svd", 64, 100_000).largest_buffer(), 64 * 100_000 * 8);
        assert_eq!(svd("svd", 100_000, 64).largest_buffer(), 64 * 100_000 * 8);
        assert_eq!(svd("svd_full", 64, 100_000).largest_buffer(), 100_000 * 100_000 * 8);
        assert!(cannot_run(&h, &svd("svd", 64, 100_000), 100.0).is_none());
        assert!(cannot_run(&h, &svd("svd_full", 64, 100_000), 100.0).is_some());
        let gemm = Problem { op: "gemm", count: 2, m: 10, n: 20, k: 30, dtype: "float32" };
        assert_eq!(gemm.largest_buffer(), 2 * 20 * 30 * 4);
        let eigh = Problem { op: "eigh", count: 3, m: 5, n: 5, k: 5, dtype: "complex128" };
        assert_eq!(eigh.largest_buffer(), 3 * 25 * 16);
    }

    /// A stack whose one matrix does not fit the small-SVD kernel's local memory stays on the
    /// CPU, saying why (complex128 past 53 columns on 48 KiB; square U takes M of them).
    #[test]
    fn small_svd_stacks_that_do_not_fit() {
        let h = DeviceInfo::hopper(1024, 48 << 10);
        let p = |op, m, n, dtype| Problem { op, count: 100, m, n, k: m.min(n), dtype };
        assert!(cannot_run(&h, &p("svd", 64, 64, "float64"), 100.0).is_none());
        assert!(cannot_run(&h, &p("svd_full", 64, 20, "complex64"), 100.0).is_none());
        let why = cannot_run(&h, &p("svd", 64, 64, "complex128"), 100.0).expect("does not fit");
        assert!(why.contains("one 64x64 complex128 matrix does not fit its local memory (48 KiB)") && why.contains("small-SVD"), "{why}");
        assert!(cannot_run(&h, &p("svd_full", 64, 20, "complex128"), 100.0).is_some());
        assert!(cannot_run(&h, &p("svd", 64, 20, "complex128"), 100.0).is_none());
    }
}
