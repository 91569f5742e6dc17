//! The pinned chunks are unmapped and freed with the device's runtime: runtimes made and
//! forgotten again and again (as after a lost device) do not pile up pinned memory.
//! (Its own test binary: it forgets every runtime of the process.)

use lapack_ai_core::opencl::{self, staging};
use opencl3::memory::{Buffer, CL_MEM_READ_WRITE};

mod common;

fn resident_mib() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0 / 1048576.0
}

#[test]
fn forgotten_runtimes_release_their_chunks() {
    let Some(first) = common::device() else { return };
    let index = opencl::devices().list.iter().find(|d| d.name == first.info.name).map(|d| d.index).unwrap();
    drop(first);
    let data = vec![1.5f64; 1 << 21]; // 16 MiB: both 8 MiB chunks filled
    let cycle = || {
        let gpu = opencl::gpu(index).unwrap();
        // SAFETY: no host pointer.
        let mut buf = unsafe { Buffer::<f64>::create(&gpu.context, CL_MEM_READ_WRITE, data.len(), std::ptr::null_mut()) }.unwrap();
        staging::upload(&gpu, &mut buf, 0, &data, "up").unwrap();
        assert!(staging::pinned(&gpu));
        drop(buf);
        drop(gpu);
        opencl::runtime::forget();
    };
    for _ in 0..3 {
        cycle();
    }
    let before = resident_mib();
    for _ in 0..20 {
        cycle();
    }
    let grown = resident_mib() - before;
    // Each leaked runtime would keep its two touched chunks, 16 MiB (320 MiB in all: 352 MiB
    // measured on PoCL without the unmapping); PoCL itself keeps about 3 MiB a cycle.
    assert!(grown < 160.0, "20 runtimes made and forgotten grew the process by {grown:.0} MiB");
}
