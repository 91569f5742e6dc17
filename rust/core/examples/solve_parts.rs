use lapack_ai_core::lapack::*;
use std::time::Instant;
fn t(name: &str, reps: usize, mut f: impl FnMut()) {
    let mut best = f64::MAX;
    for _ in 0..7 { let s = Instant::now(); for _ in 0..reps { f() } best = best.min(s.elapsed().as_secs_f64() / reps as f64 * 1e6); }
    print!("{name} {best:.2}  ");
}
fn main() {
    for n in [64usize, 256] {
        let reps = if n <= 64 { 20000 } else { 500 };
        let mut s = 1u64;
        let a: Vec<f64> = (0..n * n).map(|i| { s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5 + if i % (n + 1) == 0 { n as f64 } else { 0.0 } }).collect();
        let mut w = a.clone(); let mut piv = vec![0i64; n]; let mut x = vec![1.0; 2 * n]; let mut z = vec![1.0; n];
        let mut wk = Work::<f64>::default();
        print!("n={n}: ");
        t("copy", reps, || w.copy_from_slice(&a));
        t("copy+getrf", reps, || { w.copy_from_slice(&a); getrf(&mut FMat::new(&mut w, n, n), &mut piv).unwrap() });
        let f = FMat::new(&mut w, n, n);
        t("getrs2N", reps, || getrs(b'N', &f, &piv, &mut FMat::new(&mut x, n, 2)).unwrap());
        t("getrs2T", reps, || getrs(b'T', &f, &piv, &mut FMat::new(&mut x, n, 2)).unwrap());
        t("getrs1N", reps, || getrs(b'N', &f, &piv, &mut FMat::new(&mut z, n, 1)).unwrap());
        t("getrs1T", reps, || getrs(b'T', &f, &piv, &mut FMat::new(&mut z, n, 1)).unwrap());
        t("lange1", reps, || { lange(b'1', &f, &mut wk).unwrap(); });
        t("langeI", reps, || { lange(b'I', &f, &mut wk).unwrap(); });
        println!();
    }
}
