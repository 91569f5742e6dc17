//! Copies between host memory and the device through pinned (page-locked) staging buffers.
//!
//! A driver copies pageable memory (a NumPy array) through its own bounce buffers, several times
//! slower than pinned memory (GEMM end to end: docs/benchmarks.md). Here each device keeps two
//! pinned chunks, mapped once (`CL_MEM_ALLOC_HOST_PTR`, NVIDIA's documented route to pinned
//! memory): the host threads copy one chunk while the device copies the other. Copies of less
//! than `DIRECT_BELOW` bytes, and every copy while another thread holds the chunks or where they
//! could not be made, go directly.

use std::ffi::c_void;
use std::sync::Mutex;

use opencl3::event::Event;
use opencl3::memory::{Buffer, ClMem, CL_MAP_READ, CL_MAP_WRITE, CL_MEM_ALLOC_HOST_PTR, CL_MEM_READ_WRITE};
use opencl3::types::{cl_mem, CL_BLOCKING, CL_NON_BLOCKING};
use rayon::prelude::*;

use super::fail::{check, ClFail};
use super::runtime::Gpu;

/// Bytes per pinned chunk (two per device). `LAPACK_AI_STAGING_KIB` overrides it (tests use a
/// small one to run the chunked paths on small matrices; 0 turns staging off).
const CHUNK: usize = 8 << 20;
/// Copies this small (or under a quarter of a chunk) go directly: a chunk's round trip costs
/// more than it saves.
const DIRECT_BELOW: usize = 256 << 10;
/// The host copies into and out of a chunk in pieces of this many bytes, on rayon's threads.
const PIECE: usize = 1 << 20;

/// Two pinned chunks, mapped for the life of the device's runtime.
pub struct Staging {
    bufs: [Buffer<u8>; 2],
    ptrs: [*mut u8; 2],
    chunk: usize,
}

// SAFETY: the mapped pointers are used only under the device's staging mutex.
unsafe impl Send for Staging {}

/// The device's staging state: None until first needed, then Some(chunks) or None forever when
/// they could not be made (`failed`).
#[derive(Default)]
pub struct Slot {
    made: Option<Staging>,
    failed: bool,
}

pub type Shared = Mutex<Slot>;

fn chunk_bytes() -> usize {
    static BYTES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *BYTES.get_or_init(|| {
        std::env::var("LAPACK_AI_STAGING_KIB").ok().and_then(|v| v.trim().parse::<usize>().ok()).map_or(CHUNK, |k| k << 10)
    })
}

/// Whether a copy of `bytes` goes directly (small, or staging off).
fn direct(bytes: usize) -> bool {
    bytes < DIRECT_BELOW.min(chunk_bytes() / 4)
}

fn make(gpu: &Gpu, chunk: usize) -> Result<Staging, ClFail> {
    let one = || -> Result<(Buffer<u8>, *mut u8), ClFail> {
        // SAFETY: no host pointer is passed; the driver allocates (pinned) host memory.
        let buf = check(unsafe { Buffer::<u8>::create(&gpu.context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, chunk,
                                                      std::ptr::null_mut::<c_void>()) }, "allocating pinned staging")?;
        let mut ptr: cl_mem = std::ptr::null_mut();
        // SAFETY: a blocking map of the whole buffer; the pointer stays valid until `unmap`.
        check(unsafe { gpu.queue.enqueue_map_buffer(&buf, CL_BLOCKING, CL_MAP_READ | CL_MAP_WRITE, 0, chunk, &mut ptr, &[]) },
              "mapping pinned staging")?;
        Ok((buf, ptr as *mut u8))
    };
    let (b0, p0) = one()?;
    let (b1, p1) = match one() {
        Ok(x) => x,
        Err(e) => {
            unmap(gpu, &[(&b0, p0)]);
            return Err(e);
        }
    };
    if [p0, p1].iter().any(|p| p.is_null() || !(*p as usize).is_multiple_of(64)) {
        // Chunks are read as slices of any element type: they must be aligned for all of them.
        unmap(gpu, &[(&b0, p0), (&b1, p1)]);
        return Err(super::fail::classify(0, "pinned staging is not 64-byte aligned"));
    }
    Ok(Staging { bufs: [b0, b1], ptrs: [p0, p1], chunk })
}

/// Unmaps mapped chunks and waits, so that their buffers are released unmapped.
fn unmap(gpu: &Gpu, chunks: &[(&Buffer<u8>, *mut u8)]) {
    for (buf, ptr) in chunks {
        // SAFETY: `ptr` is the pointer the map of `buf` returned, not used after this.
        if let Err(e) = unsafe { gpu.queue.enqueue_unmap_mem_object(buf.get(), *ptr as *mut c_void, &[]) } {
            log::warn!(target: "lapack_ai", "unmapping pinned staging failed: {e}");
        }
    }
    let _ = gpu.queue.finish();
}

/// Unmaps the device's chunks (the runtime's Drop, while its queue still exists).
pub(super) fn release(gpu: &Gpu) {
    let mut slot = gpu.staging.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(st) = slot.made.take() {
        unmap(gpu, &[(&st.bufs[0], st.ptrs[0]), (&st.bufs[1], st.ptrs[1])]);
    }
}

/// The chunks, made on first use; None when staging is off, could not be made, or another
/// thread is using them (that copy goes directly).
fn chunks<'s>(gpu: &Gpu, slot: &'s mut Slot) -> Option<&'s Staging> {
    if slot.made.is_none() && !slot.failed {
        let chunk = chunk_bytes();
        if chunk == 0 {
            slot.failed = true;
            return None;
        }
        match make(gpu, chunk) {
            Ok(s) => slot.made = Some(s),
            Err(e) => {
                log::info!(target: "lapack_ai", "pinned staging unavailable, copies go directly: {}", e.what);
                slot.failed = true;
            }
        }
    }
    slot.made.as_ref()
}

/// Element types whose every bit pattern is a value: copies from the device write raw bytes
/// into them.
///
/// # Safety
/// Implement only for plain numbers (no invalid bit patterns, no padding).
pub unsafe trait Plain: Copy + Send + Sync + 'static {}
// SAFETY: the four LAPACK types (sealed: f32, f64 and pairs of them), and plain integers.
unsafe impl<T: crate::Scalar> Plain for T {}
unsafe impl Plain for i32 {}
unsafe impl Plain for u8 {}

fn par_copy<T: Plain>(dst: &mut [T], src: &[T]) {
    let per = (PIECE / std::mem::size_of::<T>().max(1)).max(1);
    dst.par_chunks_mut(per).zip(src.par_chunks(per)).for_each(|(d, s)| d.copy_from_slice(s));
}

/// Copies `src` into `dst` from element `at` on; returns when `src` is no longer needed.
pub fn upload<T: Plain>(gpu: &Gpu, dst: &mut Buffer<T>, at: usize, src: &[T], what: &str) -> Result<(), ClFail> {
    let size = std::mem::size_of::<T>();
    let straight = |dst: &mut Buffer<T>| {
        // SAFETY: a blocking write from a host slice inside the buffer's bounds (the caller's).
        check(unsafe { gpu.queue.enqueue_write_buffer(dst, CL_BLOCKING, at * size, src, &[]) }, what).map(drop)
    };
    if direct(std::mem::size_of_val(src)) {
        return straight(dst);
    }
    let Ok(mut slot) = gpu.staging.try_lock() else { return straight(dst) };
    let Some(st) = chunks(gpu, &mut slot) else { return straight(dst) };
    let per = st.chunk / size;
    let t = std::time::Instant::now();
    let mut pending: [Option<Event>; 2] = [None, None];
    let result = (|| {
        for (i, piece) in src.chunks(per).enumerate() {
            let s = i % 2;
            if let Some(e) = pending[s].take() {
                check(e.wait(), what)?;
            }
            // SAFETY: chunk s holds `per` elements (page-aligned), and no copy reads it now.
            let host = unsafe { std::slice::from_raw_parts_mut(st.ptrs[s] as *mut T, piece.len()) };
            par_copy(host, piece);
            // SAFETY: the chunk is not written again before this copy's event completes.
            pending[s] = Some(check(unsafe {
                gpu.queue.enqueue_write_buffer(dst, CL_NON_BLOCKING, (at + i * per) * size, host, &[])
            }, what)?);
        }
        pending.iter().flatten().try_for_each(|e| check(e.wait(), what))
    })();
    rate(what, std::mem::size_of_val(src), t);
    settle(gpu, result)
}

/// Copies elements `at..at + dst.len()` of `src` into `dst`; returns when `dst` holds them.
pub fn download<T: Plain>(gpu: &Gpu, src: &Buffer<T>, at: usize, dst: &mut [T], what: &str) -> Result<(), ClFail> {
    let size = std::mem::size_of::<T>();
    let straight = |dst: &mut [T]| {
        // SAFETY: a blocking read into a host slice inside the buffer's bounds (the caller's).
        check(unsafe { gpu.queue.enqueue_read_buffer(src, CL_BLOCKING, at * size, dst, &[]) }, what).map(drop)
    };
    if direct(std::mem::size_of_val(dst)) {
        return straight(dst);
    }
    let Ok(mut slot) = gpu.staging.try_lock() else { return straight(dst) };
    if chunks(gpu, &mut slot).is_none() {
        return straight(dst);
    }
    let st = slot.made.as_ref().expect("made above");
    let per = st.chunk / size;
    let t = std::time::Instant::now();
    let lens: Vec<usize> = dst.chunks(per).map(<[T]>::len).collect();
    let count = lens.len();
    let mut pending: Vec<Option<Event>> = (0..count).map(|_| None).collect();
    let result = (|| {
        let enqueue = |i: usize, len: usize| -> Result<Event, ClFail> {
            // SAFETY: chunk i % 2 holds `per` elements; its previous contents were copied out.
            let host = unsafe { std::slice::from_raw_parts_mut(st.ptrs[i % 2] as *mut T, len) };
            check(unsafe { gpu.queue.enqueue_read_buffer(src, CL_NON_BLOCKING, (at + i * per) * size, host, &[]) }, what)
        };
        for (i, &len) in lens.iter().enumerate().take(2) {
            pending[i] = Some(enqueue(i, len)?);
        }
        for (i, piece) in dst.chunks_mut(per).enumerate() {
            check(pending[i].take().expect("enqueued").wait(), what)?;
            // SAFETY: the device finished writing chunk i % 2.
            let host = unsafe { std::slice::from_raw_parts(st.ptrs[i % 2] as *const T, piece.len()) };
            par_copy(piece, host);
            if i + 2 < count {
                pending[i + 2] = Some(enqueue(i + 2, lens[i + 2])?);
            }
        }
        Ok(())
    })();
    rate(what, std::mem::size_of_val(dst), t);
    settle(gpu, result)
}

fn rate(what: &str, bytes: usize, t: std::time::Instant) {
    let s = t.elapsed().as_secs_f64();
    log::debug!(target: "lapack_ai", "staging: {what}: {:.1} MiB in {:.2} ms ({:.1} GB/s)", bytes as f64 / 1048576.0, s * 1e3,
                bytes as f64 / s / 1e9);
}

/// On failure, wait for the queue before the chunks are released to the next copy.
fn settle(gpu: &Gpu, result: Result<(), ClFail>) -> Result<(), ClFail> {
    if result.is_err() {
        let _ = gpu.queue.finish();
    }
    result
}

/// Whether the device's pinned chunks exist (made by a copy large enough to use them).
pub fn pinned(gpu: &Gpu) -> bool {
    gpu.staging.lock().is_ok_and(|s| s.made.is_some())
}

/// Benchmarks: the best of `reps` times (ns) to copy `bytes` to the device and back, directly
/// from pageable memory and through the pinned chunks: [direct up, direct down, staged up,
/// staged down]. Err when the chunks cannot be made.
pub fn bench(gpu: &Gpu, bytes: usize, reps: usize) -> Result<[u64; 4], ClFail> {
    let host: Vec<u8> = (0..bytes).map(|i| (i * 131 % 251) as u8).collect();
    let mut back = vec![0u8; bytes];
    let mut dev = super::gemm::alloc::<u8>(gpu, bytes, CL_MEM_READ_WRITE)?;
    let mut best = [u64::MAX; 4];
    for _ in 0..reps.max(1) {
        let t = std::time::Instant::now();
        // SAFETY: blocking copies between host slices and a buffer of their length.
        check(unsafe { gpu.queue.enqueue_write_buffer(&mut dev, CL_BLOCKING, 0, &host, &[]) }, "direct upload")?;
        best[0] = best[0].min(t.elapsed().as_nanos() as u64);
        let t = std::time::Instant::now();
        check(unsafe { gpu.queue.enqueue_read_buffer(&dev, CL_BLOCKING, 0, &mut back, &[]) }, "direct download")?;
        best[1] = best[1].min(t.elapsed().as_nanos() as u64);
        let t = std::time::Instant::now();
        upload(gpu, &mut dev, 0, &host, "staged upload")?;
        best[2] = best[2].min(t.elapsed().as_nanos() as u64);
        back.fill(0);
        let t = std::time::Instant::now();
        download(gpu, &dev, 0, &mut back, "staged download")?;
        best[3] = best[3].min(t.elapsed().as_nanos() as u64);
        if back != host {
            return Err(super::fail::classify(0, "staging bench: the copy came back different"));
        }
    }
    if !pinned(gpu) {
        return Err(super::fail::classify(0, "staging bench: no pinned chunks (staging off, or too small a copy)"));
    }
    Ok(best)
}
