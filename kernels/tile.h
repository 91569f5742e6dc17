// How the work-items of a group share the copying of a K-tile (LA, LB, A_POS, B_POS: both GEMM
// kernels), and the staging of tiles through registers into local memory (gemm.cl).
// Needs TM, TN, TK (tile), NT (work-items per group), the layout flags A_MFAST and B_NFAST
// (see gemm.cl), and in scope: a, lda, b, ldb, m, n, k, i0, j0, tid, ra[LA], rb[LB].
#define LA (TM * TK / NT)
#define LB (TN * TK / NT)

// Element e of a tile, numbered so consecutive work-items read consecutive addresses.
#if A_MFAST
#define A_POS(e, i, p) int i = (e) % TM, p = (e) / TM
#else
#define A_POS(e, i, p) int p = (e) % TK, i = (e) / TK
#endif
#if B_NFAST
#define B_POS(e, j, p) int j = (e) % TN, p = (e) / TN
#else
#define B_POS(e, j, p) int p = (e) % TK, j = (e) / TK
#endif

// Global -> registers for the K-tile starting at p0; zero outside the matrices.
#define FETCH(p0)                                                                          \
    for (int r = 0; r < LA; r++) {                                                          \
        A_POS(tid + r * NT, i, p);                                                          \
        ra[r] = (i0 + i < m && (p0) + p < k) ? AT(a, lda, i0 + i, (p0) + p, A_MFAST) : 0;   \
    }                                                                                       \
    for (int r = 0; r < LB; r++) {                                                          \
        B_POS(tid + r * NT, j, p);                                                          \
        rb[r] = (j0 + j < n && (p0) + p < k) ? AT(b, ldb, (p0) + p, j0 + j, !B_NFAST) : 0;  \
    }

// Registers -> local tiles X[TK][*], Y[TK][*] (k-major rows).
#define STORE_TILES(X, Y)                                                                  \
    for (int r = 0; r < LA; r++) { A_POS(tid + r * NT, i, p); X[p][i] = ra[r]; }           \
    for (int r = 0; r < LB; r++) { B_POS(tid + r * NT, j, p); Y[p][j] = rb[r]; }

// STAGES = 1: one local buffer, two barriers per K-tile. STAGES = 2: the next tile is stored
// into the other buffer while this one is multiplied, one barrier per K-tile.
#ifndef STAGES
#define STAGES 1
#endif

// The K loop around COMPUTE(X, Y), which multiplies the local tiles X (A) and Y (B).
#if STAGES == 2
#define K_LOOP(COMPUTE)                                                                    \
    FETCH(0);                                                                              \
    STORE_TILES(As[0], Bs[0]);                                                             \
    barrier(CLK_LOCAL_MEM_FENCE);                                                          \
    for (int p0 = 0, s = 0; p0 < k; p0 += TK, s ^= 1) {                                    \
        const bool more = p0 + TK < k;                                                     \
        if (more) { FETCH(p0 + TK); }                                                      \
        COMPUTE(As[s], Bs[s]);                                                             \
        if (more) { STORE_TILES(As[s ^ 1], Bs[s ^ 1]); }                                   \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
    }
#else
#define K_LOOP(COMPUTE)                                                                    \
    FETCH(0);                                                                              \
    for (int p0 = 0; p0 < k; p0 += TK) {                                                   \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        STORE_TILES(As[0], Bs[0]);                                                         \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        if (p0 + TK < k) { FETCH(p0 + TK); }                                               \
        COMPUTE(As[0], Bs[0]);                                                             \
    }
#endif
