//! Who uses the CPU threads, and when.
//!
//! One large problem: OpenBLAS, with its own threads. A stack of small matrices: rayon, one run
//! of matrices per thread, with OpenBLAS held to one thread meanwhile. The width of both is the
//! same knob, OpenBLAS's thread count, so `OPENBLAS_NUM_THREADS` and
//! `threadpoolctl.threadpool_limits()` limit lapack_ai exactly as they limit NumPy (which shares
//! the library when it can, see `crate::blas`). rayon's pool is sized to the CPUs the cgroup
//! allows, so a stack never spreads wider than the container.

use std::sync::{Mutex, Once};

use crate::blas;

/// Stacks of matrices up to this dimension spread across threads even when they are fewer
/// than the threads; larger ones only when there are at least as many matrices as threads.
pub const PARALLEL_MAX_DIM: usize = 64;

/// Below this much work (matrices x dim^3, about a thousand native 4x4 solves) a stack runs on
/// the calling thread: waking idle workers costs tens of microseconds on a VM.
pub const PARALLEL_MIN_WORK: usize = 1 << 16;

static INIT: Once = Once::new();

/// Stack a thread needs for OpenBLAS's threaded LAPACK: its parallel LU (xGETRF_PARALLEL) has a
/// 528 KiB frame and recurses about four levels at n = 1000, past the 2 MiB Rust gives a
/// spawned thread (a SIGSEGV, or memory below the stack overwritten). Linux's default for the
/// main thread and Python's threads, 8 MiB (less a guard page, as the thread library reports
/// it), passes.
pub const ROOMY_STACK: usize = 7 << 20;

/// Stack of rayon's threads (their stacks run OpenBLAS unthreaded, `single_blas`, but any
/// LAPACK call made there must not depend on that).
const POOL_STACK: usize = 8 << 20;

/// Size rayon's pool once per process: the CPUs the cgroup allows, unless RAYON_NUM_THREADS;
/// its threads get a roomy stack either way.
pub fn init() {
    INIT.call_once(|| {
        let mut pool = rayon::ThreadPoolBuilder::new().stack_size(POOL_STACK);
        if std::env::var_os("RAYON_NUM_THREADS").is_none() {
            pool = pool.num_threads(crate::container::cpus());
        }
        if pool.build_global().is_ok() {
            log::debug!(target: "lapack_ai", "rayon threads: {} (cgroup-aware)", rayon::current_num_threads());
        }
    });
}

thread_local! {
    /// Whether this thread's stack holds OpenBLAS's threaded LAPACK (checked once per thread).
    static ROOMY: bool = {
        let size = stack_size();
        let roomy = size.is_none_or(|s| s >= ROOMY_STACK);
        if !roomy {
            log::debug!(target: "lapack_ai", "this thread's stack ({size:?} bytes) is under {ROOMY_STACK}: \
                                               LU runs on one OpenBLAS thread here");
        }
        roomy
    };
}

/// This thread's stack size, from the thread library (None where it cannot tell).
fn stack_size() -> Option<usize> {
    // SAFETY: pthread_getattr_np fills `attr` for the calling thread, which is destroyed after
    // reading its stack size.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut size = 0usize;
        let ok = libc::pthread_attr_getstacksize(&attr, &mut size) == 0;
        libc::pthread_attr_destroy(&mut attr);
        ok.then_some(size)
    }
}

/// Whether the calling thread can run OpenBLAS's threaded LAPACK routines; where it cannot
/// (a Rust thread spawned with the default 2 MiB), `crate::lapack` holds OpenBLAS at one
/// thread for the call, which runs its unthreaded code.
pub fn roomy_stack() -> bool {
    ROOMY.with(|r| *r)
}

/// (calls inside `single_blas`, OpenBLAS's thread count before the first of them).
static SINGLE: Mutex<(usize, usize)> = Mutex::new((0, 0));

/// OpenBLAS's thread count as the user set it (not the 1 a running batch holds it at).
pub fn blas_threads() -> usize {
    let held = SINGLE.lock().unwrap_or_else(|p| p.into_inner());
    if held.0 > 0 {
        return held.1;
    }
    drop(held);
    blas::lib().map(|l| l.threads()).unwrap_or(1)
}

/// Threads a stack of `count` matrices of largest dimension `dim` is spread over (1: the
/// calling thread alone).
pub fn batch_width(count: usize, dim: usize) -> usize {
    let work = count.saturating_mul(dim.max(1).saturating_pow(3));
    if count < 2 || work < PARALLEL_MIN_WORK {
        return 1;
    }
    init();
    let width = blas_threads().min(rayon::current_num_threads());
    if dim <= PARALLEL_MAX_DIM || count >= width { width.min(count) } else { 1 }
}

/// Holds OpenBLAS at one thread while a stack is spread over rayon's threads (each BLAS call
/// then runs where it was made); the count is restored when the last such run ends.
pub struct SingleBlas(());

pub fn single_blas() -> SingleBlas {
    let mut held = SINGLE.lock().unwrap_or_else(|p| p.into_inner());
    if held.0 == 0 {
        let lib = blas::lib().ok();
        held.1 = lib.map_or(1, |l| l.threads());
        if held.1 > 1 {
            lib.expect("read above").set_threads(1);
        }
    }
    held.0 += 1;
    SingleBlas(())
}

impl Drop for SingleBlas {
    fn drop(&mut self) {
        let mut held = SINGLE.lock().unwrap_or_else(|p| p.into_inner());
        held.0 -= 1;
        if held.0 == 0 && held.1 > 1 {
            if let Ok(lib) = blas::lib() {
                // Unless someone (threadpoolctl) set another count meanwhile.
                if lib.threads() == 1 {
                    lib.set_threads(held.1);
                }
            }
        }
    }
}
