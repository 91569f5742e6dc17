//! Property tests of the layout code every routine reads its input through: for random
//! shapes and every kind of strided view (sliced with steps, reversed, broadcast, permuted,
//! empty), `Mats` hands out exactly the matrices plain indexing names, `load` copies exactly
//! their elements in column-major order, and the batch runner visits every matrix once.

use lapack_ai_core::batch::{run, Items};
use lapack_ai_core::lapack::FMat;
use lapack_ai_core::layout::{load, Mats};
use ndarray::{ArrayD, ArrayViewD, Axis, Dimension, IxDyn, ShapeBuilder, Slice};
use proptest::prelude::*;

/// A view of `base` built by the drawn operations: steps, reversals, a broadcast axis, and a
/// permutation of the batch axes.
fn view<'a>(base: &'a ArrayD<f64>, steps: &[(isize, bool)], broadcast: Option<usize>, permute: bool) -> ArrayViewD<'a, f64> {
    let mut v = base.view();
    if let Some(len) = broadcast {
        // A leading axis of stride 0 (what np.broadcast_to makes), over the plain base view.
        let mut shape = vec![len];
        shape.extend_from_slice(v.shape());
        let mut strides = vec![0usize];
        strides.extend(v.strides().iter().map(|&s| s as usize));
        // SAFETY: `base` is standard-layout (non-negative strides from its first element); the
        // new axis repeats its elements. Read-only.
        v = unsafe { ArrayViewD::from_shape_ptr(IxDyn(&shape).strides(IxDyn(&strides)), base.as_ptr()) };
    }
    let skip = usize::from(broadcast.is_some());
    for (d, &(step, rev)) in steps.iter().enumerate().take(v.ndim() - skip) {
        let step = if rev { -step } else { step };
        v.slice_axis_inplace(Axis(d + skip), Slice::new(0, None, step));
    }
    if permute && v.ndim() >= 4 {
        let mut axes: Vec<usize> = (0..v.ndim()).collect();
        axes.swap(0, 1);
        v = v.permuted_axes(IxDyn(&axes));
    }
    v
}

fn nested(v: &ArrayViewD<f64>, i: usize) -> Vec<f64> {
    // Matrix i in C order of the batch indices, read element by element, column-major.
    let batch = &v.shape()[..v.ndim() - 2];
    let mut m = v.clone();
    let mut rest = i;
    let mut idx = vec![0; batch.len()];
    for d in (0..batch.len()).rev() {
        idx[d] = rest % batch[d];
        rest /= batch[d];
    }
    for &k in &idx {
        m = m.index_axis_move(Axis(0), k);
    }
    let (r, c) = (m.shape()[0], m.shape()[1]);
    (0..c).flat_map(|j| (0..r).map(move |i| (i, j))).map(|(i, j)| m[[i, j].as_ref()]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mats_and_load_read_exactly_the_view(
        dims in prop::collection::vec(0usize..4, 2..6),
        steps in prop::collection::vec((1isize..3, any::<bool>()), 6),
        broadcast in prop::option::of(0usize..3),
        permute in any::<bool>(),
    ) {
        let base = ArrayD::from_shape_fn(IxDyn(&dims.iter().map(|d| d * 2 + 1).collect::<Vec<_>>()),
                                         |ix| ix.as_array_view().iter().fold(0.0, |s, &k| s * 7.0 + k as f64));
        let v = view(&base, &steps, broadcast, permute);
        let mats = Mats::new(v.clone()).unwrap();
        let batch: usize = v.shape()[..v.ndim() - 2].iter().product();
        prop_assert_eq!(mats.count, batch);
        let (r, c) = (mats.rows, mats.cols);
        let mut buf = vec![f64::NAN; r * c];
        for i in 0..mats.count {
            let want = nested(&v, i);
            let m = mats.get(i);
            prop_assert_eq!(m.dim(), (r, c));
            let mut f = FMat::new(&mut buf, r, c);
            prop_assert!(load(m, &mut f, true));
            prop_assert_eq!(&buf[..], &want[..]);
            // The transposed load (for C-ordered stacks) reads the same elements.
            if mats.c_ordered() {
                let mut t = vec![0.0; r * c];
                let mut ft = FMat::new(&mut t, c, r);
                prop_assert!(load(mats.get(i).reversed_axes(), &mut ft, true));
                for j in 0..c { for k in 0..r { prop_assert_eq!(t[j + k * c], want[k + j * r]); } }
            }
        }
    }

    #[test]
    fn the_batch_runner_visits_each_matrix_once(count in 0usize..3000, dim in 1usize..80, len in 0usize..5) {
        let mut out = vec![0usize; count * len];
        let mut seen = vec![0u8; count];
        let seen_ptr = std::sync::Mutex::new(&mut seen);
        run(count, dim, Items::new(&mut out, len), || (), |i, j, _, o: &mut Items<usize>| {
            o.item(j).iter_mut().for_each(|x| *x = i + 1);
            seen_ptr.lock().unwrap()[i] += 1;
            Ok(())
        }).unwrap();
        prop_assert!(seen.iter().all(|&s| s == 1));
        prop_assert!(out.chunks(len.max(1)).enumerate().all(|(i, ch)| len == 0 || ch.iter().all(|&x| x == i + 1)));
    }
}
