//! Copies through pinned staging (opencl::staging) in chunks of 4 KiB, so that small arrays
//! take every path: direct, one chunk, both chunks in turn, a short last chunk, offsets.
//! (Its own test binary: the chunk size is read once per process.)

use lapack_ai_core::opencl::staging::{download, upload, Plain};
use opencl3::memory::{Buffer, CL_MEM_READ_WRITE};

mod common;

fn roundtrip<T: Plain + PartialEq + std::fmt::Debug>(gpu: &lapack_ai_core::opencl::Gpu, make: impl Fn(usize) -> T) {
    let size = std::mem::size_of::<T>();
    let chunk = 4096 / size;
    for len in [1, 100, chunk / 4 - 1, chunk / 4, chunk - 1, chunk, chunk + 1, 2 * chunk, 2 * chunk + 3, 7 * chunk + 5] {
        for at in [0, 3] {
            let src: Vec<T> = (0..len).map(&make).collect();
            // SAFETY: no host pointer.
            let mut buf = unsafe { Buffer::<T>::create(&gpu.context, CL_MEM_READ_WRITE, at + len, std::ptr::null_mut()) }.unwrap();
            upload(gpu, &mut buf, at, &src, "up").unwrap();
            let mut back: Vec<T> = (0..len).map(|i| make(i + 1)).collect();
            download(gpu, &buf, at, &mut back, "down").unwrap();
            assert_eq!(back, src, "{len} elements of {size} bytes at {at}");
        }
    }
}

#[test]
fn chunked_copies_round_trip_exactly() {
    std::env::set_var("LAPACK_AI_STAGING_KIB", "4");
    let Some(gpu) = common::device() else { return };
    roundtrip::<f64>(&gpu, |i| i as f64 * 0.5 - 7.0);
    roundtrip::<f32>(&gpu, |i| i as f32 * 0.25 + 1.0);
    roundtrip::<u8>(&gpu, |i| (i * 31 % 251) as u8);
    assert!(lapack_ai_core::opencl::staging::pinned(&gpu), "the copies went directly: no pinned chunks were made");
}
