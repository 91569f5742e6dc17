//! Shared by the OpenCL SVD tests: the device, a seeded generator of test matrices, and
//! LAPACK's test ratios (xDRVBD).
#![allow(dead_code)] // each test file uses part of it

use lapack_ai_core::opencl::{self, Gpu};
use lapack_ai_core::routines::svd::{Svd, Vectors};
use lapack_ai_core::Scalar;
use ndarray::{s, Array2, Array3, ArrayD, Axis, Ix3};
use num_traits::Float;

pub fn device() -> Option<std::sync::Arc<Gpu>> {
    let found = opencl::devices();
    let Some(dev) = found.list.iter().find(|d| d.unusable.is_none() && d.fp64) else {
        eprintln!("SKIP: no OpenCL device with fp64: {:?}", found.problem);
        return None;
    };
    Some(opencl::gpu(dev.index).expect("runtime"))
}

pub struct Rng(pub u64);

impl Rng {
    pub fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-300), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    pub fn matrix(&mut self, m: usize, n: usize) -> Array2<f64> {
        Array2::from_shape_fn((m, n), |_| self.normal())
    }
    /// k random orthonormal columns of length m (Gram-Schmidt twice on a Gaussian matrix).
    pub fn orthonormal(&mut self, m: usize, k: usize) -> Array2<f64> {
        let mut q = self.matrix(m, k);
        for _ in 0..2 {
            for j in 0..k {
                for l in 0..j {
                    let h = q.column(l).dot(&q.column(j));
                    let ql = q.column(l).to_owned();
                    q.column_mut(j).scaled_add(-h, &ql);
                }
                let nrm = q.column(j).dot(&q.column(j)).sqrt();
                q.column_mut(j).mapv_inplace(|x| x / nrm);
            }
        }
        q
    }
    /// U diag(d) V^T with random orthonormal columns in U and V and the given singular values.
    pub fn with_values(&mut self, m: usize, n: usize, d: &[f64]) -> Array2<f64> {
        let k = m.min(n);
        let (u, v) = (self.orthonormal(m, k), self.orthonormal(n, k));
        let mut ud = Array2::zeros((m, k));
        for (j, &dj) in d.iter().enumerate().take(k) {
            ud.column_mut(j).assign(&(&u.column(j) * dj));
        }
        ud.dot(&v.t())
    }
}

pub fn one_norm(x: &Array2<f64>) -> f64 {
    x.columns().into_iter().map(|c| c.iter().map(|v| v.abs()).sum::<f64>()).fold(0.0, f64::max)
}

pub fn to_f64<T: Scalar + Float>(x: &ArrayD<T>) -> ArrayD<f64> {
    x.mapv(|v| v.to_f64().unwrap())
}

/// LAPACK's ratios for each matrix of a stack, the largest of each: ||A - U S V^T|| /
/// (||A|| max(m, n) eps), ||I - U^T U|| / (m eps), ||I - V^T V|| / (n eps) (1-norms), after
/// checking shapes and that S is sorted descending and non-negative.
pub fn ratios<T: Scalar + Float>(a: &Array3<f64>, r: &Svd<T>, ju: Vectors, jvt: Vectors) -> [f64; 3] {
    let eps = T::epsilon().to_f64().unwrap();
    let (count, m, n) = a.dim();
    let k = m.min(n);
    let s = to_f64(&r.s).into_shape_with_order((count, k)).unwrap();
    let ku = if ju == Vectors::Full { m } else { k };
    let kv = if jvt == Vectors::Full { n } else { k };
    let u = r.u.as_ref().map(|u| to_f64(u).into_dimensionality::<Ix3>().unwrap());
    let vt = r.vt.as_ref().map(|v| to_f64(v).into_dimensionality::<Ix3>().unwrap());
    assert_eq!(u.as_ref().map(|u| u.dim()), (ju != Vectors::None).then_some((count, m, ku)));
    assert_eq!(vt.as_ref().map(|v| v.dim()), (jvt != Vectors::None).then_some((count, kv, n)));
    let mut worst = [0.0f64; 3];
    for i in 0..count {
        let si = s.index_axis(Axis(0), i);
        assert!(si.iter().all(|&x| x >= 0.0) && si.windows(2).into_iter().all(|w| w[0] >= w[1]), "matrix {i}: {si}");
        if let (Some(u), Some(vt)) = (&u, &vt) {
            let (ui, vi) = (u.index_axis(Axis(0), i), vt.index_axis(Axis(0), i));
            let us = &ui.slice(s![.., ..k]) * &si;
            let res = &a.index_axis(Axis(0), i) - &us.dot(&vi.slice(s![..k, ..]));
            let an = one_norm(&a.index_axis(Axis(0), i).to_owned());
            worst[0] = worst[0].max(if an > 0.0 { one_norm(&res) / (an * m.max(n) as f64 * eps) } else { one_norm(&res) });
        }
        if let Some(u) = &u {
            let ui = u.index_axis(Axis(0), i);
            worst[1] = worst[1].max(one_norm(&(Array2::eye(ku) - ui.t().dot(&ui))) / (m as f64 * eps));
        }
        if let Some(vt) = &vt {
            let vi = vt.index_axis(Axis(0), i);
            worst[2] = worst[2].max(one_norm(&(Array2::eye(kv) - vi.dot(&vi.t()))) / (n as f64 * eps));
        }
    }
    worst
}

