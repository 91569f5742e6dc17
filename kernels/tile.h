// How the work-items of a group share the copying of a K-tile (LA, LB, A_POS, B_POS: both GEMM
// kernels), and the staging of tiles through registers into local memory (gemm.cl).
// Needs TM, TN, TK (tile), NT (work-items per group), the layout flags A_MFAST and B_NFAST
// (see gemm.cl), and in scope: a, lda, b, ldb, m, n, k, i0, j0, tid, ra[LA], rb[LB]
// (K_LOOP declares the rest).
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

// Operand offsets: the tile at k index p0 is the one at 0 moved by p0 * A_KSTEP (B_KSTEP).
#define A_KSTEP (A_MFAST ? (long)lda : 1L)
#define B_KSTEP (B_NFAST ? (long)ldb : 1L)
// 32-bit when the host says every offset fits (-DOFF32=1): 64-bit offsets per element took
// registers that float32's 128-register budget needed (40.7 -> 45.1 TF/s on the H100).
#if OFF32
typedef int offs;
#else
typedef long offs;
#endif

#if INSIDE
// Every tile lies inside the matrices (the host asks for this only when m >= TM, n >= TN and
// k >= TK; gemm.cl moves the last row and column of tiles back inside): no clamps, so each
// work-item's elements are one base offset plus compile-time steps and the offsets take no
// registers (a 12x8 block of doubles per work-item needs all but a few of the 255).
// An operand's tile is F x S elements, F along its contiguous dimension: TF work-items read
// along F (the largest power of two dividing F, at most NT), NT/TF rows of S at a time.
#define POW2_DIVISOR(x) ((x) & -(x))
#define TF_OF(F) (POW2_DIVISOR(F) < NT ? POW2_DIVISOR(F) : NT)
#define FAST_A (A_MFAST ? TM : TK)
#define SLOW_A (A_MFAST ? TK : TM)
#define FAST_B (B_NFAST ? TN : TK)
#define SLOW_B (B_NFAST ? TK : TN)
#if NT % TF_OF(FAST_A) || NT % TF_OF(FAST_B) || SLOW_A % (NT / TF_OF(FAST_A)) || SLOW_B % (NT / TF_OF(FAST_B))
#error "INSIDE: the work-group must read each tile in whole rows (see TILE_MAP)"
#endif
#define TILE_MAP(F, S, TFV, FS, SP, SS)                                                    \
    const int TFV = TF_OF(F), FS = (F) / TFV, SP = NT / TFV, SS = (S) / SP;
// Element (f, s) of a tile as (row, k) of A or (k, column) of B.
#define A_RP(f, s, i, p) const int i = A_MFAST ? (f) : (s), p = A_MFAST ? (s) : (f)
#define B_PJ(f, s, p, j) const int p = B_NFAST ? (s) : (f), j = B_NFAST ? (f) : (s)
#define OFFSETS                                                                           \
    TILE_MAP(FAST_A, SLOW_A, TFA, FSA, SPA, SSA)                                           \
    TILE_MAP(FAST_B, SLOW_B, TFB, FSB, SPB, SSB)                                           \
    const int fa = tid % TFA, sa0 = tid / TFA, fb = tid % TFB, sb0 = tid / TFB;           \
    const offs oa = (offs)i0 * (A_MFAST ? 1 : lda) + (offs)fa + (offs)sa0 * lda;           \
    const offs ob = (offs)j0 * (B_NFAST ? 1 : ldb) + (offs)fb + (offs)sb0 * ldb;           \
    const offs sla = (offs)SPA * lda, slb = (offs)SPB * ldb;
// This work-item's element (fr, sr) of a tile is register ra[sr * FSA + fr] (rb for B).
#define FETCH_FIRST(p0)                                                                    \
    for (int sr = 0; sr < SSA; sr++)                                                       \
        for (int fr = 0; fr < FSA; fr++) {                                                 \
            A_RP(fa + fr * TFA, sa0 + sr * SPA, i, p);                                     \
            ra[sr * FSA + fr] = (p0) + p >= 0                                              \
                ? a[oa + fr * TFA + sr * sla + (offs)(p0) * (offs)A_KSTEP] : 0;            \
        }                                                                                  \
    for (int sr = 0; sr < SSB; sr++)                                                       \
        for (int fr = 0; fr < FSB; fr++) {                                                 \
            B_PJ(fb + fr * TFB, sb0 + sr * SPB, p, j);                                     \
            rb[sr * FSB + fr] = (p0) + p >= 0                                              \
                ? b[ob + fr * TFB + sr * slb + (offs)(p0) * (offs)B_KSTEP] : 0;            \
        }
#define FETCH(p0)                                                                          \
    {                                                                                      \
        const offs da = oa + (offs)(p0) * (offs)A_KSTEP, db = ob + (offs)(p0) * (offs)B_KSTEP; \
        for (int sr = 0; sr < SSA; sr++)                                                   \
            for (int fr = 0; fr < FSA; fr++) ra[sr * FSA + fr] = a[da + fr * TFA + sr * sla]; \
        for (int sr = 0; sr < SSB; sr++)                                                   \
            for (int fr = 0; fr < FSB; fr++) rb[sr * FSB + fr] = b[db + fr * TFB + sr * slb]; \
    }
#define STORE_TILES(X, Y)                                                                  \
    for (int sr = 0; sr < SSA; sr++)                                                       \
        for (int fr = 0; fr < FSA; fr++) {                                                 \
            A_RP(fa + fr * TFA, sa0 + sr * SPA, i, p);                                     \
            X[p][i] = ra[sr * FSA + fr];                                                   \
        }                                                                                  \
    for (int sr = 0; sr < SSB; sr++)                                                       \
        for (int fr = 0; fr < FSB; fr++) {                                                 \
            B_PJ(fb + fr * TFB, sb0 + sr * SPB, p, j);                                     \
            Y[p][j] = rb[sr * FSB + fr];                                                   \
        }
#define NEXT(p0) min((p0) + TK, k - TK)
#else
// Global -> registers. Rows of A and columns of B outside the matrices are read from the
// last one inside instead: they only feed rows and columns of C that are never stored, so
// they need no zeros. Along K zeros are needed, and only one tile needs them: the K loop
// starts at p0 = k - ktiles*TK <= 0 with that partial tile (zero before index 0), so every
// later tile lies whole inside the matrices and its loads need no check.
// Offsets of each work-item's elements of the tile at p0 = 0 (k clamped too, for k < TK,
// where the loop's loads are never used); the tile at p0 is then a[oa[r] + p0 * A_KSTEP].
#define OFFSETS                                                                           \
    offs oa[LA], ob[LB];                                                                   \
    for (int r = 0; r < LA; r++) {                                                          \
        A_POS(tid + r * NT, i, p);                                                          \
        oa[r] = (offs)OFFSET(lda, min(i0 + i, m - 1), min(p, k - 1), A_MFAST);             \
    }                                                                                       \
    for (int r = 0; r < LB; r++) {                                                          \
        B_POS(tid + r * NT, j, p);                                                          \
        ob[r] = (offs)OFFSET(ldb, min(p, k - 1), min(j0 + j, n - 1), !B_NFAST);            \
    }

// The first tile, p0 <= 0: zero before index 0.
#define FETCH_FIRST(p0)                                                                    \
    for (int r = 0; r < LA; r++) {                                                          \
        A_POS(tid + r * NT, i, p);                                                          \
        ra[r] = (p0) + p >= 0 ? AT(a, lda, min(i0 + i, m - 1), (p0) + p, A_MFAST) : 0;     \
    }                                                                                       \
    for (int r = 0; r < LB; r++) {                                                          \
        B_POS(tid + r * NT, j, p);                                                          \
        rb[r] = (p0) + p >= 0 ? AT(b, ldb, (p0) + p, min(j0 + j, n - 1), !B_NFAST) : 0;    \
    }

// A whole tile: one load per element, no checks and no branch, so the compiler interleaves
// the loads with the FMAs of the tile being multiplied.
#define FETCH(p0)                                                                          \
    {                                                                                      \
        const offs da = (offs)(p0) * (offs)A_KSTEP, db = (offs)(p0) * (offs)B_KSTEP;       \
        for (int r = 0; r < LA; r++) ra[r] = a[oa[r] + da];                                \
        for (int r = 0; r < LB; r++) rb[r] = b[ob[r] + db];                                \
    }

// Registers -> local tiles X[TK][*], Y[TK][*] (k-major rows).
#define STORE_TILES(X, Y)                                                                  \
    for (int r = 0; r < LA; r++) { A_POS(tid + r * NT, i, p); X[p][i] = ra[r]; }           \
    for (int r = 0; r < LB; r++) { B_POS(tid + r * NT, j, p); Y[p][j] = rb[r]; }

#define NEXT(p0) (k >= TK ? min((p0) + TK, k - TK) : 0)
#endif

// STAGES = 1: one local buffer, two barriers per K-tile. STAGES = 2: the next tile is stored
// into the other buffer while this one is multiplied, one barrier per K-tile.
#ifndef STAGES
#define STAGES 1
#endif

// The K loop around COMPUTE(X, Y), which multiplies the local tiles X (A) and Y (B). The
// next tile is fetched unconditionally: past the last one, NEXT re-reads the last whole
// tile (or, for k < TK, the clamped offsets), whose values nobody uses.
#define FIRST_P0 (k - ((k + TK - 1) / TK) * TK)
#if STAGES == 2
// Unrolled by two so that each half names its buffers with constants (a toggled index cost
// registers: 21.6 against 22.3 TF/s for float64 8x8 blocks on the H100); p0 is the same in
// every work-item, so all of them reach the same barriers.
#define K_LOOP(COMPUTE)                                                                    \
    OFFSETS                                                                               \
    FETCH_FIRST(FIRST_P0);                                                                 \
    STORE_TILES(As[0], Bs[0]);                                                             \
    barrier(CLK_LOCAL_MEM_FENCE);                                                          \
    for (int p0 = FIRST_P0; p0 < k;) {                                                     \
        FETCH(NEXT(p0));                                                                   \
        COMPUTE(As[0], Bs[0]);                                                             \
        STORE_TILES(As[1], Bs[1]);                                                         \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        if ((p0 += TK) >= k) break;                                                        \
        FETCH(NEXT(p0));                                                                   \
        COMPUTE(As[1], Bs[1]);                                                             \
        STORE_TILES(As[0], Bs[0]);                                                         \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        if ((p0 += TK) >= k) break;                                                        \
    }
#else
#define K_LOOP(COMPUTE)                                                                    \
    OFFSETS                                                                               \
    FETCH_FIRST(FIRST_P0);                                                                 \
    for (int p0 = FIRST_P0; p0 < k; p0 += TK) {                                            \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        STORE_TILES(As[0], Bs[0]);                                                         \
        barrier(CLK_LOCAL_MEM_FENCE);                                                      \
        FETCH(NEXT(p0));                                                                   \
        COMPUTE(As[0], Bs[0]);                                                             \
    }
#endif
