// Float64 GEMM on NVIDIA FP64 tensor cores (sm_80+) through inline PTX:
// mma.sync.aligned.m16n8k4.row.col.f64 (one warp: 16x8 of C += 16x4 of A times 4x8 of B), with
// tiles moved global -> local by cp.async. Same contract, argument list and operand layouts as
// gemm.cl; the host builds this only on NVIDIA devices of compute capability >= 8.0 and falls
// back to gemm.cl if it fails.
//
// A work-group of WARPS_M x WARPS_N warps owns a TM x TN block of C; each warp a
// (MI*16) x (NI*8) block, i.e. MI x NI accumulator fragments of 4 doubles per lane.
// Fragment layouts (PTX ISA, m16n8k4 .f64), with g = lane/4 and t = lane%4:
//   A: a0 = A[g][t], a1 = A[g+8][t];  B: b0 = B[t][g];
//   C: c0,c1 = C[g][2t], C[g][2t+1];  c2,c3 = C[g+8][2t], C[g+8][2t+1].
//
// Pipeline (why it is shaped so: docs/benchmarks.md, "Tensor-core kernel"): STAGES K-tiles of
// TK are in flight at once; the fragments of the next step of 4 are loaded while this step's
// MMAs run, and the barrier that retires a K-tile sits before its last step's MMAs, so the
// tensor cores stay busy while warps meet there.

#include "common.h"

#define TM (WARPS_M * MI * 16)
#define TN (WARPS_N * NI * 8)
#define NT (WARPS_M * WARPS_N * 32)
#ifndef STAGES
#define STAGES 3
#endif
// Tiles stay where tile_at puts them (-DINSIDE=1, from the tuning knob, is gemm.cl's).
#undef INSIDE
#define INSIDE 0
#include "tile.h"
#include "schedule.h"

#if TK % 8
#error "TK must be a multiple of 8 (fragments are double-buffered over pairs of steps of 4)"
#endif

// Local tiles have no padding (three stages of 128x8 + 8x128 doubles take 48 KiB, the local
// memory OpenCL devices report; NVIDIA's driver accepted 96 KiB too, but deeper pipelines were
// no faster). Each operand keeps its global layout, so a cp.async moves consecutive elements:
// [row][TK] when k is the contiguous index, [TK][col] otherwise. An XOR swizzle keeps each
// fragment load at two wavefronts (every pair of banks hit twice):
//   [row][TK]: the k index in row r is XORed with SWZ(r) (rows g and g+2 use other banks);
//   [TK][col]: the column of odd k is XORed with 8 (lanes t and t+1 use other banks).
// XORs of multiples of 4 and 8 keep aligned pairs of elements together, as 16-byte copies need.
#if TK == 8
#define SWZ(r) ((((r) >> 1) & 1) << 2)
#elif TK == 16
#define SWZ(r) (((r) & 3) << 2)
#else
#error "TK must be 8 or 16"
#endif
#define ROW_AT(r, p) ((r) * TK + ((p) ^ SWZ(r)))
#define COL_AT(p, cc, width) ((p) * (width) + ((cc) ^ (((p) & 1) << 3)))
#if A_MFAST
#define A_AT(i, p) COL_AT(p, i, TM)
#else
#define A_AT(i, p) ROW_AT(i, p)
#endif
#if B_NFAST
#define B_AT(p, j) COL_AT(p, j, TN)
#else
#define B_AT(p, j) ROW_AT(j, p)
#endif

// Local addresses go to PTX as 32-bit offsets in the shared window. Outside the matrix the
// copy reads nothing (source size 0, from a valid address) and the hardware writes zeros.
#define CP_ASYNC(dst, src, size, bytes)                                                    \
    asm volatile("cp.async.ca.shared.global [%0], [%1], " #size ", %2;"                    \
                 :: "r"((uint)(ulong)(dst)), "l"((bytes) > 0 ? (src) : a), "r"(bytes) : "memory")
#define CP_COMMIT() asm volatile("cp.async.commit_group;" ::: "memory")
// Wait until at most n (a literal) of this work-item's newest copy groups are still in flight.
#define CP_WAIT_GROUP(n) asm volatile("cp.async.wait_group " #n ";" ::: "memory")
#define CP_WAIT(n) CP_WAIT_GROUP(n)
#if STAGES == 2
#define STAGES_LESS1 1
#define STAGES_LESS2 0
#elif STAGES == 3
#define STAGES_LESS1 2
#define STAGES_LESS2 1
#elif STAGES == 4
#define STAGES_LESS1 3
#define STAGES_LESS2 2
#else
#error "STAGES must be 2, 3 or 4"
#endif

// The copies of the K-tile starting at p0 into stage buffers X (A) and Y (B). Work-item tid
// makes copies tid, tid + NT, ... of a tile's `total` (the last round may be partial when the
// work-group size does not divide it).
#define COPIES(total) (((total) + NT - 1) / NT)
#define MINE(total, r) ((total) % NT == 0 || tid + (r) * NT < (total))
#if LD_EVEN
// Two doubles per copy (16 bytes): the host sets LD_EVEN when every leading dimension and
// batch stride is even, so pairs are 16-byte aligned. A pair that runs past the matrix copies
// what lies inside (8 bytes) and the hardware zero-fills the rest.
#define PAIR_BYTES(rest) clamp((rest) * 8, 0, 16)
#if A_MFAST
#define A_PAIR(e, i, p, p0) int i = 2 * ((e) % (TM / 2)), p = (e) / (TM / 2);                   \
    const int bytes = (p0) + p < k ? PAIR_BYTES(m - i0 - i) : 0
#else
#define A_PAIR(e, i, p, p0) int i = (e) / (TK / 2), p = 2 * ((e) % (TK / 2));                   \
    const int bytes = i0 + i < m ? PAIR_BYTES(k - (p0) - p) : 0
#endif
#if B_NFAST
#define B_PAIR(e, j, p, p0) int j = 2 * ((e) % (TN / 2)), p = (e) / (TN / 2);                   \
    const int bytes = (p0) + p < k ? PAIR_BYTES(n - j0 - j) : 0
#else
#define B_PAIR(e, j, p, p0) int j = (e) / (TK / 2), p = 2 * ((e) % (TK / 2));                   \
    const int bytes = j0 + j < n ? PAIR_BYTES(k - (p0) - p) : 0
#endif
#define ISSUE(X, Y, p0)                                                                    \
    {                                                                                      \
        _Pragma("unroll")                                                                  \
        for (int r = 0; r < COPIES(TM * TK / 2); r++) {                                    \
            if (MINE(TM * TK / 2, r)) {                                                    \
                A_PAIR(tid + r * NT, i, p, p0);                                            \
                CP_ASYNC((X) + A_AT(i, p), a + OFFSET(lda, i0 + i, (p0) + p, A_MFAST), 16, bytes); \
            }                                                                              \
        }                                                                                  \
        _Pragma("unroll")                                                                  \
        for (int r = 0; r < COPIES(TN * TK / 2); r++) {                                    \
            if (MINE(TN * TK / 2, r)) {                                                    \
                B_PAIR(tid + r * NT, j, p, p0);                                            \
                CP_ASYNC((Y) + B_AT(p, j), b + OFFSET(ldb, (p0) + p, j0 + j, !B_NFAST), 16, bytes); \
            }                                                                              \
        }                                                                                  \
    }
#else
// One double per copy (any leading dimension).
#define ISSUE(X, Y, p0)                                                                    \
    {                                                                                      \
        _Pragma("unroll")                                                                  \
        for (int r = 0; r < COPIES(TM * TK); r++) {                                        \
            if (MINE(TM * TK, r)) {                                                        \
                A_POS(tid + r * NT, i, p);                                                 \
                const int bytes = i0 + i < m && (p0) + p < k ? 8 : 0;                      \
                CP_ASYNC((X) + A_AT(i, p), a + OFFSET(lda, i0 + i, (p0) + p, A_MFAST), 8, bytes); \
            }                                                                              \
        }                                                                                  \
        _Pragma("unroll")                                                                  \
        for (int r = 0; r < COPIES(TN * TK); r++) {                                        \
            if (MINE(TN * TK, r)) {                                                        \
                B_POS(tid + r * NT, j, p);                                                 \
                const int bytes = j0 + j < n && (p0) + p < k ? 8 : 0;                      \
                CP_ASYNC((Y) + B_AT(p, j), b + OFFSET(ldb, (p0) + p, j0 + j, !B_NFAST), 8, bytes); \
            }                                                                              \
        }                                                                                  \
    }
#endif

// Volatile: keeps the MMAs in the order written relative to the copies and the barrier (the
// order the pipeline above relies on; measured no slower than letting the compiler move them).
#define MMA(c, a0, a1, b0)                                                                  \
    asm volatile("mma.sync.aligned.m16n8k4.row.col.f64.f64.f64.f64 "                        \
                 "{%0,%1,%2,%3}, {%4,%5}, {%6}, {%0,%1,%2,%3};"                              \
                 : "+d"(c[0]), "+d"(c[1]), "+d"(c[2]), "+d"(c[3]) : "d"(a0), "d"(a1), "d"(b0))

__kernel __attribute__((reqd_work_group_size(NT, 1, 1)))
void gemm(const int m, const int n, const int k_all, const double alpha, const double beta, const int read_c,
          __global const double* restrict a, const int lda, const long sa,
          __global const double* restrict b, const int ldb, const long sb,
          __global double* restrict c, const int ldc, const long sc SCHEDULE_ARGS)
{
    const int tid = get_local_id(0), lane = tid & 31, warp = tid >> 5;
    const int g = lane >> 2, t = lane & 3;
    const int wm = (warp / WARPS_N) * (MI * 16), wn = (warp % WARPS_N) * (NI * 8);
    const Part part = PART(k_all, TK);
    const int i0 = part.origin.x, j0 = part.origin.y;
    const int k = part.ke - part.kb;  // the K-slice reads as a product of its own
    a += part.batch * sa + part.kb * A_KSTEP;
    b += part.batch * sb + part.kb * B_KSTEP;
    c += part.batch * sc;

    double acc[MI][NI][4];
#pragma unroll
    for (int x = 0; x < MI; x++)
#pragma unroll
        for (int y = 0; y < NI; y++)
#pragma unroll
            for (int z = 0; z < 4; z++)
                acc[x][y][z] = 0.0;

    __local double As[STAGES * TM * TK] __attribute__((aligned(16)));
    __local double Bs[STAGES * TN * TK] __attribute__((aligned(16)));
    const int ktiles = (k + TK - 1) / TK;
    // Copy group s holds K-tile s: tiles 0 .. STAGES-1 now, tile kt + STAGES once tile kt is
    // in registers. Every iteration commits a group, empty or not, so the counts stay in step.
#pragma unroll
    for (int s = 0; s < STAGES; s++) {
        if (s < ktiles) ISSUE(As + s * TM * TK, Bs + s * TN * TK, s * TK);
        CP_COMMIT();
    }
    CP_WAIT(STAGES_LESS1);              // tile 0 has landed (this work-item's part)
    barrier(CLK_LOCAL_MEM_FENCE);       // everyone's has

    double fa[2][MI][2], fb[2][NI];
#define LOAD_FRAGS(slot, X, Y, q)                                                          \
    _Pragma("unroll")                                                                      \
    for (int x = 0; x < MI; x++) {                                                         \
        fa[slot][x][0] = (X)[A_AT(wm + x * 16 + g, (q) + t)];                              \
        fa[slot][x][1] = (X)[A_AT(wm + x * 16 + g + 8, (q) + t)];                          \
    }                                                                                      \
    _Pragma("unroll")                                                                      \
    for (int y = 0; y < NI; y++)                                                           \
        fb[slot][y] = (Y)[B_AT((q) + t, wn + y * 8 + g)];
    LOAD_FRAGS(0, As, Bs, 0)
    int rs = 0;                         // stage buffer of tile kt
    for (int kt = 0; kt < ktiles; kt++) {
        __local const double* X = As + rs * TM * TK;
        __local const double* Y = Bs + rs * TN * TK;
        const int next = rs + 1 == STAGES ? 0 : rs + 1;
#pragma unroll
        for (int qs = 0; qs < TK / 4; qs++) {
            const int cur = qs & 1;
            if (qs < TK / 4 - 1) {
                LOAD_FRAGS(cur ^ 1, X, Y, (qs + 1) * 4)
            } else {
                CP_WAIT(STAGES_LESS2);        // tile kt + 1 has landed (this work-item's part)
                barrier(CLK_LOCAL_MEM_FENCE); // everyone's has, and tile kt is all in registers
                // No `if (kt + STAGES < ktiles)`: past the end every copy has source size 0 and
                // fills a buffer nobody reads. A branch here would put the copies' address
                // arithmetic in a block of its own, which all warps then run at the same time
                // with no MMA to overlap (47.6 against 52-55 TF/s at n = 8192).
                ISSUE(As + rs * TM * TK, Bs + rs * TN * TK, (kt + STAGES) * TK);
                CP_COMMIT();
                if (kt + 1 < ktiles) { LOAD_FRAGS(cur ^ 1, As + next * TM * TK, Bs + next * TN * TK, 0) }
            }
#pragma unroll
            for (int x = 0; x < MI; x++)
#pragma unroll
                for (int y = 0; y < NI; y++)
                    MMA(acc[x][y], fa[cur][x][0], fa[cur][x][1], fb[cur][y]);
        }
        rs = next;
    }

#if SPLIT
    if (slices > 1) {  // one K-slice of a split tile: its part of the sum, for gemm_reduce
        work += (long)get_group_id(0) * (TM * TN);
#pragma unroll
        for (int x = 0; x < MI; x++)
#pragma unroll
            for (int h = 0; h < 2; h++)
#pragma unroll
                for (int y = 0; y < NI; y++)
#pragma unroll
                    for (int e = 0; e < 2; e++)
                        work[(wm + x * 16 + g + h * 8) * TN + wn + y * 8 + 2 * t + e] = acc[x][y][2 * h + e];
        return;
    }
#endif
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
