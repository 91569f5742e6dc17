//! Running one routine over a stack of matrices.
//!
//! OpenBLAS threads a call only above a size threshold (getrf: m*n >= 10000, gemm:
//! m*n*k >= 262144). Below `PARALLEL_MAX_DIM` every LAPACK call runs on one thread, so we spread
//! the stack over rayon's threads; above it, matrices go one after another and OpenBLAS uses
//! its own threads. The two never stack on top of each other, so there is no oversubscription.

use rayon::prelude::*;

use crate::error::{CoreError, Result};

/// Largest matrix dimension for which a stack is spread across rayon threads.
pub const PARALLEL_MAX_DIM: usize = 64;

/// Whether a stack of `count` matrices of largest dimension `dim` runs in parallel.
pub fn parallel(count: usize, dim: usize) -> bool {
    count > 1 && dim <= PARALLEL_MAX_DIM && rayon::current_num_threads() > 1
}

/// Apply `f` to every item, in parallel when `parallel` says so. On failure returns the error
/// of the lowest failing index, so a report always names the first bad matrix.
pub fn run<I, F>(items: Vec<I>, dim: usize, f: F) -> Result<()>
where
    I: Send,
    F: Fn(usize, I) -> Result<()> + Sync + Send,
{
    if parallel(items.len(), dim) {
        let results: Vec<Result<()>> =
            items.into_par_iter().enumerate().map(|(i, it)| f(i, it)).collect();
        results.into_iter().collect::<Result<Vec<()>>>().map(|_| ())
    } else {
        items.into_iter().enumerate().try_for_each(|(i, it)| f(i, it))
    }
}

/// Check that two stacks have the same batch shape (the Python layer broadcasts first).
pub fn same_batch(what: &str, a: &[usize], b: &[usize]) -> Result<()> {
    if a == b {
        Ok(())
    } else {
        Err(CoreError::Shape(format!("{what}: batch shapes {a:?} and {b:?} differ")))
    }
}
