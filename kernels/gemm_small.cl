// Stacks of small products, C = alpha op(A) op(B) + beta C, every dimension up to 16, at
// memory speed: each product is a few hundred bytes and a few dozen FMAs, so the kernel is
// only as fast as its global reads and writes are coalesced.
//
// Compile-time: M, N, K (the product unrolls), the precision (common.h), the operand layouts
//   A_MFAST: op(A)(i,p) at a[p*M + i] (else a[i*K + p]);
//   B_NFAST: op(B)(p,j) at b[p*N + j] (else b[j*K + p]);
// BCAST_A / BCAST_B: the operand is one matrix for the whole stack (batch stride 0), else a
// dense stack (M*K resp. K*N elements from one matrix to the next). C is a dense row-major
// stack (the host transposes the problem for a column-major C, and stages anything else).
//
// A work-group owns MPG consecutive matrices of the stack. VARIANT:
//   0 "element": the group copies its run of A and B into local memory (consecutive work-items
//     read consecutive VW-wide vectors), then each work-item computes R elements of one
//     product (rows r, r + M/R, ... of column j) and writes them straight to C: the (M/R)*N
//     work-items of a product write its rows in order, so a group's stores are runs of
//     consecutive addresses (one run per round for R = 1).
//   1 "matrix": the same staging; each work-item computes a whole product in registers, puts it
//     in local memory, and the group writes its run of C back as consecutive vectors.
//   2 "direct": as "element" without local memory: operands are read from global memory where
//     they lie (the cache serves the repeats), no barrier.
// WPR products are computed side by side (one round) by the WG work-items; MPG / WPR rounds.
// Matrix indices are 64-bit (a stack may hold more than 2^31 elements).

#include "common.h"

#ifndef VARIANT
#define VARIANT 0
#endif
#ifndef R
#define R 1
#endif
#ifndef VW
#define VW 1
#endif
#define MK (M * K)
#define KN (K * N)
#define MN (M * N)
#if VARIANT == 1
#define TPM 1
#else
#define TPM ((M / R) * N)
#endif
#define WG (WPR * TPM)
#define ROUNDS (MPG / WPR)
#if M % R || MPG % WPR
#error "R must divide M and WPR must divide MPG"
#endif

// Local copies: one matrix every LA (LB, LC) elements, an odd stride, so that work-items
// reading element e of consecutive matrices hit different banks.
#define ODD(x) ((x) % 2 ? (x) : (x) + 1)
#define LA ODD(MK)
#define LB ODD(KN)
#define LC ODD(MN)

#if VW == 4
typedef real4 realv;
#define SPLAT(v, out) { out[0] = v.s0; out[1] = v.s1; out[2] = v.s2; out[3] = v.s3; }
#define GATHER(in) ((real4)(in[0], in[1], in[2], in[3]))
#elif VW == 2
typedef real2 realv;
#define SPLAT(v, out) { out[0] = v.s0; out[1] = v.s1; }
#define GATHER(in) ((real2)(in[0], in[1]))
#elif VW != 1
#error "VW is 1, 2 or 4"
#endif

#if VARIANT != 2
// Copies `total` elements (whole matrices of `len` elements), dense from `src`, to `dst` (one
// matrix every `ld` elements): work-item t reads vectors t, t + WG, ... (`src` is VW-aligned:
// the host makes each group's first element a multiple of VW), then the remaining elements one
// by one. Called with a compile-time `total` for full groups, so the loops unroll and each
// work-item has all its loads in flight at once.
inline void stage(__local real* dst, __global const real* restrict src, const int total, const int len, const int ld)
{
    const int t = get_local_id(0);
    int done = 0;
#if VW > 1
    const int nv = total / VW;
    // Trip counts that do not depend on t: a compile-time `total` unrolls them.
    for (int s = 0; s < nv; s += WG) {
        const int v = s + t;
        if (v < nv) {
            const realv x = ((__global const realv*)src)[v];
            real e[VW];
            SPLAT(x, e);
            for (int q = 0; q < VW; q++) {
                const int i = v * VW + q;
                dst[(i / len) * ld + i % len] = e[q];
            }
        }
    }
    done = nv * VW;
#endif
    for (int s = done; s < total; s += WG) {
        const int i = s + t;
        if (i < total)
            dst[(i / len) * ld + i % len] = src[i];
    }
}
#endif

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void gemm_small(const long count, const real alpha, const real beta, const int read_c,
                __global const real* restrict a, __global const real* restrict b, __global real* restrict c)
{
    const int t = get_local_id(0);
    const long first = (long)get_group_id(0) * MPG;  // the group's first matrix
    const int here = (int)min((long)MPG, count - first);  // its matrices (fewer in the last group)
    c += first * MN;
#if !BCAST_A
    a += first * MK;
#endif
#if !BCAST_B
    b += first * KN;
#endif

#if VARIANT == 2
#define SPACE __global
    __global const real* As = a;
    __global const real* Bs = b;
#define STEP_A (BCAST_A ? 0 : MK)
#define STEP_B (BCAST_B ? 0 : KN)
#else
#define SPACE __local
    __local real As[BCAST_A ? LA : MPG * LA];
    __local real Bs[BCAST_B ? LB : MPG * LB];
    if (here == MPG) {  // every group but perhaps the last
        stage(As, a, (BCAST_A ? 1 : MPG) * MK, MK, LA);
        stage(Bs, b, (BCAST_B ? 1 : MPG) * KN, KN, LB);
    } else {
        stage(As, a, (BCAST_A ? 1 : here) * MK, MK, LA);
        stage(Bs, b, (BCAST_B ? 1 : here) * KN, KN, LB);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#define STEP_A (BCAST_A ? 0 : LA)
#define STEP_B (BCAST_B ? 0 : LB)
#endif
#define OP_A(x, i, p) (x)[A_MFAST ? (p) * M + (i) : (i) * K + (p)]
#define OP_B(x, p, j) (x)[B_NFAST ? (p) * N + (j) : (j) * K + (p)]

#if VARIANT == 1
    __local real Cs[MPG * LC];
    for (int y = 0; y < ROUNDS; y++) {
        const int mat = t + y * WPR;
        if (mat < here) {
            SPACE const real* pa = As + mat * STEP_A;
            SPACE const real* pb = Bs + mat * STEP_B;
            real acc[M][N];
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                    acc[i][j] = 0;
            for (int p = 0; p < K; p++) {
                real bp[N];
                for (int j = 0; j < N; j++)
                    bp[j] = OP_B(pb, p, j);
                for (int i = 0; i < M; i++) {
                    const real aip = OP_A(pa, i, p);
                    for (int j = 0; j < N; j++)
                        acc[i][j] = fma(aip, bp[j], acc[i][j]);
                }
            }
            for (int i = 0; i < M; i++)
                for (int j = 0; j < N; j++)
                    Cs[mat * LC + i * N + j] = alpha * acc[i][j];
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    // The run of C, as consecutive vectors (c is VW-aligned: MPG * MN is a multiple of VW).
    const int total = here * MN;
    int done = 0;
#if VW > 1
    const int nv = total / VW;
    for (int v = t; v < nv; v += WG) {
        real e[VW];
        for (int q = 0; q < VW; q++) {
            const int i = v * VW + q;
            e[q] = Cs[(i / MN) * LC + i % MN];
        }
        realv x = GATHER(e);
        __global realv* cv = (__global realv*)c + v;
        // beta = 0 never reads C: NaN there must not leak into the result.
        *cv = read_c ? x + beta * *cv : x;
    }
    done = nv * VW;
#endif
    for (int i = done + t; i < total; i += WG) {
        const real x = Cs[(i / MN) * LC + i % MN];
        c[i] = read_c ? x + beta * c[i] : x;
    }
#else
    const int slot = t / TPM, u = t % TPM, r = u / N, j = u % N;
    for (int y = 0; y < ROUNDS; y++) {
        const int mat = slot + y * WPR;
        if (mat >= here)
            break;  // no barrier follows
        SPACE const real* pa = As + mat * STEP_A;
        SPACE const real* pb = Bs + mat * STEP_B;
        real acc[R];
        for (int x = 0; x < R; x++)
            acc[x] = 0;
        for (int p = 0; p < K; p++) {
            const real bpj = OP_B(pb, p, j);
            for (int x = 0; x < R; x++)
                acc[x] = fma(OP_A(pa, r + x * (M / R), p), bpj, acc[x]);
        }
        for (int x = 0; x < R; x++) {
            const int o = mat * MN + (r + x * (M / R)) * N + j;
            // beta = 0 never reads C: NaN there must not leak into the result.
            c[o] = read_c ? alpha * acc[x] + beta * c[o] : alpha * acc[x];
        }
    }
#endif
}
