// Staging of GEMM tiles through registers into local memory, shared by the GEMM kernels.
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

// Registers -> local tiles As[TK][*], Bs[TK][*] (k-major rows).
#define STORE_TILES()                                                                      \
    for (int r = 0; r < LA; r++) { A_POS(tid + r * NT, i, p); As[p][i] = ra[r]; }          \
    for (int r = 0; r < LB; r++) { B_POS(tid + r * NT, j, p); Bs[p][j] = rb[r]; }
