// Passes of the tall-skinny SVD (rust/core/src/opencl/svd_tall.rs, CholeskyQR): Gram matrices
// X^T X summed over chunks of rows, and products X W with a small square W.
//
// X is m x n, row-major (X(r, c) at x[xoff + r*n + c]) or column-major (x[xoff + r + c*m]),
// chosen per call (`colmajor`): the caller's matrix is read as it lies, our own Q's are
// row-major. Build options: REAL_DOUBLE, COMPLEX (elements are real2: re, im; the Gram
// matrix is X^H X), TS (tile edge: 16, 32 or 64) and PB (a work-item computes PB x PB
// entries: TS / PB work-items across a tile, RB / PB down a product's rows).

#if REAL_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
typedef double2 real2;
#else
typedef float real;
typedef float2 real2;
#endif

#ifndef COMPLEX
#define COMPLEX 0
#endif
#if COMPLEX
typedef real2 elem;
#define ZERO ((elem)(0, 0))
// c + a b, and c + conj(a) b
#define MAD(a, b, c) ((elem)(fma((a).x, (b).x, fma(-(a).y, (b).y, (c).x)), fma((a).x, (b).y, fma((a).y, (b).x, (c).y))))
#define MADC(a, b, c) ((elem)(fma((a).x, (b).x, fma((a).y, (b).y, (c).x)), fma((a).x, (b).y, fma(-(a).y, (b).x, (c).y))))
#define CONJ(a) ((elem)((a).x, -(a).y))
#else
typedef real elem;
#define ZERO ((elem)0)
#define MAD(a, b, c) fma(a, b, c)
#define MADC(a, b, c) fma(a, b, c)
#define CONJ(a) (a)
#endif

#define WI (TS / PB)  // work-items across a tile
#define KB 16         // rows of X (gram) or of W (product) per slab in local memory
#define RB 64         // rows of X per work-group (product)
#define HI (RB / PB)  // work-items down a product's rows

inline elem x_at(__global const elem *x, long xoff, long m, int n, int colmajor, long r, int c) {
    return colmajor ? x[xoff + (long)c * m + r] : x[xoff + r * n + c];
}

// Partial Gram (X^H X) of the rows [chunk * rows_per, (chunk + 1) * rows_per) of scale * X
// for the tile (ti, tj) of G, ti <= tj (the sum mirrors the rest): part[chunk][i][j], n x n each.
__kernel __attribute__((reqd_work_group_size(WI, WI, 1)))
void gram(const long m, const int n, const int colmajor, const long xoff, const long rows_per, const real scale,
          __global const elem *restrict x, __global elem *restrict part) {
    const int tx = get_local_id(0), ty = get_local_id(1);
    const long chunk = get_group_id(2);
    const int ti = get_group_id(0), tj = get_group_id(1);
    if (ti > tj) return;  // the whole group: before any barrier
    __local elem xi[KB][TS], xj[KB][TS];
    // A diagonal tile (the only one when n <= TS) reads its columns once.
    const bool diagonal = ti == tj;
    __local elem (*bj)[TS] = diagonal ? xi : xj;
    elem acc[PB][PB];
    for (int i = 0; i < PB; i++)
        for (int j = 0; j < PB; j++) acc[i][j] = ZERO;
    const long r0 = chunk * rows_per, r1 = min(m, r0 + rows_per);
    const int lid = ty * WI + tx;
    for (long r = r0; r < r1; r += KB) {
        for (int e = lid; e < KB * TS; e += WI * WI) {
            // Consecutive work-items read consecutive addresses in either layout.
            const int rr = colmajor ? e % KB : e / TS, cc = colmajor ? e / KB : e % TS;
            const long row = r + rr;
            const int ci = ti * TS + cc, cj = tj * TS + cc;
            xi[rr][cc] = (row < r1 && ci < n) ? scale * x_at(x, xoff, m, n, colmajor, row, ci) : ZERO;
            if (!diagonal) xj[rr][cc] = (row < r1 && cj < n) ? scale * x_at(x, xoff, m, n, colmajor, row, cj) : ZERO;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < KB; k++) {
            elem a[PB], b[PB];
            for (int i = 0; i < PB; i++) a[i] = xi[k][tx + i * WI];
            for (int j = 0; j < PB; j++) b[j] = bj[k][ty + j * WI];
            for (int i = 0; i < PB; i++)
                for (int j = 0; j < PB; j++) acc[i][j] = MADC(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    __global elem *out = part + chunk * n * (long)n;
    for (int i = 0; i < PB; i++)
        for (int j = 0; j < PB; j++) {
            const int gi = ti * TS + tx + i * WI, gj = tj * TS + ty + j * WI;
            if (gi < n && gj < n) out[(long)gi * n + gj] = acc[i][j];
        }
}

// G = the sum of the chunks' partial Gram matrices, mirrored (conjugated) where their tile was
// skipped.
__kernel void gram_sum(const int n, const int chunks, __global const elem *restrict part, __global elem *restrict g) {
    const int j = get_global_id(0), i = get_global_id(1);
    if (i >= n || j >= n) return;
    const bool upper = i / TS <= j / TS;
    const long at = upper ? (long)i * n + j : (long)j * n + i;
    elem s = ZERO;
    for (int c = 0; c < chunks; c++) s += part[c * (long)n * n + at];
    g[(long)i * n + j] = upper ? s : CONJ(s);
}

// Y = (scale X) W, W n x n row-major; Y row-major (ycolmajor = 0, y[r*n + c]) or column-major
// (y[r + c*m]). A work-group takes RB rows and TS columns.
__kernel __attribute__((reqd_work_group_size(WI, HI, 1)))
void product(const long m, const int n, const int colmajor, const long xoff, const int ycolmajor, const real scale,
             __global const elem *restrict x, __global const elem *restrict w, __global elem *restrict y) {
    const int tx = get_local_id(0), ty = get_local_id(1);
    const long r0 = get_group_id(0) * (long)RB;
    const int c0 = get_group_id(1) * TS;
    __local elem xs[KB][RB], ws[KB][TS];
    elem acc[PB][PB];
    for (int i = 0; i < PB; i++)
        for (int j = 0; j < PB; j++) acc[i][j] = ZERO;
    const int lid = ty * WI + tx;
    for (int k0 = 0; k0 < n; k0 += KB) {
        for (int e = lid; e < KB * RB; e += WI * HI) {
            const int rr = colmajor ? e % RB : e / KB, kk = colmajor ? e / RB : e % KB;
            const long row = r0 + rr;
            xs[kk][rr] = (row < m && k0 + kk < n) ? scale * x_at(x, xoff, m, n, colmajor, row, k0 + kk) : ZERO;
        }
        for (int e = lid; e < KB * TS; e += WI * HI) {
            const int kk = e / TS, cc = e % TS;
            ws[kk][cc] = (k0 + kk < n && c0 + cc < n) ? w[(long)(k0 + kk) * n + c0 + cc] : ZERO;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int k = 0; k < KB; k++) {
            elem a[PB], b[PB];
            for (int i = 0; i < PB; i++) a[i] = xs[k][ty + i * HI];
            for (int j = 0; j < PB; j++) b[j] = ws[k][tx + j * WI];
            for (int i = 0; i < PB; i++)
                for (int j = 0; j < PB; j++) acc[i][j] = MAD(a[i], b[j], acc[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < PB; i++)
        for (int j = 0; j < PB; j++) {
            const long r = r0 + ty + i * HI;
            const int c = c0 + tx + j * WI;
            if (r < m && c < n) y[ycolmajor ? (long)c * m + r : r * n + c] = acc[i][j];
        }
}
