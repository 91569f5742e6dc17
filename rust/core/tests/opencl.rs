//! OpenCL GEMM against the CPU path on whatever OpenCL device exists (PoCL in CI). Skips,
//! saying so, when no device is present.

use lapack_ai_core::opencl::{self, gemm::KernelChoice};
use lapack_ai_core::routines::gemm::gemm;
use ndarray::{Array, ArrayD, IxDyn, ShapeBuilder};

fn rand(shape: &[usize], seed: &mut u64, fortran: bool) -> ArrayD<f64> {
    let v: Vec<f64> = (0..shape.iter().product()).map(|_| {
        *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (*seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    }).collect();
    if fortran { Array::from_shape_vec(IxDyn(shape).f(), v).unwrap() } else { Array::from_shape_vec(IxDyn(shape), v).unwrap() }
}

#[test]
fn gemm_matches_cpu_over_shapes_layouts_and_transposes() {
    let found = opencl::devices();
    let Some(dev) = found.list.iter().find(|d| d.unusable.is_none() && d.fp64) else {
        eprintln!("SKIP: no OpenCL device with fp64: {:?}", found.problem);
        return;
    };
    let gpu = opencl::gpu(dev.index).expect("runtime");
    let mut seed = 7;
    for &(m, n, k) in &[(1, 1, 1), (7, 5, 3), (33, 31, 17), (64, 64, 64), (1, 70, 9), (70, 1, 130), (129, 67, 40)] {
        for &(ta, tb) in &[(false, false), (true, false), (false, true), (true, true)] {
            for &(fa, fb, fc) in &[(false, false, false), (true, true, true), (false, true, false), (true, false, true)] {
                let a = rand(&if ta { [k, m] } else { [m, k] }, &mut seed, fa);
                let b = rand(&if tb { [n, k] } else { [k, n] }, &mut seed, fb);
                let c0 = rand(&[m, n], &mut seed, fc);
                let (alpha, beta) = (1.5, -0.5);
                let mut want = c0.clone();
                gemm(a.view(), b.view(), want.view_mut(), alpha, beta, ta, tb).unwrap();
                let mut got = c0.clone();
                let run = opencl::gemm::gemm(&gpu, a.view(), b.view(), got.view_mut(), alpha, beta, ta, tb, KernelChoice::Auto).unwrap();
                let err = (&got - &want).iter().fold(0.0f64, |e, x| e.max(x.abs()));
                let tol = 1e-13 * k as f64 * 4.0;
                assert!(err <= tol, "m={m} n={n} k={k} ta={ta} tb={tb} layouts={fa},{fb},{fc}: err {err} > {tol} ({})", run.kernel);
            }
        }
    }
    injected_build_fault_is_a_build_failure();
}

/// Called from the test above: the fault switch is process-wide, tests run in parallel.
fn injected_build_fault_is_a_build_failure() {
    let Some(dev) = opencl::devices().list.iter().find(|d| d.unusable.is_none()) else { return };
    let gpu = opencl::gpu(dev.index).unwrap();
    opencl::fail::inject(Some(opencl::fail::Fault::Build));
    let src = opencl::program::source("gemm.cl");
    let r = gpu.programs.get(&gpu.context, gpu.device.id(), &[&src], "-DREAL_DOUBLE=1 -DA_MFAST=0 -DB_NFAST=1 -DTM=32 -DTN=32 -DTK=8 -DWM=8 -DWN=8");
    opencl::fail::inject(None);
    let e = r.err().expect("must fail");
    assert_eq!(e.kind, opencl::FailKind::Build, "{e}");
}
