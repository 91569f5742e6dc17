//! Moving matrices between caller layouts and LAPACK's column-major buffers.
//!
//! Inputs arrive as strided views (C, Fortran, sliced, negative strides, broadcast); every
//! routine copies each input matrix exactly once, into the buffer LAPACK then works on in
//! place, and that buffer becomes the returned array. Routines whose result does not depend on
//! the layout trick (symmetric input, determinants, SVD) may load a C-ordered matrix as its
//! transpose, which turns the copy into a straight memcpy.

use ndarray::{ArrayD, ArrayView2, ArrayViewD, ArrayViewMut2, Axis, IxDyn, Ix2, ShapeBuilder};

use crate::lapack::FMat;
use crate::scalar::Scalar;

/// Merge the batch axes of `(..., m, n)` into one, slowest first so the merged index keeps C
/// order; None when the strides do not allow it (broadcast views, odd slicing).
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
fn as_3d<S: ndarray::RawData>(merged: ndarray::ArrayBase<S, ndarray::IxDyn>) -> ndarray::ArrayBase<S, ndarray::Ix3> {
    let mut flat = merged;
    while flat.ndim() > 3 {
        flat = flat.index_axis_move(Axis(0), 0); // the merged-away axes have length 1
    }
    flat.into_dimensionality().expect("3-D")
}

/// The matrices of a stack `(..., m, n)`, in C order of the batch indices, keeping strides.
pub fn matrices<'a, T>(a: ArrayViewD<'a, T>) -> Vec<ArrayView2<'a, T>> {
    if a.ndim() >= 3 {
        if let Some(m) = merged_batch(a.clone()) {
            // Fast path: one batch axis, iterated directly (the recursion below costs far more per
            // matrix, which shows on stacks of 4x4).
            return as_3d(m).into_outer_iter().collect();
        }
    }
    fn collect<'a, T>(a: ArrayViewD<'a, T>, out: &mut Vec<ArrayView2<'a, T>>) {
        if a.ndim() == 2 {
            out.push(a.into_dimensionality::<Ix2>().expect("ndim checked"));
            return;
        }
        for i in 0..a.len_of(Axis(0)) {
            collect(a.clone().index_axis_move(Axis(0), i), out);
        }
    }
    let mut out = Vec::new();
    collect(a, &mut out);
    out
}

/// Split `(..., m, n)` into the batch shape and the matrix shape.
pub fn split_shape(shape: &[usize]) -> crate::Result<(Vec<usize>, usize, usize)> {
    // LAPACK (LP64) counts rows, columns and workspace in 32-bit integers.
    if let Some(&d) = shape.iter().rev().take(2).find(|&&d| d > i32::MAX as usize / 2) {
        return Err(crate::CoreError::Shape(format!(
            "dimension {d} exceeds what 32-bit LAPACK can index (about {})", i32::MAX / 2
        )));
    }
    match shape.len() {
        0 | 1 => Err(crate::CoreError::Shape(format!(
            "expected an array of at least 2 dimensions, got shape {shape:?}"
        ))),
        d => Ok((shape[..d - 2].to_vec(), shape[d - 2], shape[d - 1])),
    }
}

/// True when every matrix of the stack is C-contiguous but not also Fortran-contiguous:
/// then loading the transpose is a memcpy.
pub fn prefers_transpose<T>(mats: &[ArrayView2<T>]) -> bool {
    !mats.is_empty() && mats.iter().all(|m| m.is_standard_layout() && !m.t().is_standard_layout())
}

/// Copy `src` into the column-major `dst` (same shape). Returns false if any entry is NaN/Inf.
pub fn load<T: Scalar>(src: ArrayView2<T>, dst: &mut FMat<T>, check_finite: bool) -> bool {
    let (r, c) = src.dim();
    debug_assert_eq!((r, c), (dst.rows, dst.cols));
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
    pub fn zeros(batch: &[usize], rows: usize, cols: usize) -> Self {
        let count: usize = batch.iter().product();
        Stack { data: vec![T::zero(); count * rows * cols], batch: batch.to_vec(), rows, cols }
    }

    pub fn count(&self) -> usize {
        self.batch.iter().product()
    }

    /// One column-major view per matrix, for the batch runner.
    pub fn mats_mut(&mut self) -> Vec<FMat<'_, T>> {
        let (r, c, count) = (self.rows, self.cols, self.count());
        if r * c == 0 {
            return (0..count).map(|_| FMat::new(&mut [], r, c)).collect();
        }
        self.data.chunks_mut(r * c).map(|d| FMat::new(d, r, c)).collect()
    }

    /// The stack as an array of shape `batch + (rows, cols)` (each matrix Fortran-ordered), or,
    /// with `transposed`, of each matrix's transpose `batch + (cols, rows)` (C-ordered). No copy.
    pub fn into_array(self, transposed: bool) -> ArrayD<T> {
        let mut shape = self.batch.clone();
        shape.extend([self.cols, self.rows]);
        let arr = ArrayD::from_shape_vec(IxDyn(&shape), self.data).expect("sized in zeros");
        if transposed {
            arr
        } else {
            let d = arr.ndim();
            let mut arr = arr;
            arr.swap_axes(d - 2, d - 1);
            arr
        }
    }
}

/// A stack of vectors (singular values, eigenvalues, pivots) of shape `batch + (len,)`.
pub struct VecStack<T> {
    pub data: Vec<T>,
    pub batch: Vec<usize>,
    pub len: usize,
}

impl<T: Clone + Default> VecStack<T> {
    pub fn zeros(batch: &[usize], len: usize) -> Self {
        let count: usize = batch.iter().product();
        VecStack { data: vec![T::default(); count * len], batch: batch.to_vec(), len }
    }

    pub fn slices_mut(&mut self) -> Vec<&mut [T]> {
        let count: usize = self.batch.iter().product();
        if self.len == 0 {
            return (0..count).map(|_| <&mut [T]>::default()).collect();
        }
        self.data.chunks_mut(self.len).collect()
    }

    pub fn into_array(self) -> ArrayD<T> {
        let mut shape = self.batch;
        shape.push(self.len);
        ArrayD::from_shape_vec(IxDyn(&shape), self.data).expect("sized in zeros")
    }
}

/// One value per matrix (rcond, log-determinant), shaped like the batch.
pub fn per_matrix<T>(batch: &[usize], values: Vec<T>) -> ArrayD<T> {
    ArrayD::from_shape_vec(IxDyn(batch), values).expect("one value per matrix")
}

/// Mutable twin of [`matrices`], for outputs the caller owns (gemm's `c`).
pub fn matrices_mut<'a, T>(a: ndarray::ArrayViewMutD<'a, T>) -> Vec<ArrayViewMut2<'a, T>> {
    // Trial on a read-only reborrow: merging works in place, and the same shape and strides
    // merge the same way on the real view.
    if a.ndim() >= 3 && merged_batch(a.view()).is_some() {
        return as_3d(merged_batch(a).expect("trial merge succeeded")).into_outer_iter_mut().collect();
    }
    fn collect<'a, T>(a: ndarray::ArrayViewMutD<'a, T>, out: &mut Vec<ArrayViewMut2<'a, T>>) {
        if a.ndim() == 2 {
            out.push(a.into_dimensionality::<Ix2>().expect("ndim checked"));
            return;
        }
        let mut rest = a;
        while rest.len_of(Axis(0)) > 0 {
            let (first, tail) = rest.split_at(Axis(0), 1);
            collect(first.index_axis_move(Axis(0), 0), out);
            rest = tail;
        }
    }
    let mut out = Vec::new();
    collect(a, &mut out);
    out
}

/// Set each matrix of a stack to the identity (NumPy's U or Vt of an empty SVD).
pub fn fill_identity<T: Scalar>(stack: &mut Stack<T>) {
    for m in stack.mats_mut() {
        for i in 0..m.rows.min(m.cols) {
            m.data[i + i * m.rows] = T::one();
        }
    }
}
