// Portable GEMM: C = alpha op(A) op(B) + beta C for any device with OpenCL C 1.2.
//
// C is row-major (ldc); the host transposes the whole problem when the caller's C is
// column-major. Operand layouts are compile-time (no branches in the loop):
//   A_MFAST: op(A)(i,p) at a[p*lda + i] (else a[i*lda + p]);
//   B_NFAST: op(B)(p,j) at b[p*ldb + j] (else b[j*ldb + p]).
// Tiling (compile-time): a work-group of WM x WN work-items owns a TM x TN block of C and
// walks K in steps of TK through local memory; each work-item keeps (TM/WM) x (TN/WN)
// accumulators, for rows ty + x*WM and columns tx + y*WN (strided, so local reads are
// conflict-free and stores coalesce). The next K-tile is fetched into registers while the
// current one is multiplied. Edges: K is zero-padded in the first tile, rows and columns
// past M and N are read from the last ones inside and never stored (tile.h), so any M, N, K
// works; with -DINSIDE=1 (m >= TM, n >= TN, k >= TK) the last tiles are moved back inside
// instead and need no clamps. Which tile (of which matrix of the stack: strides sa, sb, sc; 0
// broadcasts) and which part of K a work-group takes: schedule.h.

#include "common.h"

#define RM (TM / WM)
#define RN (TN / WN)
#define NT (WM * WN)
#include "tile.h"
#include "schedule.h"
#if (TM * TK) % NT || (TN * TK) % NT || TM % WM || TN % WN
#error "the work-group must split the tiles evenly (TM*TK and TN*TK by WM*WN, TM by WM, TN by WN)"
#endif

// VEC = 0: work-item (tx, ty) owns rows ty + x*WM and columns tx + y*WN (strided).
// VEC = 2 or 4: it owns groups of VEC consecutive rows (columns), the groups of neighbouring
// work-items side by side, and reads them from local memory as VEC-wide vectors (RM, RN
// multiples of VEC): fewer local-memory instructions per FMA, and the vector reads of a warp
// are contiguous (no bank conflicts). float32 reads 4 (16 bytes), float64 2 (16 bytes).
#ifndef VEC
#define VEC 0
#endif
#if VEC == 2 || VEC == 4
#if RM % VEC || RN % VEC
#error "VEC must divide TM/WM and TN/WN"
#endif
#define ROW(x) (((x) / VEC) * (WM * VEC) + ty * VEC + (x) % VEC)
#define COL(y) (((y) / VEC) * (WN * VEC) + tx * VEC + (y) % VEC)
#define LPAD VEC
#elif VEC == 0
#define ROW(x) (ty + (x) * WM)
#define COL(y) (tx + (y) * WN)
#define LPAD 1
#else
#error "VEC is a vector width: 0 (none), 2 or 4"
#endif

__kernel __attribute__((reqd_work_group_size(WN, WM, 1)))
void gemm(const int m, const int n, const int k_all, const real alpha, const real beta, const int read_c,
          __global const real* restrict a, const int lda, const long sa,
          __global const real* restrict b, const int ldb, const long sb,
          __global real* restrict c, const int ldc, const long sc SCHEDULE_ARGS)
{
    const int tx = get_local_id(0), ty = get_local_id(1), tid = ty * WN + tx;
    const Part part = PART(k_all, TK);
    const int2 start = tile_start(part.origin, m, n);
    const int i0 = start.x, j0 = start.y, first_i = part.origin.x, first_j = part.origin.y;
    const int k = part.ke - part.kb;  // the K-slice reads as a product of its own
    a += part.batch * sa + part.kb * A_KSTEP;
    b += part.batch * sb + part.kb * B_KSTEP;
    c += part.batch * sc;

    __local real As[STAGES][TK][TM + LPAD] __attribute__((aligned(32)));
    __local real Bs[STAGES][TK][TN + LPAD] __attribute__((aligned(32)));
    real acc[RM][RN];
    real ra[LA], rb[LB];
    for (int x = 0; x < RM; x++)
        for (int y = 0; y < RN; y++)
            acc[x][y] = 0;

#if VEC == 4
#define LOAD_FRAGMENTS(X, Y, q)                                                            \
        for (int x = 0; x < RM; x += 4) {                                                  \
            real4 v = *(__local const real4*)&X[q][ROW(x)];                                \
            av[x] = v.x; av[x + 1] = v.y; av[x + 2] = v.z; av[x + 3] = v.w;                \
        }                                                                                  \
        for (int y = 0; y < RN; y += 4) {                                                  \
            real4 v = *(__local const real4*)&Y[q][COL(y)];                                \
            bv[y] = v.x; bv[y + 1] = v.y; bv[y + 2] = v.z; bv[y + 3] = v.w;                \
        }
#elif VEC == 2
#define LOAD_FRAGMENTS(X, Y, q)                                                            \
        for (int x = 0; x < RM; x += 2) {                                                  \
            real2 v = *(__local const real2*)&X[q][ROW(x)];                                \
            av[x] = v.x; av[x + 1] = v.y;                                                  \
        }                                                                                  \
        for (int y = 0; y < RN; y += 2) {                                                  \
            real2 v = *(__local const real2*)&Y[q][COL(y)];                                \
            bv[y] = v.x; bv[y + 1] = v.y;                                                  \
        }
#else
#define LOAD_FRAGMENTS(X, Y, q)                                                            \
        for (int x = 0; x < RM; x++) av[x] = X[q][ROW(x)];                                 \
        for (int y = 0; y < RN; y++) bv[y] = Y[q][COL(y)];
#endif

#define COMPUTE(X, Y)                                                                      \
    _Pragma("unroll")                                                                      \
    for (int q = 0; q < TK; q++) {                                                         \
        real av[RM], bv[RN];                                                               \
        LOAD_FRAGMENTS(X, Y, q)                                                            \
        for (int x = 0; x < RM; x++)                                                       \
            for (int y = 0; y < RN; y++)                                                   \
                acc[x][y] = fma(av[x], bv[y], acc[x][y]);                                  \
    }
    K_LOOP(COMPUTE)

#if SPLIT
    if (slices > 1) {  // one K-slice of a split tile: its part of the sum, for gemm_reduce
        work += (long)get_group_id(0) * (TM * TN);
        for (int x = 0; x < RM; x++)
            for (int y = 0; y < RN; y++)
                work[ROW(x) * TN + COL(y)] = acc[x][y];
        return;
    }
#endif
    for (int x = 0; x < RM; x++) {
        const int i = i0 + ROW(x);
        if (i >= m) break;
        if (i < first_i) continue;
        for (int y = 0; y < RN; y++) {
            const int j = j0 + COL(y);
            if (j < n && j >= first_j) {
                const long o = (long)i * ldc + j;
                // beta = 0 never reads C: NaN there must not leak into the result.
                c[o] = read_c ? alpha * acc[x][y] + beta * c[o] : alpha * acc[x][y];
            }
        }
    }
}
