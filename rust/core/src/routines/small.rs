//! LU and Cholesky of tiny matrices (n <= NATIVE_MAX), computed here instead of by LAPACK.
//!
//! Same algorithms and pivot choices as LAPACK's unblocked xGETF2 and xPOTF2 (which xGETRF and
//! xPOTRF run at these sizes), same `info`, so results and errors agree with LAPACK's up to
//! rounding. Why not LAPACK: an OpenBLAS call takes its buffer allocator's global lock, so
//! calls from several threads (a stack spread over cores) queue on it and two threads ran a
//! stack of 4x4 solves slower than one; and the call costs about as much as a 4x4 factorisation.
//! All matrices are column-major n x n with leading dimension n; complex types pivot on
//! |re| + |im| and factor Hermitian matrices (A = L L^H), as LAPACK's complex routines do.

use num_traits::{Float, Zero};

use crate::blas::Int;
use crate::scalar::Scalar;

/// Largest order handled here.
pub const NATIVE_MAX: usize = 8;

/// LU with partial pivoting in place (xGETF2): 1-based pivots, `info` = the first exactly zero
/// pivot (1-based) or 0. The factorisation completes even past a zero pivot, as LAPACK's does.
pub fn getf2<T: Scalar>(a: &mut [T], n: usize, ipiv: &mut [Int]) -> i64 {
    let a = &mut a[..n * n];
    let mut info = 0;
    for j in 0..n {
        // The first entry of largest magnitude at or below the diagonal (xIAMAX).
        let col = &a[j * n..(j + 1) * n];
        let (mut p, mut best) = (j, col[j].abs1());
        for (i, v) in col.iter().enumerate().skip(j + 1) {
            if v.abs1() > best {
                (p, best) = (i, v.abs1());
            }
        }
        ipiv[j] = (p + 1) as Int;
        if a[p + j * n] != T::zero() {
            if p != j {
                for c in 0..n {
                    a.swap(p + c * n, j + c * n);
                }
            }
            let d = a[j + j * n];
            for v in &mut a[j * n + j + 1..(j + 1) * n] {
                *v = v.div_by(d);
            }
        } else if info == 0 {
            info = j as i64 + 1;
        }
        // Rank-1 update of the trailing block (xGER).
        let (left, right) = a.split_at_mut((j + 1) * n);
        let l = &left[j * n + j + 1..(j + 1) * n];
        for c in 0..n - j - 1 {
            let col = &mut right[c * n..(c + 1) * n];
            let f = col[j];
            for (x, &li) in col[j + 1..].iter_mut().zip(l) {
                *x = *x - li * f;
            }
        }
    }
    info
}

/// Solve A X = B with the factors of [`getf2`] (xGETRS, no transpose); B is n x nrhs.
pub fn getrs<T: Scalar>(lu: &[T], n: usize, ipiv: &[Int], b: &mut [T], nrhs: usize) {
    for x in b[..n * nrhs].chunks_exact_mut(n.max(1)) {
        for (i, &p) in ipiv[..n].iter().enumerate() {
            x.swap(i, p as usize - 1);
        }
        for j in 0..n {
            let xj = x[j];
            for (xi, &l) in x[j + 1..].iter_mut().zip(&lu[j * n + j + 1..(j + 1) * n]) {
                *xi = *xi - l * xj;
            }
        }
        for j in (0..n).rev() {
            x[j] = x[j].div_by(lu[j + j * n]);
            let xj = x[j];
            for (xi, &u) in x[..j].iter_mut().zip(&lu[j * n..j * n + j]) {
                *xi = *xi - u * xj;
            }
        }
    }
}

/// The inverse of A from the factors of [`getf2`] into `inv` (n x n), column by column.
pub fn getri<T: Scalar>(lu: &[T], n: usize, ipiv: &[Int], inv: &mut [T]) {
    let inv = &mut inv[..n * n];
    inv.fill(T::zero());
    for j in 0..n {
        inv[j + j * n] = T::one();
    }
    getrs(lu, n, ipiv, inv, n);
}

/// Element (i, k) of L for a Cholesky factor stored in triangle `uplo`: the lower case stores
/// L, the upper case U = L^H (its mirror, conjugated).
fn l_at<T: Scalar>(uplo: u8, a: &[T], n: usize, i: usize, k: usize) -> T {
    if uplo == b'L' { a[i + k * n] } else { a[k + i * n].conj() }
}

fn l_set<T: Scalar>(uplo: u8, a: &mut [T], n: usize, i: usize, k: usize, v: T) {
    if uplo == b'L' { a[i + k * n] = v } else { a[k + i * n] = v.conj() }
}

/// Cholesky in place (xPOTF2) in triangle `uplo` (b'L': A = L L^H, else A = U^H U); `info` =
/// the order of the first leading minor that is not positive, or 0. The other triangle is not
/// touched.
pub fn potf2<T: Scalar>(uplo: u8, a: &mut [T], n: usize) -> i64 {
    for j in 0..n {
        // The diagonal is real: LAPACK reads only its real part.
        let mut d = a[j + j * n].re();
        for k in 0..j {
            let l = l_at(uplo, a, n, j, k).modulus();
            d = d - l * l;
        }
        if d <= T::Real::zero() || d.is_nan() {
            a[j + j * n] = T::from_real(d);
            return j as i64 + 1;
        }
        let d = d.sqrt();
        a[j + j * n] = T::from_real(d);
        for i in j + 1..n {
            let mut v = l_at(uplo, a, n, i, j);
            for k in 0..j {
                v = v - l_at(uplo, a, n, i, k) * l_at(uplo, a, n, j, k).conj();
            }
            l_set(uplo, a, n, i, j, v.div_real(d));
        }
    }
    0
}

/// Solve A X = B with the factor of [`potf2`] (xPOTRS): L y = b, then L^H x = y; B is n x nrhs.
#[allow(clippy::needless_range_loop)] // the substitutions index x and the factor alike, as LAPACK's do
pub fn potrs<T: Scalar>(uplo: u8, c: &[T], n: usize, b: &mut [T], nrhs: usize) {
    for x in b[..n * nrhs].chunks_exact_mut(n.max(1)) {
        for i in 0..n {
            let mut v = x[i];
            for k in 0..i {
                v = v - l_at(uplo, c, n, i, k) * x[k];
            }
            x[i] = v.div_real(c[i + i * n].re());
        }
        for i in (0..n).rev() {
            let mut v = x[i];
            for k in i + 1..n {
                v = v - l_at(uplo, c, n, k, i).conj() * x[k];
            }
            x[i] = v.div_real(c[i + i * n].re());
        }
    }
}

/// Largest column sum of |a| of an n x n column-major matrix.
pub fn norm1<T: Scalar>(a: &[T], n: usize) -> T::Real {
    a[..n * n].chunks_exact(n.max(1)).map(|c| c.iter().fold(T::Real::zero(), |s, v| s + v.modulus()))
        .fold(T::Real::zero(), |m, v| if v.is_nan() || v > m { v } else { m })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matmul(a: &[f64], b: &[f64], n: usize) -> Vec<f64> {
        let mut c = vec![0.0; n * n];
        for j in 0..n {
            for k in 0..n {
                for i in 0..n {
                    c[i + j * n] += a[i + k * n] * b[k + j * n];
                }
            }
        }
        c
    }

    fn random(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed;
        (0..n * n).map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        }).collect()
    }

    #[test]
    fn lu_solve_inverse_against_the_definition() {
        for n in 1..=NATIVE_MAX {
            let a = random(n, n as u64 + 1);
            let mut lu = a.clone();
            let mut ipiv = vec![0; n];
            assert_eq!(getf2(&mut lu, n, &mut ipiv), 0);
            let mut inv = vec![0.0; n * n];
            getri(&lu, n, &ipiv, &mut inv);
            let eye = matmul(&a, &inv, n);
            for j in 0..n {
                for i in 0..n {
                    let want = if i == j { 1.0 } else { 0.0 };
                    assert!((eye[i + j * n] - want).abs() < 1e-10, "n={n}: {:?}", eye);
                }
            }
        }
        // A zero pivot is reported at its place, and the factorisation still completes.
        let mut s = vec![1.0, 2.0, 1.0, 2.0, 4.0, 1.0, 3.0, 6.0, 1.0]; // columns of [[1,2,3],[2,4,6],[1,1,1]]
        let mut ipiv = vec![0; 3];
        assert!(getf2(&mut s, 3, &mut ipiv) > 0);
    }

    #[test]
    fn cholesky_both_triangles() {
        for n in 1..=NATIVE_MAX {
            let g = random(n, 7 * n as u64);
            // a = g g^T + n I
            let mut a = vec![0.0; n * n];
            for j in 0..n {
                for i in 0..n {
                    a[i + j * n] = (0..n).map(|k| g[i + k * n] * g[j + k * n]).sum::<f64>() + if i == j { n as f64 } else { 0.0 };
                }
            }
            for uplo in [b'L', b'U'] {
                let mut c = a.clone();
                assert_eq!(potf2(uplo, &mut c, n), 0);
                let mut x: Vec<f64> = (0..n).map(|i| i as f64 + 1.0).collect();
                potrs(uplo, &c, n, &mut x, 1);
                let ax: Vec<f64> = (0..n).map(|i| (0..n).map(|k| a[i + k * n] * x[k]).sum()).collect();
                for (i, v) in ax.iter().enumerate() {
                    assert!((v - (i as f64 + 1.0)).abs() < 1e-9);
                }
            }
        }
        let mut bad = vec![4.0, 0.0, 0.0, -1.0];
        assert_eq!(potf2(b'L', &mut bad, 2), 2);
    }

    #[test]
    fn hermitian_cholesky_both_triangles() {
        use crate::scalar::C64;
        // A = [[4, 1-2i], [1+2i, 6]] (Hermitian, positive definite), b = A [1, i].
        let a = [C64::new(4.0, 0.0), C64::new(1.0, 2.0), C64::new(1.0, -2.0), C64::new(6.0, 0.0)];
        let x_true = [C64::new(1.0, 0.0), C64::new(0.0, 1.0)];
        let b: Vec<C64> = (0..2).map(|i| (0..2).map(|k| a[i + 2 * k] * x_true[k]).sum()).collect();
        for uplo in [b'L', b'U'] {
            let mut c = a;
            assert_eq!(potf2(uplo, &mut c, 2), 0);
            let mut x = b.clone();
            potrs(uplo, &c, 2, &mut x, 1);
            for (got, want) in x.iter().zip(&x_true) {
                assert!((got - want).norm() < 1e-12, "{uplo}: {x:?}");
            }
        }
    }
}
