// Which part of the product a work-group computes (both GEMM kernels), and gemm_reduce, which
// finishes the tiles whose K was split. Needs TM, TN and the precision (common.h).
//
// Built with -DSPLIT=0 (products with no split tiles): the range is the grid of tiles
// (dimension 0 walks tile columns, 1 tile rows, 2 the matrices of a stack) and every tile takes
// all of K, as the kernels did before tiles were split (their code is then unchanged: float32's
// 128-register kernel lost 6% of its speed to the schedule's arithmetic).
// Built with -DSPLIT=1: the host launches a 1-D range of groups; group g takes K-slice
// g % slices of tile first + g / slices, the tiles of the stack numbered matrix by matrix in
// tile_at's order. slices = 1: the whole K, stored into C. slices > 1: the slice's product of
// the tile is stored into work[g] (TM x TN, row-major) and gemm_reduce adds the slices into C.
// The host splits K only for the tiles of a last, partly filled wave
// (rust/core/src/opencl/gemm.rs: `schedule`), so that it keeps all multiprocessors busy for a
// fraction of a wave's time instead of a few of them for all of it.

#ifndef INSIDE
#define INSIDE 0
#endif

#ifndef SPLIT
#define SPLIT 0
#endif
#if SPLIT
#define SCHEDULE_ARGS \
    , const int tiles_m, const int tiles_n, const int first, const int slices, __global real* restrict work
#define PART(k, tk) part_of(get_group_id(0), tiles_m, tiles_n, first, slices, k, tk)
#else
#define SCHEDULE_ARGS
#define PART(k, tk) whole_tile(k)
#endif

typedef struct {
    int2 origin;  // first row and column of C the tile stores
    long batch;   // matrix of the stack
    int kb, ke;   // the K-slice [kb, ke): whole K-tiles of tk, the last one takes the rest
} Part;

inline Part part_of(const int g, const int tiles_m, const int tiles_n, const int first, const int slices,
                    const int k, const int tk)
{
    const int t = first + g / slices, s = g % slices, per = tiles_m * tiles_n, kt = k / tk;
    Part p;
    p.batch = t / per;
    p.origin = tile_at(t % per, tiles_m, tiles_n, TM, TN);
    p.kb = (int)((long)s * kt / slices) * tk;
    p.ke = s == slices - 1 ? k : (int)((long)(s + 1) * kt / slices) * tk;
    return p;
}

inline Part whole_tile(const int k)
{
    Part p;
    p.batch = get_global_id(2);
    p.origin = tile_at(get_group_id(1) * get_num_groups(0) + get_group_id(0), get_num_groups(1), get_num_groups(0), TM, TN);
    p.kb = 0;
    p.ke = k;
    return p;
}

// Where the tile's TM x TN block starts. With INSIDE the last row (column) of tiles is moved
// back inside the matrix; the rows (columns) it then shares with its neighbour are that
// neighbour's to store (those before `origin`).
inline int2 tile_start(const int2 origin, const int m, const int n)
{
    return INSIDE ? (int2)(min(origin.x, m - TM), min(origin.y, n - TN)) : origin;
}

#if SPLIT
// C = alpha (sum of a split tile's slices) + beta C: one work-item per element (dimension 0)
// of each split tile (dimension 1; tiles first, first + 1, ...). beta = 0 never reads C.
__kernel void gemm_reduce(const int m, const int n, const real alpha, const real beta, const int read_c,
                          __global real* restrict c, const int ldc, const long sc,
                          const int tiles_m, const int tiles_n, const int first, const int slices,
                          __global const real* restrict work)
{
    const int e = get_global_id(0), r = get_global_id(1), per = tiles_m * tiles_n, t = first + r;
    const int2 origin = tile_at(t % per, tiles_m, tiles_n, TM, TN), start = tile_start(origin, m, n);
    const int i = start.x + e / TN, j = start.y + e % TN;
    if (e >= TM * TN || i >= m || j >= n || i < origin.x || j < origin.y)
        return;
    real sum = 0;
    for (int s = 0; s < slices; s++)
        sum += work[((long)r * slices + s) * (TM * TN) + e];
    const long o = (long)(t / per) * sc + (long)i * ldc + j;
    c[o] = read_c ? alpha * sum + beta * c[o] : alpha * sum;
}
#endif
