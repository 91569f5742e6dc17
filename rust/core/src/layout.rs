//! Moving matrices between caller layouts and LAPACK's column-major buffers.
//!
//! Inputs arrive as strided views (C, Fortran, sliced, negative strides, broadcast) of any
//! number of dimensions; `Mats` hands out one matrix of a stack at a time by index, without a
//! list of views (a stack of 2^40 empty matrices costs nothing). Every routine copies each
//! input matrix exactly once, into the buffer LAPACK then works on in place, and that buffer
//! becomes the returned array. Routines whose result does not depend on it (symmetric input,
//! determinants, SVD) may load a C-ordered matrix as its transpose, a straight memcpy.

use ndarray::{ArrayD, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMut2, Axis, Ix2, Ix3, IxDyn, ShapeBuilder};

use crate::alloc;
use crate::batch::Items;
use crate::error::{CoreError, Result};
use crate::lapack::FMat;
use crate::scalar::Scalar;

/// Merge the batch axes of `(..., m, n)` into one, slowest first so the merged index keeps C
/// order; None when the strides do not allow it.
fn merged_batch<D: ndarray::Dimension, S: ndarray::RawData>(mut a: ndarray::ArrayBase<S, D>) -> Option<ndarray::ArrayBase<S, D>> {
    let nb = a.ndim().checked_sub(2)?;
    if nb < 2 {
        return Some(a);
    }
    for d in (0..nb - 1).rev() {
        if !a.merge_axes(Axis(d), Axis(nb - 1)) {
            return None;
        }
    }
    Some(a)
}

/// A stack whose batch axes merged into one, as a 3-D `(batch, m, n)` array of the same data.
fn as_3d<S: ndarray::RawData>(merged: ndarray::ArrayBase<S, IxDyn>) -> ndarray::ArrayBase<S, Ix3> {
    let mut flat = if merged.ndim() == 2 { merged.insert_axis(Axis(0)) } else { merged };
    while flat.ndim() > 3 {
        flat = flat.index_axis_move(Axis(0), 0); // the merged-away axes have length 1
    }
    flat.into_dimensionality().expect("3-D")
}

/// Split `(..., m, n)` into the batch shape and the matrix shape.
pub fn split_shape(shape: &[usize]) -> Result<(Vec<usize>, usize, usize)> {
    match shape.len() {
        0 | 1 => Err(CoreError::Shape(format!("expected an array of at least 2 dimensions, got shape {shape:?}"))),
        d => Ok((shape[..d - 2].to_vec(), shape[d - 2], shape[d - 1])),
    }
}

/// Number of matrices in a batch shape (NumPy bounds the product of non-zero lengths).
pub fn count(batch: &[usize]) -> Result<usize> {
    if batch.contains(&0) {
        return Ok(0);
    }
    batch.iter().try_fold(1usize, |p, &d| p.checked_mul(d))
        .ok_or_else(|| CoreError::Shape(format!("a batch of shape {batch:?} has more matrices than can be counted")))
}

/// The matrices of a stack `(..., m, n)`, by index in C order of the batch indices.
#[derive(Clone)]
pub struct Mats<'a, T> {
    all: ArrayViewD<'a, T>,
    /// The batch axes merged into one, when the strides allow (the fast, common case).
    flat: Option<ArrayView3<'a, T>>,
    pub batch: Vec<usize>,
    pub rows: usize,
    pub cols: usize,
    pub count: usize,
}

impl<'a, T> Mats<'a, T> {
    pub fn new(a: ArrayViewD<'a, T>) -> Result<Self> {
        let (batch, rows, cols) = split_shape(a.shape())?;
        let count = count(&batch)?;
        // (An empty batch has no matrix to hand out; merging its axes would index one.)
        let flat = if count == 0 { None } else { merged_batch(a.clone()).map(as_3d) };
        Ok(Mats { all: a, flat, batch, rows, cols, count })
    }

    /// Matrix `i` (in C order of the batch indices), with its own strides.
    pub fn get(&self, i: usize) -> ArrayView2<'a, T> {
        assert!(i < self.count, "matrix {i} of {}", self.count);
        if let Some(f) = &self.flat {
            return (*f).index_axis_move(Axis(0), i);
        }
        let mut v = self.all.clone();
        let mut stride: usize = self.count;
        for &d in &self.batch {
            stride /= d;
            v = v.index_axis_move(Axis(0), (i / stride) % d);
        }
        v.into_dimensionality::<Ix2>().expect("2-D")
    }

    /// The stack as `(count, m, n)` when its batch axes merge, else None.
    pub fn flat(&self) -> Option<&ArrayView3<'a, T>> {
        self.flat.as_ref()
    }

    /// Element strides of each matrix (rows, columns): the same for every matrix of a stack.
    pub fn strides(&self) -> (isize, isize) {
        let s = self.all.strides();
        (s[s.len() - 2], s[s.len() - 1])
    }

    /// True when every matrix is C-contiguous but not also Fortran-contiguous: then loading the
    /// transpose is a memcpy.
    pub fn c_ordered(&self) -> bool {
        let ((r, c), (sr, sc)) = ((self.rows, self.cols), self.strides());
        let row = (c <= 1 || sc == 1) && (r <= 1 || sr == c as isize);
        let col = (r <= 1 || sr == 1) && (c <= 1 || sc == r as isize);
        self.count > 0 && row && !col
    }

    /// Largest matrix dimension (what decides how a stack is spread over threads).
    pub fn dim(&self) -> usize {
        self.rows.max(self.cols)
    }
}

/// Copy `src` into the column-major `dst` (same shape). Returns false if any entry is NaN/Inf.
pub fn load<T: Scalar>(src: ArrayView2<T>, dst: &mut FMat<T>, check_finite: bool) -> bool {
    let (r, c) = src.dim();
    assert_eq!((r, c), (dst.rows, dst.cols), "load: shapes differ");
    let buf = &mut dst.data[..r * c];
    if src.t().is_standard_layout() || r * c <= TILE * TILE {
        ArrayViewMut2::from_shape((r, c).f(), buf).expect("sized above").assign(&src);
    } else {
        tiled_copy(&src, buf);
    }
    !check_finite || all_finite(buf)
}

const TILE: usize = 32;

/// Copy a strided view into a column-major buffer tile by tile, so that neither the reads
/// (along rows of a C-ordered source) nor the writes (down columns) miss the cache on every
/// element of a large matrix.
fn tiled_copy<T: Scalar>(src: &ArrayView2<T>, dst: &mut [T]) {
    let (r, c) = src.dim();
    for jb in (0..c).step_by(TILE) {
        for ib in (0..r).step_by(TILE) {
            for j in jb..(jb + TILE).min(c) {
                let col = &mut dst[j * r..(j + 1) * r];
                let end = (ib + TILE).min(r);
                for (i, d) in col[ib..end].iter_mut().enumerate() {
                    // SAFETY: ib + i < r and j < c by the loop bounds.
                    *d = unsafe { *src.uget((ib + i, j)) };
                }
            }
        }
    }
}

/// NaN/Inf check written so the compiler vectorises it: x - x is 0 for finite x, NaN otherwise.
#[allow(clippy::eq_op)] // x - x is the point
pub fn all_finite<T: Scalar>(xs: &[T]) -> bool {
    let mut acc = [T::zero(); 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks.remainder();
    for ch in chunks {
        for k in 0..8 {
            acc[k] = acc[k] + (ch[k] - ch[k]);
        }
    }
    let mut total = acc.iter().fold(T::zero(), |s, &v| s + v);
    for &x in tail {
        total = total + (x - x);
    }
    total == T::zero()
}

/// A stack of column-major matrices in one buffer: what LAPACK works on, and what is returned.
pub struct Stack<T> {
    pub data: Vec<T>,
    pub batch: Vec<usize>,
    pub rows: usize,
    pub cols: usize,
}

impl<T: Scalar> Stack<T> {
    /// Zeros, allocated fallibly (`routine` names the caller in a memory error).
    pub fn new(routine: &str, batch: &[usize], rows: usize, cols: usize) -> Result<Self> {
        let len = count(batch)?.checked_mul(rows).and_then(|x| x.checked_mul(cols))
            .ok_or_else(|| alloc::memory(routine, None, alloc::available()))?;
        Ok(Stack { data: alloc::vec(routine, len, T::zero())?, batch: batch.to_vec(), rows, cols })
    }

    /// The matrices one by one, for the batch runner.
    pub fn items(&mut self) -> Items<'_, T> {
        Items::new(&mut self.data, self.rows * self.cols)
    }

    /// The stack as an array of shape `batch + (rows, cols)` (each matrix Fortran-ordered), or,
    /// with `transposed`, of each matrix's transpose `batch + (cols, rows)` (C-ordered). No copy.
    pub fn into_array(self, transposed: bool) -> ArrayD<T> {
        let mut shape = self.batch.clone();
        shape.extend([self.cols, self.rows]);
        let mut arr = ArrayD::from_shape_vec(IxDyn(&shape), self.data).expect("sized in new");
        if !transposed {
            let d = arr.ndim();
            arr.swap_axes(d - 2, d - 1);
        }
        arr
    }
}

/// A stack of vectors (singular values, eigenvalues, pivots) of shape `batch + (len,)`.
pub struct VecStack<T> {
    pub data: Vec<T>,
    pub batch: Vec<usize>,
    pub len: usize,
}

impl<T: Clone + Default + Send> VecStack<T> {
    pub fn new(routine: &str, batch: &[usize], len: usize) -> Result<Self> {
        let total = count(batch)?.checked_mul(len).ok_or_else(|| alloc::memory(routine, None, alloc::available()))?;
        Ok(VecStack { data: alloc::vec(routine, total, T::default())?, batch: batch.to_vec(), len })
    }

    pub fn items(&mut self) -> Items<'_, T> {
        Items::new(&mut self.data, self.len)
    }

    pub fn into_array(self) -> ArrayD<T> {
        let mut shape = self.batch;
        shape.push(self.len);
        ArrayD::from_shape_vec(IxDyn(&shape), self.data).expect("sized in new")
    }
}

/// One value per matrix (rcond, log-determinant), shaped like the batch.
pub fn per_matrix<T: Clone + Default + Send>(routine: &str, batch: &[usize], fill: T) -> Result<VecStack<T>> {
    let mut v = VecStack::new(routine, batch, 1)?;
    v.data.iter_mut().for_each(|x| *x = fill.clone());
    Ok(v)
}

/// The values of a `per_matrix` stack, shaped like the batch.
pub fn batch_array<T: Clone + Default + Send>(v: VecStack<T>) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(&v.batch), v.data).expect("one value per matrix")
}

/// Set each matrix of a stack to the identity (NumPy's U or Vt of an empty SVD).
pub fn fill_identity<T: Scalar>(stack: &mut Stack<T>) {
    let (r, c) = (stack.rows, stack.cols);
    if r * c == 0 {
        return;
    }
    for m in stack.data.chunks_mut(r * c) {
        for i in 0..r.min(c) {
            m[i + i * r] = T::one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, Array3, ArrayView, IxDyn, ShapeBuilder};

    /// Every matrix `get` returns is the one the plain nested index names.
    fn check_all(a: ArrayViewD<f64>) {
        let m = Mats::new(a.clone()).unwrap();
        let batch = &a.shape()[..a.ndim() - 2];
        let mut idx = vec![0usize; batch.len()];
        for i in 0..m.count {
            let mut v = a.clone();
            for &k in &idx {
                v = v.index_axis_move(Axis(0), k);
            }
            assert_eq!(m.get(i), v.into_dimensionality::<Ix2>().unwrap(), "matrix {i}");
            for d in (0..idx.len()).rev() {
                idx[d] += 1;
                if idx[d] < batch[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
    }

    #[test]
    fn every_layout_indexes_the_same_matrices() {
        let base = Array::from_iter((0..2 * 3 * 4 * 5).map(|x| x as f64)).into_shape_with_order((2, 3, 4, 5)).unwrap();
        check_all(base.view().into_dyn());
        let f = Array::from_shape_vec((2, 3, 4, 5).f(), base.iter().copied().collect()).unwrap();
        check_all(f.view().into_dyn());
        check_all(base.slice(ndarray::s![.., ..;2, ..;-1, 1..]).into_dyn());
        check_all(base.view().permuted_axes([1, 0, 3, 2]).into_dyn()); // batch axes that do not merge
        let b = base.slice(ndarray::s![0, 0, .., ..]);
        check_all(b.broadcast((3, 2, 4, 5)).unwrap().into_dyn());
        check_all(base.slice(ndarray::s![0, 0, .., ..]).into_dyn());
    }

    #[test]
    fn empty_stacks_cost_nothing() {
        let data = [0.0f64; 1];
        // (2^40, 0, 0): no matrix to hand out and nothing allocated.
        let v = ArrayView::from_shape(IxDyn(&[1 << 40, 0, 0]).strides(IxDyn(&[0, 0, 0])), &data[..0]).unwrap();
        let m = Mats::new(v).unwrap();
        assert_eq!((m.count, m.rows, m.cols), (1 << 40, 0, 0));
        assert_eq!(count(&[1 << 40, 0, 3]).unwrap(), 0);
        assert!(count(&[usize::MAX, 2]).is_err());
        let s = Stack::<f64>::new("det", &[1 << 40], 0, 0).unwrap();
        assert!(s.data.is_empty());
        assert!(matches!(Stack::<f64>::new("det", &[1 << 40], 4, 4), Err(CoreError::Memory { .. })));
    }

    #[test]
    fn c_ordered_means_memcpy_transpose() {
        let a = Array3::<f64>::zeros((2, 3, 4));
        assert!(Mats::new(a.view().into_dyn()).unwrap().c_ordered());
        assert!(!Mats::new(a.view().reversed_axes().into_dyn()).unwrap().c_ordered());
        let one = Array3::<f64>::zeros((2, 1, 1));
        assert!(!Mats::new(one.view().into_dyn()).unwrap().c_ordered());
    }
}
