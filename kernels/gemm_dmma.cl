// Float64 GEMM on NVIDIA FP64 tensor cores (sm_80+) through inline PTX:
// mma.sync.aligned.m16n8k4.row.col.f64 (one warp: 16x8 of C += 16x4 of A times 4x8 of B).
// Same contract, argument list and operand layouts as gemm.cl; the host builds this only on
// NVIDIA devices of compute capability >= 8.0 and falls back to gemm.cl if it fails.
//
// A work-group of WARPS_M x WARPS_N warps owns a TM x TN block of C; each warp a
// (MI*16) x (NI*8) block, i.e. MI x NI accumulator fragments of 4 doubles per lane.
// Fragment layouts (PTX ISA, m16n8k4 .f64), with g = lane/4 and t = lane%4:
//   A: a0 = A[g][t], a1 = A[g+8][t];  B: b0 = B[t][g];
//   C: c0,c1 = C[g][2t], C[g][2t+1];  c2,c3 = C[g+8][2t], C[g+8][2t+1].
// Local rows are padded by 4 doubles so the 32 lanes of a fragment load hit distinct banks.

#include "common.h"

#define TM (WARPS_M * MI * 16)
#define TN (WARPS_N * NI * 8)
#define NT (WARPS_M * WARPS_N * 32)
#define PAD 4

#include "tile.h"

// Not volatile by default: the instruction has no side effects beyond its operands, so the
// compiler may interleave it with the local loads (ASM_VOLATILE=1 pins the order).
#if ASM_VOLATILE
#define MMA_ASM asm volatile
#else
#define MMA_ASM asm
#endif
#define MMA(c, a0, a1, b0)                                                                  \
    MMA_ASM("mma.sync.aligned.m16n8k4.row.col.f64.f64.f64.f64 "                         \
                 "{%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"                              \
                 : "+d"(c[0]), "+d"(c[1]), "+d"(c[2]), "+d"(c[3]) : "d"(a0), "d"(a1), "d"(b0))

__kernel __attribute__((reqd_work_group_size(NT, 1, 1)))
void gemm(const int m, const int n, const int k, const double alpha, const double beta, const int read_c,
          __global const double* restrict a, const int lda, const long sa,
          __global const double* restrict b, const int ldb, const long sb,
          __global double* restrict c, const int ldc, const long sc)
{
    const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int wm = (warp / WARPS_N) * (MI * 16), wn = (warp % WARPS_N) * (NI * 8);
    const int i0 = get_group_id(1) * TM, j0 = get_group_id(0) * TN;
    const long batch = get_global_id(2);
    a += batch * sa;
    b += batch * sb;
    c += batch * sc;

    __local double As[STAGES][TK][TM + PAD];
    __local double Bs[STAGES][TK][TN + PAD];
    double acc[MI][NI][4];
    double ra[LA], rb[LB];
#pragma unroll
    for (int x = 0; x < MI; x++)
#pragma unroll
        for (int y = 0; y < NI; y++)
#pragma unroll
            for (int z = 0; z < 4; z++)
                acc[x][y][z] = 0.0;

#define COMPUTE(X, Y)                                                                      \
    _Pragma("unroll")                                                                      \
    for (int q = 0; q < TK; q += 4) {                                                      \
        double fa[MI][2], fb[NI];                                                          \
        _Pragma("unroll")                                                                  \
        for (int x = 0; x < MI; x++) {                                                     \
            fa[x][0] = X[q + t][wm + x * 16 + g];                                          \
            fa[x][1] = X[q + t][wm + x * 16 + g + 8];                                      \
        }                                                                                  \
        _Pragma("unroll")                                                                  \
        for (int y = 0; y < NI; y++)                                                       \
            fb[y] = Y[q + t][wn + y * 8 + g];                                              \
        _Pragma("unroll")                                                                  \
        for (int x = 0; x < MI; x++)                                                       \
            _Pragma("unroll")                                                              \
            for (int y = 0; y < NI; y++)                                                   \
                MMA(acc[x][y], fa[x][0], fa[x][1], fb[y]);                                 \
    }
    K_LOOP(COMPUTE)

#pragma unroll
    for (int x = 0; x < MI; x++) {
#pragma unroll
        for (int h = 0; h < 2; h++) {
            const int i = i0 + wm + x * 16 + g + h * 8;
            if (i >= m) continue;
#pragma unroll
            for (int y = 0; y < NI; y++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    const int j = j0 + wn + y * 8 + 2 * t + e;
                    if (j < n) {
                        const long o = (long)i * ldc + j;
                        const double v = alpha * acc[x][y][2 * h + e];
                        c[o] = read_c ? v + beta * c[o] : v;
                    }
                }
            }
        }
    }
}
