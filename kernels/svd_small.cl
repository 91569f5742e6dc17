// Stacks of small SVDs (every dimension up to 64) by one-sided (Hestenes) Jacobi: the columns
// of W (M x N, M >= N; the host passes A^T for a wide A) are rotated pairwise until every pair
// is orthogonal to TOL relative to the columns' norms; then sigma_j = ||w_j||, u_j = w_j /
// sigma_j, and V is the product of the rotations. Relative orthogonality is what makes U
// orthogonal to working precision even for columns whose sigma is ulp-sized.
//
// A work-group holds MPG matrices in local memory, each column-major with odd stride LDA, and
// TPP work-items per pair of columns: in each of the NP - 1 rounds of a sweep the NP / 2 pairs
// of a round-robin ordering are disjoint, so the items of a matrix rotate them side by side,
// with a barrier between rounds. A pair's TPP items (its lanes) take every TPP-th row: each
// sums its rows' share of the pair's dot products, and every lane adds the lanes' shares in
// the same order, so all of them compute the same rotation (TPP > 1 costs a second barrier per
// round and buys more items per matrix, and fewer registers per item). A matrix that goes a whole sweep without a rotation is done;
// the group sweeps while any of its matrices is not, at most SWEEPS times.
//
// Compile-time: M, N (the kernel's problem), the precision (common.h), and
//   W_COLMAJOR  W(i, j) is w[j*M + i] in each matrix of the input (else w[i*N + j]);
//   KU          columns of U to produce: 0 (none), N (thin) or M (completed to a square
//               orthogonal matrix, full_matrices=True);
//   WANT_V      accumulate and write V;
//   V_GLOBAL    V is accumulated in the output v (global memory, each matrix's N x N
//               column-major) instead of local memory, and reordered through local memory at
//               the end: past 32 columns W and V do not both fit a group's local memory;
//   TRANS       the outputs are the transposed problem's: U is written column-major (the
//               caller's V^T) and V row-major (the caller's U); else U row-major, V^T as
//               V column-major;
//   COMPLEX     complex elements (real2: re, im): the rotations carry the phase of w_i^H w_j,
//               V^H is written conjugated, and EIG reads a Hermitian matrix (its diagonal's
//               imaginary parts ignored, as LAPACK's xHEEV does);
//   MPG, SWEEPS, TPP (work-items per pair, default 1);
//   EIG         symmetric eigenproblems instead (M = N; KU = N for eigenvectors, else 0; no
//               V): the triangle LOWER names is mirrored onto the other, B = A + c I with c
//               Gershgorin's bound on -lambda_min (so B is positive semidefinite and its SVD is
//               its eigendecomposition, V = U), and the outputs are lambda = sigma - c
//               ascending and U's columns in that order, row-major in v (the caller's
//               eigenvectors; U is as orthogonal as Jacobi's V, see above, and leaves local
//               memory and rotations to W alone). The shift costs an absolute
//               error of eps c <= eps ||A||_1, within the backward error LAPACK's xSYEV allows.
//               FULL_CHECK: NaN and Inf are looked for in the whole input (check_finite=True,
//               as the CPU does), else in the triangle read.
// Outputs per matrix: s (N values, descending, unscaled), u (M x KU), v (N x N), and info:
// 0, 1 (NaN in the input), 2 (Inf), 3 (not converged in SWEEPS sweeps). Matrix indices are
// 64-bit (a stack may hold more than 2^31 elements).

#include "common.h"

#if REAL_DOUBLE
#define EPS DBL_EPSILON
#define TINY DBL_MIN
#else
#define EPS FLT_EPSILON
#define TINY FLT_MIN
#endif

#if N > M || N < 1
#error "need 1 <= N <= M"
#endif
#ifndef EIG
#define EIG 0
#endif
#ifndef COMPLEX
#define COMPLEX 0
#endif

// Elements, and the arithmetic the kernel needs on them, real or complex.
#if COMPLEX
typedef real2 elem;
#define ABS2(z) fma((z).x, (z).x, (z).y * (z).y)
#define MOD(z) hypot((z).x, (z).y)
#define MAGN(z) fmax(fabs((z).x), fabs((z).y))
#define NAN_IN(z) (isnan((z).x) || isnan((z).y))
#define INF_IN(z) (isinf((z).x) || isinf((z).y))
#define LDEXP(z, e) ((elem)(ldexp((z).x, e), ldexp((z).y, e)))
#define CONJ(z) ((elem)((z).x, -(z).y))
#define RE(z) (z).x
#define ZERO ((elem)(0, 0))
#define ONE ((elem)(1, 0))
inline elem cmul(const elem a, const elem b) { return (elem)(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x); }
// acc + conj(a) b
inline elem cdot(const elem a, const elem b, const elem acc) {
    return (elem)(fma(a.x, b.x, fma(a.y, b.y, acc.x)), fma(a.x, b.y, fma(-a.y, b.x, acc.y)));
}
#else
typedef real elem;
#define ABS2(z) ((z) * (z))
#define MOD(z) fabs(z)
#define MAGN(z) fabs(z)
#define NAN_IN(z) isnan(z)
#define INF_IN(z) isinf(z)
#define LDEXP(z, e) ldexp(z, e)
#define CONJ(z) (z)
#define RE(z) (z)
#define ZERO ((real)0)
#define ONE ((real)1)
inline elem cmul(const elem a, const elem b) { return a * b; }
inline elem cdot(const elem a, const elem b, const elem acc) { return fma(a, b, acc); }
#endif
#if EIG && (M != N || (KU != 0 && KU != N) || WANT_V)
#error "EIG needs M == N, KU 0 or N, and no V"
#endif
#define NP (N + (N & 1))         // columns with a phantom zero column when N is odd
#define P (NP / 2)               // pairs per matrix
#ifndef TPP
#define TPP 1
#endif
#define WG (MPG * P * TPP)
#define RPL ((M + TPP - 1) / TPP)  // rows per lane
#define ODD(x) ((x) % 2 ? (x) : (x) + 1)
#define LDA ODD(M)
#define UC (KU > N ? KU : N)     // columns kept per matrix: W, then U with its completion
#define LDV ODD(N)
#ifndef V_GLOBAL
#define V_GLOBAL 0
#endif
#if V_GLOBAL && !WANT_V
#error "V_GLOBAL needs WANT_V"
#endif
// Column j of matrix k's V (k < here), and the barriers' fence: rotations of V in global
// memory by one work-item are read by another in the next round.
#if V_GLOBAL
#define VSPACE __global
#define VCOL(k, j) (v + (first + (k)) * (long)(N * N) + (j) * N)
#define FENCE (CLK_LOCAL_MEM_FENCE | CLK_GLOBAL_MEM_FENCE)
#else
#define VSPACE __local
#define VCOL(k, j) (V + (k) * N * LDV + (j) * LDV)
#define FENCE CLK_LOCAL_MEM_FENCE
#endif
// A pair is rotated unless |w_i . w_j| <= TOL ||w_i|| ||w_j|| (xGESVJ's sqrt(M) eps).
#define TOL (EPS * sqrt((real)M))
#define TOL2 (EPS * EPS * (real)M)
// Columns of squared norm below SMALL2 (after scaling the largest entry into [1/2, 1)) count as
// zero: their products underflow, so their dot products lose relative accuracy. Their sigma is
// below 2^-40 of the largest entry (float32; 2^-459 in float64), far inside the sigma error
// bound, and their U columns are completed like those of exact zeros.
#define SMALL2 (TINY / (EPS * EPS))

__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void svd_small(const long count, const long a_stride, __global const elem* restrict a, __global real* restrict s,
               __global elem* restrict u, __global elem* restrict v, __global int* restrict info)
{
    const int t = get_local_id(0);
    const int lane = t % TPP, tp = t / TPP;  // tp: the pair's index in the group
    const int mat = tp / P, p = tp % P;
    const long first = (long)get_group_id(0) * MPG;
    const int here = (int)min((long)MPG, count - first);

    __local elem A[MPG * UC * LDA];
#if WANT_V && !V_GLOBAL
    __local elem V[MPG * N * LDV];
#endif
    __local real sig[MPG * N];
    __local int perm[MPG * UC];   // position (descending sigma) -> column
    __local int rotf[MPG * P];    // rotated during the sweep, per pair
#if TPP > 1
    __local real red[WG * 4];     // each lane's share of a pair's sums (al, be, ga)
#endif
    __local int mrot[MPG];        // ... per matrix
    __local int code[MPG];        // info per matrix
    __local int ex[MPG];          // the scaling exponent per matrix
    __local real scr[WG];         // each item's share of a per-matrix scan (largest entry, shift)
    __local int sci[WG];          // ... (NaN or Inf found)
#if EIG
    __local real shf[MPG];        // the shift c per matrix, scaled
#endif
    __local int pending;          // some matrix of the group rotated during the sweep

    // The group's matrices, read as consecutive elements (a_stride 0: one matrix broadcast).
    for (int e = t; e < here * M * N; e += WG) {
        const int k = e / (M * N), r = e % (M * N);
#if W_COLMAJOR
        const int i = r % M, j = r / M;
#else
        const int i = r / N, j = r % N;
#endif
        A[k * UC * LDA + j * LDA + i] = a[(first + k) * a_stride + r];
    }
    if (t == 0)
        pending = 0;
    barrier(CLK_LOCAL_MEM_FENCE);

    __local elem* W = A + mat * UC * LDA;
#if EIG
    int pre = 0;  // NaN (1) or Inf (2) in the item's home columns, found before the mirroring
#if FULL_CHECK
    // (Every scan of a matrix is spread over its items, their home columns and their rows: one
    // item scanning N^2 elements took as long as a sixth of the sweeps.)
    if (mat < here)
        for (int j = 2 * p; j < min(2 * p + 2, N); j++)
            for (int i = lane; i < M; i += TPP)
                pre = NAN_IN(W[j * LDA + i]) ? max(pre, 1) : INF_IN(W[j * LDA + i]) ? 2 : pre;
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    // The other triangle is never read: each item fills its home columns from the triangle
    // named (whose entries no item writes).
    for (int j = 2 * p; j < min(2 * p + 2, N); j++) {
        for (int i = lane; i < N; i += TPP)
            if (LOWER ? i < j : i > j)
                W[j * LDA + i] = CONJ(W[i * LDA + j]);
#if COMPLEX
        if (lane == 0)
            W[j * LDA + j].y = 0;
#endif
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#endif
    // Non-finite input is reported, never decomposed; the largest entry sets a power-of-two
    // scale (exact) that keeps every squared norm away from overflow and underflow.
    {
        real big = 0;
        int c = 0;
        if (mat < here)
            for (int j = 2 * p; j < min(2 * p + 2, N); j++)
                for (int i = lane; i < M; i += TPP) {
                    const elem x = W[j * LDA + i];
                    if (NAN_IN(x))
                        c = max(c, 1);
                    else if (INF_IN(x))
                        c = 2;
                    else
                        big = fmax(big, MAGN(x));
                }
#if EIG
        c = max(c, pre);
#endif
        scr[t] = big;
        sci[t] = c;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (p == 0 && lane == 0 && mat < here) {
        real big = 0;
        int c = 0;
        for (int q = mat * P * TPP; q < (mat + 1) * P * TPP; q++) {
            big = fmax(big, scr[q]);
            c = max(c, sci[q]);
        }
        code[mat] = c;
        ex[mat] = big > 0 ? ilogb(big) + 1 : 0;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    bool active = mat < here && code[mat] == 0;
    const int e2 = mat < here ? ex[mat] : 0;
    for (int j = 2 * p; j < min(2 * p + 2, N); j++) {  // the item's home columns
        if (active && e2 != 0)
            for (int i = lane; i < M; i += TPP)
                W[j * LDA + i] = LDEXP(W[j * LDA + i], -e2);
#if WANT_V
        if (mat < here)
            for (int i = lane; i < N; i += TPP)
                VCOL(mat, j)[i] = i == j ? ONE : ZERO;
#endif
    }
    barrier(FENCE);
#if EIG
    // c = max(0, max_j sum_{i != j} |w_ij| - w_jj) on the scaled matrix (at most N), onto the
    // diagonal: B = W + c I is positive semidefinite.
    if (lane == 0) {  // each item's home columns, then their largest
        real c = 0;
        if (active)
            for (int j = 2 * p; j < min(2 * p + 2, N); j++) {
                real r = -RE(W[j * LDA + j]);
                for (int i = 0; i < N; i++)
                    r += i == j ? 0 : MOD(W[j * LDA + i]);
                c = fmax(c, r);
            }
        scr[t] = c;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (p == 0 && lane == 0) {
        real c = 0;
        for (int q = 0; q < P; q++)
            c = fmax(c, scr[(mat * P + q) * TPP]);
        shf[mat] = c;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (active && lane == 0)
        for (int j = 2 * p; j < min(2 * p + 2, N); j++)
            RE(W[j * LDA + j]) += shf[mat];
    barrier(CLK_LOCAL_MEM_FENCE);
#endif

    for (int sweep = 1;; sweep++) {
        int mine = 0;
        for (int rd = 0; rd < NP - 1; rd++) {
            // Round-robin ("circle") ordering: column NP-1 stays, the others turn.
            const int ci = p == 0 ? rd : (rd + p) % (NP - 1);
            const int cj = p == 0 ? NP - 1 : (rd - p + NP - 1) % (NP - 1);
            const bool live = active && cj < N;
            __local elem* wi = W + ci * LDA;
            __local elem* wj = W + cj * LDA;
            elem x[RPL], y[RPL];  // the lane's rows of w_i and w_j
            real al = 0, be = 0, al1 = 0, be1 = 0;
            elem ga = ZERO, ga1 = ZERO;
            // Two sums each, over alternate rows: twice the independent FMAs in flight, which
            // is what a few warps per multiprocessor (local memory bounds them) can hide.
            if (live) {
                for (int r = 0; r < RPL; r += 2) {
                    const int k = lane + r * TPP;
                    x[r] = k < M ? wi[k] : ZERO;
                    y[r] = k < M ? wj[k] : ZERO;
                    al += ABS2(x[r]);
                    be += ABS2(y[r]);
                    ga = cdot(x[r], y[r], ga);  // w_i^H w_j
                    if (r + 1 < RPL) {
                        const int k1 = k + TPP;
                        x[r + 1] = k1 < M ? wi[k1] : ZERO;
                        y[r + 1] = k1 < M ? wj[k1] : ZERO;
                        al1 += ABS2(x[r + 1]);
                        be1 += ABS2(y[r + 1]);
                        ga1 = cdot(x[r + 1], y[r + 1], ga1);
                    }
                }
                al += al1;
                be += be1;
                ga += ga1;
            }
#if TPP > 1
            red[4 * t] = al;
            red[4 * t + 1] = be;
            red[4 * t + 2] = RE(ga);
#if COMPLEX
            red[4 * t + 3] = ga.y;
#endif
            barrier(CLK_LOCAL_MEM_FENCE);
            al = be = 0;
            ga = ZERO;
            for (int l = 0; l < TPP; l++) {  // the same order in every lane
                __local const real* q = red + 4 * (tp * TPP + l);
                al += q[0];
                be += q[1];
#if COMPLEX
                ga += (elem)(q[2], q[3]);
#else
                ga += q[2];
#endif
            }
#endif
            if (live) {
                // The test squared, and one reciprocal of g (for zeta and e): a GPU's FP64 sqrt and
                // division are long instruction sequences. The square roots remain where al be could
                // underflow (columns near SMALL2).
                const real g2 = ABS2(ga), q = al * be;
                const bool fast = q >= TINY / TOL2;
                if (al >= SMALL2 && be >= SMALL2 && (fast ? g2 > TOL2 * q : MOD(ga) > TOL * sqrt(al) * sqrt(be))) {
#if COMPLEX
                    const real g = fast ? sqrt(g2) : MOD(ga);
#else
                    const real g = fabs(ga);
#endif
                    const real ig = 1 / g;
                    // Rutishauser's rotation of w_i and e^-i phi w_j (ga = g e^i phi, so their product
                    // is real, g): t the smaller root of t^2 + 2 zeta t - 1 = 0. Real: e = sign(ga).
                    const real zeta = (be - al) * ((real)0.5 * ig);
                    const real az = fabs(zeta);
                    const real tt = copysign(az > 1 / EPS ? (real)0.5 / az : 1 / (az + sqrt(1 + az * az)), zeta);
                    real c = rsqrt(1 + tt * tt), sn = c * tt;
                    // One Newton step puts c^2 + s^2 at 1 to working precision whatever the
                    // accuracy of the device's sqrt and division: the rotations stay unitary.
                    const real h = (real)1.5 - (real)0.5 * (c * c + sn * sn);
                    c *= h;
                    sn *= h;
#if COMPLEX
                    const elem e = ga * ig;
#else
                    const elem e = copysign((real)1, ga);
#endif
                    const elem sc = sn * CONJ(e), se = sn * e;
                    // [w_i w_j] J with the unitary J = [c, se; -sc, c]; V (if kept) accumulates the same J.
                    for (int r = 0; r < RPL; r++) {
                        const int k = lane + r * TPP;
                        if (k < M) {
                            wi[k] = c * x[r] - cmul(sc, y[r]);
                            wj[k] = cmul(se, x[r]) + c * y[r];
                        }
                    }
#if WANT_V
                    VSPACE elem* vi = VCOL(mat, ci);
                    VSPACE elem* vj = VCOL(mat, cj);
                    for (int k = lane; k < N; k += TPP) {
                        const elem xv = vi[k], yv = vj[k];
                        vi[k] = c * xv - cmul(sc, yv);
                        vj[k] = cmul(se, xv) + c * yv;
                    }
#endif
                    mine = 1;
                }
            }
            barrier(FENCE);
        }
        if (lane == 0)
            rotf[tp] = mine;  // the same in every lane
        barrier(CLK_LOCAL_MEM_FENCE);
        if (p == 0 && lane == 0) {
            int any = 0;
            for (int q = 0; q < P; q++)
                any |= rotf[mat * P + q];
            mrot[mat] = any;
            if (any)
                atomic_or(&pending, 1);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        active = active && mrot[mat];  // a sweep without a rotation: converged
        const int go = pending;
        barrier(CLK_LOCAL_MEM_FENCE);  // everyone read `pending` before it is reset
        if (t == 0)
            pending = 0;
        if (!go || sweep >= SWEEPS)
            break;
    }

    // sigma_j = ||w_j|| and u_j = w_j / sigma_j for the home columns; tiny columns count as 0.
    // Every lane sums the whole column (the same sigma in each) before any lane scales it.
    real home[2] = {0, 0};
    for (int j = 2 * p; j < min(2 * p + 2, N); j++) {
        real ss = 0;
        for (int i = 0; i < M; i++)
            ss += ABS2(W[j * LDA + i]);
        home[j - 2 * p] = ss >= SMALL2 ? sqrt(ss) : 0;
        if (lane == 0)
            sig[mat * N + j] = home[j - 2 * p];
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#if KU
    for (int j = 2 * p; j < min(2 * p + 2, N); j++) {
        const real sj = home[j - 2 * p];
        for (int i = lane; i < M; i += TPP)
            W[j * LDA + i] = sj > 0 ? W[j * LDA + i] / sj : ZERO;
    }
#endif
    barrier(CLK_LOCAL_MEM_FENCE);
    // Descending order, ties by column: each home column's position.
    for (int j = 2 * p; j < (lane == 0 ? min(2 * p + 2, N) : 0); j++) {
        const real sj = sig[mat * N + j];
        int pos = 0;
        for (int l = 0; l < N; l++) {
            const real sl = sig[mat * N + l];
            pos += sl > sj || (sl == sj && l < j);
        }
        perm[mat * UC + pos] = j;
    }
#if KU
    for (int q = N + p; lane == 0 && q < UC; q += P)
        perm[mat * UC + q] = q;
#endif
    barrier(CLK_LOCAL_MEM_FENCE);

#if KU
    // Columns of U for zero sigmas, and past N for full_matrices: unit vectors e_k made
    // orthogonal to the columns before them (classical Gram-Schmidt, twice), each time the e_k
    // with the largest residual (1 - sum of squares of row k so far: at least 1/M on average).
    if (p == 0 && lane == 0 && mat < here && code[mat] == 0) {
        __local const int* pm = perm + mat * UC;
        int r = 0;
        while (r < N && sig[mat * N + pm[r]] > 0)
            r++;
        real w[M];
        // (only where columns are missing: M r serial terms that a full-rank thin U skips)
        for (int k = 0; r < KU && k < M; k++) {
            real ss = 0;
            for (int l = 0; l < r; l++)
                ss += ABS2(W[pm[l] * LDA + k]);
            w[k] = 1 - ss;
        }
        for (int q = r; q < KU; q++) {
            int kb = 0;
            for (int k = 1; k < M; k++)
                kb = w[k] > w[kb] ? k : kb;
            elem x[M];
            for (int i = 0; i < M; i++)
                x[i] = i == kb ? ONE : ZERO;
            for (int pass = 0; pass < 2; pass++) {
                for (int l = 0; l < q; l++) {
                    __local const elem* ul = W + pm[l] * LDA;
                    elem h = ZERO;
                    for (int i = 0; i < M; i++)
                        h = cdot(ul[i], x[i], h);  // u_l^H x
                    for (int i = 0; i < M; i++)
                        x[i] -= cmul(h, ul[i]);
                }
            }
            real ss = 0;
            for (int i = 0; i < M; i++)
                ss += ABS2(x[i]);
            const real inv = 1 / sqrt(ss);
            __local elem* uq = W + pm[q] * LDA;
            for (int i = 0; i < M; i++) {
                uq[i] = x[i] * inv;
                w[i] -= ABS2(uq[i]);
            }
        }
    }
    barrier(CLK_LOCAL_MEM_FENCE);
#endif

    // Results, each a dense run of the group's matrices written as consecutive elements.
    if (p == 0 && lane == 0 && mat < here)
        info[first + mat] = code[mat] ? code[mat] : (mrot[mat] ? 3 : 0);
    for (int e = t; e < here * N; e += WG) {
        const int k = e / N, q = e % N;
#if EIG
        s[first * N + e] = ldexp(sig[k * N + perm[k * UC + N - 1 - q]] - shf[k], ex[k]);  // ascending
#else
        s[first * N + e] = ldexp(sig[k * N + perm[k * UC + q]], ex[k]);
#endif
    }
#if KU && EIG
    // The eigenvectors are B's left singular vectors (B = A + c I is positive semidefinite, so
    // U = V, and V is not accumulated), row-major, eigenvalues ascending.
    for (int e = t; e < here * N * N; e += WG) {
        const int k = e / (N * N), r = e % (N * N);
        const int i = r / N, q = N - 1 - r % N;
        v[first * (N * N) + e] = A[k * UC * LDA + perm[k * UC + q] * LDA + i];
    }
#elif KU
    for (int e = t; e < here * M * KU; e += WG) {
        const int k = e / (M * KU), r = e % (M * KU);
#if TRANS
        const int i = r % M, q = r / M;
#else
        const int i = r / KU, q = r % KU;
#endif
        u[first * (M * KU) + e] = A[k * UC * LDA + perm[k * UC + q] * LDA + i];
    }
#endif
#if WANT_V
#if V_GLOBAL
    // V through local memory (W's, now free: UC LDA >= N LDV per matrix): every item reads
    // before any writes the output in its final order over it.
    barrier(FENCE);
    __local elem* const V = A;
#define VAT(k, j, i) V[(k) * UC * LDA + (j) * LDV + (i)]
    for (int e = t; e < here * N * N; e += WG) {
        const int k = e / (N * N), r = e % (N * N);
        VAT(k, r / N, r % N) = v[(first + k) * (long)(N * N) + r];
    }
    barrier(FENCE);
#else
#define VAT(k, j, i) V[(k) * N * LDV + (j) * LDV + (i)]
#endif
    for (int e = t; e < here * N * N; e += WG) {
        const int k = e / (N * N), r = e % (N * N);
#if TRANS
        const int i = r / N, q = r % N;   // V row-major, columns in order: the caller's U
#else
        const int i = r % N, q = r / N;   // V^T row-major: row q is V's column perm[q]
#endif
#if COMPLEX
        // V^H (or, transposed problem, the caller's U = conj(V)): conjugated
        v[first * (N * N) + e] = CONJ(VAT(k, perm[k * UC + q], i));
#else
        v[first * (N * N) + e] = VAT(k, perm[k * UC + q], i);
#endif
    }
#endif
}
