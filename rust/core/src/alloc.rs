//! The one gate for memory sized by a caller's input.
//!
//! A routine adds up what it will allocate (copies of the inputs, outputs, workspace) in
//! 64-bit arithmetic before any work, `check` compares that with the memory this process can
//! still get (the cgroup's limit, else the machine's MemAvailable), and every buffer is then
//! allocated fallibly. Too much becomes `CoreError::Memory` naming the routine, the bytes and
//! what was available, never an abort: a notebook kernel that dies loses the user's work.

use crate::error::{CoreError, Result};

/// Below this many bytes a call skips the availability check (reading /proc costs more than a
/// small routine) and relies on fallible allocation alone.
const CHECK_FROM: u64 = 64 << 20;

/// Bytes of `counts` multiplied together, in elements of `T`; None when it overflows.
pub fn bytes<T>(counts: &[usize]) -> Option<u64> {
    counts.iter().try_fold(std::mem::size_of::<T>() as u64, |acc, &c| acc.checked_mul(c as u64))
}

/// A running total of the bytes a call needs (None once it overflowed u64).
#[derive(Debug, Clone, Copy)]
pub struct Need(Option<u64>);

impl Need {
    pub fn new() -> Self {
        Need(Some(0))
    }
    /// Add an array of `counts` elements of `T` (multiplied together).
    pub fn array<T>(self, counts: &[usize]) -> Self {
        Need(self.0.and_then(|s| bytes::<T>(counts).and_then(|b| s.checked_add(b))))
    }
    /// Add bytes counted elsewhere (None: more than 64 bits).
    pub fn add_bytes(self, bytes: Option<u64>) -> Self {
        Need(self.0.and_then(|s| bytes.and_then(|b| s.checked_add(b))))
    }
    /// Add `times` copies of everything counted so far in `other` (per-thread workspaces).
    pub fn add_times(self, other: Need, times: usize) -> Self {
        Need(self.0.and_then(|s| other.0.and_then(|o| o.checked_mul(times as u64)).and_then(|b| s.checked_add(b))))
    }
    pub fn bytes(self) -> Option<u64> {
        self.0
    }
    /// Refuse the call when it cannot fit.
    pub fn check(self, routine: &str) -> Result<()> {
        match self.0 {
            Some(b) if b < CHECK_FROM => Ok(()),
            Some(b) => match available() {
                Some(avail) if b > avail => Err(memory(routine, Some(b), Some(avail))),
                _ => Ok(()),
            },
            None => Err(memory(routine, None, available())),
        }
    }
}

impl Default for Need {
    fn default() -> Self {
        Need::new()
    }
}

pub fn memory(routine: &str, bytes: Option<u64>, available: Option<u64>) -> CoreError {
    CoreError::Memory { routine: routine.to_string(), bytes, available }
}

/// Bytes this process can still allocate: the cgroup's remaining limit where there is one,
/// capped by the machine's MemAvailable; None when neither can be read.
pub fn available() -> Option<u64> {
    let machine = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| {
        let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
        line.split_whitespace().nth(1)?.parse::<u64>().ok().map(|kib| kib * 1024)
    });
    let cgroup = crate::container::current().memory_available();
    match (machine, cgroup) {
        (Some(m), Some(c)) => Some(m.min(c)),
        (m, c) => m.or(c),
    }
}

/// A vector of `n` copies of `value`, or `CoreError::Memory` when it cannot be allocated.
pub fn vec<T: Clone>(routine: &str, n: usize, value: T) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| memory(routine, bytes::<T>(&[n]), available()))?;
    v.resize(n, value);
    Ok(v)
}

/// `vec(routine, n, zero)` without writing the zeros: the allocator's zeroed memory (calloc;
/// fresh pages are zero when first touched), so a large workspace about to be overwritten
/// costs no extra pass over memory.
pub fn zeroed<T: crate::scalar::Scalar>(routine: &str, n: usize) -> Result<Vec<T>> {
    let fail = || memory(routine, bytes::<T>(&[n]), available());
    let layout = std::alloc::Layout::array::<T>(n).map_err(|_| fail())?;
    if layout.size() == 0 {
        return Ok(Vec::new());
    }
    // SAFETY: the layout has a non-zero size; Scalar types (f32, f64 and their complex pairs)
    // are plain floats whose all-zero bit pattern is 0.0; the memory comes from the global
    // allocator with Layout::array::<T>(n), as Vec<T> with capacity n would allocate it.
    unsafe {
        let p = std::alloc::alloc_zeroed(layout) as *mut T;
        if p.is_null() {
            return Err(fail());
        }
        huge_pages(p as *mut u8, layout.size());
        Ok(Vec::from_raw_parts(p, n, n))
    }
}

/// Asks Linux for transparent huge pages over the 2 MiB-aligned interior of a large, not yet
/// touched allocation (as NumPy does from 4 MiB): under the common `madvise` THP mode, 4 KiB
/// pages would cost a page fault per 4 KiB on first touch and TLB misses in BLAS's packing.
/// A hint only: a refusal changes nothing.
fn huge_pages(p: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        if len < 4 << 20 {
            return;
        }
        let (start, end) = ((p as usize).next_multiple_of(HUGE), (p as usize + len) / HUGE * HUGE);
        if end > start {
            // SAFETY: the range lies inside the allocation just made; MADV_HUGEPAGE changes no contents.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (p, len);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_checked() {
        assert_eq!(bytes::<f64>(&[3, 4]), Some(96));
        assert_eq!(bytes::<f64>(&[usize::MAX, 2]), None);
        assert_eq!(Need::new().array::<f64>(&[1 << 40, 1 << 30]).bytes(), None);
        let per_thread = Need::new().array::<f32>(&[10]);
        assert_eq!(Need::new().array::<u8>(&[2]).add_times(per_thread, 3).bytes(), Some(122));
    }

    #[test]
    fn too_much_is_an_error_not_an_abort() {
        let e = Need::new().array::<f64>(&[200_000, 200_000]).check("svd").unwrap_err();
        assert!(matches!(e, CoreError::Memory { bytes: Some(320_000_000_000), .. }), "{e:?}");
        assert!(Need::new().array::<f64>(&[usize::MAX, usize::MAX]).check("svd").is_err());
        assert!(matches!(vec::<f64>("svd", usize::MAX / 4, 0.0), Err(CoreError::Memory { .. })));
        assert_eq!(vec::<f64>("svd", 3, 1.0).unwrap(), vec![1.0; 3]);
        assert!(matches!(zeroed::<f64>("svd", usize::MAX / 4), Err(CoreError::Memory { .. })));
        assert_eq!(zeroed::<f32>("svd", 5).unwrap(), vec![0.0f32; 5]);
        assert!(zeroed::<f64>("svd", 0).unwrap().is_empty());
    }
}
