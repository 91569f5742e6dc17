//! Running one routine over a stack of matrices.
//!
//! A stack of small matrices (or one with at least as many matrices as threads) is cut into
//! one contiguous run of matrices per thread, each run with its own workspace and BLAS held to
//! one thread (`threads::single_blas`); anything else goes matrix by matrix on the calling
//! thread with OpenBLAS's own threads inside. The two never run at full width at once.

use std::sync::atomic::{AtomicUsize, Ordering};

use rayon::prelude::*;

use crate::error::{CoreError, Result};
use crate::threads;

/// The outputs of a routine, split between threads and handed out one matrix at a time.
pub trait Outs: Send + Sized {
    /// Take the first `items` matrices off the front.
    fn split_front(&mut self, items: usize) -> Self;
}

/// One output stack: consecutive items of `len` elements.
pub struct Items<'a, T> {
    data: &'a mut [T],
    len: usize,
}

impl<'a, T> Items<'a, T> {
    pub fn new(data: &'a mut [T], len: usize) -> Self {
        Items { data, len }
    }
    /// Item `j` of this run (counted from the run's first matrix).
    pub fn item(&mut self, j: usize) -> &mut [T] {
        &mut self.data[j * self.len..(j + 1) * self.len]
    }
}

impl<T: Send> Outs for Items<'_, T> {
    fn split_front(&mut self, items: usize) -> Self {
        let (front, back) = std::mem::take(&mut self.data).split_at_mut(items * self.len);
        self.data = back;
        Items { data: front, len: self.len }
    }
}

impl Outs for () {
    fn split_front(&mut self, _: usize) -> Self {}
}

macro_rules! tuple_outs {
    ($($t:ident $i:tt),*) => {
        impl<$($t: Outs),*> Outs for ($($t,)*) {
            fn split_front(&mut self, items: usize) -> Self {
                ($(self.$i.split_front(items),)*)
            }
        }
    };
}
tuple_outs!(A 0);
tuple_outs!(A 0, B 1);
tuple_outs!(A 0, B 1, C 2);
tuple_outs!(A 0, B 1, C 2, D 3);

/// Apply `f(i, j, workspace, run_outputs)` to every matrix `i` of a stack of `count` matrices
/// whose largest dimension is `dim`; `j` is `i`'s place in the run `run_outputs` belongs to.
/// `workspace` makes one workspace per run. On failure returns the error of the lowest failing
/// index (with that index), so a report always names the first bad matrix.
pub fn run<O, W, F>(count: usize, dim: usize, mut outs: O, workspace: impl Fn() -> W + Sync, f: F) -> Result<()>
where
    O: Outs,
    F: Fn(usize, usize, &mut W, &mut O) -> Result<()> + Sync,
{
    let width = threads::batch_width(count, dim);
    if width <= 1 {
        let mut w = workspace();
        return (0..count).try_for_each(|i| f(i, i, &mut w, &mut outs).map_err(|e| e.at(i)));
    }
    let per = count.div_ceil(width);
    let mut runs = Vec::with_capacity(width);
    let mut start = 0;
    while start < count {
        let n = per.min(count - start);
        runs.push((start, n, outs.split_front(n)));
        start += n;
    }
    let _single = threads::single_blas();
    // Runs past the first failure stop early; the lowest failing index wins.
    let first = AtomicUsize::new(usize::MAX);
    let errors: Vec<(usize, CoreError)> = runs.into_par_iter().filter_map(|(start, n, mut o)| {
        let mut w = workspace();
        for j in 0..n {
            let i = start + j;
            if i > first.load(Ordering::Relaxed) {
                return None;
            }
            if let Err(e) = f(i, j, &mut w, &mut o) {
                first.fetch_min(i, Ordering::Relaxed);
                return Some((i, e.at(i)));
            }
        }
        None
    }).collect();
    errors.into_iter().min_by_key(|(i, _)| *i).map_or(Ok(()), |(_, e)| Err(e))
}

/// Check that two stacks have the same batch shape (the Python layer broadcasts first).
pub fn same_batch(what: &str, a: &[usize], b: &[usize]) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(CoreError::Shape(format!("{what}: batch shapes {a:?} and {b:?} differ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_once_and_the_first_error_wins() {
        let mut out = vec![0usize; 3 * 1000];
        run(1000, 2, Items::new(&mut out, 3), || (), |i, j, _, o: &mut Items<usize>| {
            o.item(j).iter_mut().for_each(|x| *x += i + 1);
            Ok(())
        }).unwrap();
        assert!(out.chunks(3).enumerate().all(|(i, c)| c.iter().all(|&x| x == i + 1)));
        let e = run(1000, 2, (), || (), |i, _, _, _| {
            if i % 300 == 299 { Err(CoreError::NonFinite { arg: "a", batch: 0, always: false }) } else { Ok(()) }
        }).unwrap_err();
        assert_eq!(e, CoreError::NonFinite { arg: "a", batch: 299, always: false });
    }
}
