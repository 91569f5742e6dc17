// Passes of the tall-skinny SVD (rust/core/src/opencl/svd_tall.rs, CholeskyQR): Gram matrices
// X^T X summed over chunks of rows, and products X W with a small square W.
//
// X is m x n, row-major (X(r, c) at x[xoff + r*n + c]) or column-major (x[xoff + r + c*m]),
// chosen per call (`colmajor`): the caller's matrix is read as it lies, our own Q's are
// row-major. Build options: REAL_DOUBLE, COMPLEX (elements are real2: re, im; the Gram
// matrix is X^H X), ACC_DOUBLE (single-precision X and Q, Gram matrices, W and every sum in
// double: the Gram matrix and the products then carry float32 data to double accuracy), TS
// (tile edge: 16, 32 or 64) and PB (a work-item computes PB x PB entries: TS / PB work-items
// across a tile, RB / PB down a product's rows).

#ifndef COMPLEX
#define COMPLEX 0
#endif
#ifndef ACC_DOUBLE
#define ACC_DOUBLE 0
#endif
#if REAL_DOUBLE || ACC_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#endif
#if REAL_DOUBLE
typedef double real;
typedef double2 real2;
#else
typedef float real;
typedef float2 real2;
#endif
// elem: X and Q as stored; acc (with acc_real): the Gram matrices, W and every sum.
#if COMPLEX
typedef real2 elem;
#if ACC_DOUBLE
typedef double2 acc;
#define TO_ACC(v) convert_double2(v)
#define TO_ELEM(v) convert_float2(v)
#else
typedef real2 acc;
#define TO_ACC(v) (v)
#define TO_ELEM(v) (v)
#endif
#define ZERO ((acc)(0, 0))
// c + a b, and c + conj(a) b
#define MAD(a, b, c) ((acc)(fma((a).x, (b).x, fma(-(a).y, (b).y, (c).x)), fma((a).x, (b).y, fma((a).y, (b).x, (c).y))))
#define MADC(a, b, c) ((acc)(fma((a).x, (b).x, fma((a).y, (b).y, (c).x)), fma((a).x, (b).y, fma(-(a).y, (b).x, (c).y))))
#define CONJ(a) ((acc)((a).x, -(a).y))
#else
typedef real elem;
#if ACC_DOUBLE
typedef double acc;
#define TO_ACC(v) ((double)(v))
#define TO_ELEM(v) ((float)(v))
#else
typedef real acc;
#define TO_ACC(v) (v)
#define TO_ELEM(v) (v)
#endif
#define ZERO ((acc)0)
#define MAD(a, b, c) fma(a, b, c)
#define MADC(a, b, c) fma(a, b, c)
#define CONJ(a) (a)
#endif
#if ACC_DOUBLE
typedef double acc_real;
#else
typedef real acc_real;
#endif

#define WI (TS / PB)  // work-items across a tile
#define KB 16         // rows of X (gram) or of W (product) per slab in local memory
#define RB 64         // rows of X per work-group (product)
#define HI (RB / PB)  // work-items down a product's rows

inline acc x_at(__global const elem *x, long xoff, long m, int n, int colmajor, long r, int c) {
    return TO_ACC(colmajor ? x[xoff + (long)c * m + r] : x[xoff + r * n + c]);
}

// Partial Gram (X^H X) of the rows [chunk * rows_per, (chunk + 1) * rows_per) of scale * X
// for the tile (ti, tj) of G, ti <= tj (the sum mirrors the rest): part[chunk][i][j], n x n each.
__kernel __attribute__((reqd_work_group_size(WI, WI, 1)))
void gram(const long m, const int n, const int colmajor, const long xoff, const long rows_per, const acc_real scale,
          __global const elem *restrict x, __global acc *restrict part) {
    const int tx = get_local_id(0), ty = get_local_id(1);
    const long chunk = get_group_id(2);
    const int ti = get_group_id(0), tj = get_group_id(1);
    if (ti > tj) return;  // the whole group: before any barrier
    __local acc xi[KB][TS], xj[KB][TS];
    // A diagonal tile (the only one when n <= TS) reads its columns once.
    const bool diagonal = ti == tj;
    __local acc (*bj)[TS] = diagonal ? xi : xj;
    acc sum[PB][PB];
    for (int i = 0; i < PB; i++)
        for (int j = 0; j < PB; j++) sum[i][j] = ZERO;
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
            acc a[PB], b[PB];
            for (int i = 0; i < PB; i++) a[i] = xi[k][tx + i * WI];
            for (int j = 0; j < PB; j++) b[j] = bj[k][ty + j * WI];
            for (int i = 0; i < PB; i++)
                for (int j = 0; j < PB; j++) sum[i][j] = MADC(a[i], b[j], sum[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    __global acc *out = part + chunk * n * (long)n;
    for (int i = 0; i < PB; i++)
        for (int j = 0; j < PB; j++) {
            const int gi = ti * TS + tx + i * WI, gj = tj * TS + ty + j * WI;
            if (gi < n && gj < n) out[(long)gi * n + gj] = sum[i][j];
        }
}

// G = the sum of the chunks' partial Gram matrices, mirrored (conjugated) where their tile was
// skipped.
__kernel void gram_sum(const int n, const int chunks, __global const acc *restrict part, __global acc *restrict g) {
    const int j = get_global_id(0), i = get_global_id(1);
    if (i >= n || j >= n) return;
    const bool upper = i / TS <= j / TS;
    const long at = upper ? (long)i * n + j : (long)j * n + i;
    acc s = ZERO;
    for (int c = 0; c < chunks; c++) s += part[c * (long)n * n + at];
    g[(long)i * n + j] = upper ? s : CONJ(s);
}

// Y = (scale X) W, W n x n row-major; Y row-major (ycolmajor = 0, y[r*n + c]) or column-major
// (y[r + c*m]). A work-group takes RB rows and TS columns.
__kernel __attribute__((reqd_work_group_size(WI, HI, 1)))
void product(const long m, const int n, const int colmajor, const long xoff, const int ycolmajor, const acc_real scale,
             __global const elem *restrict x, __global const acc *restrict w, __global elem *restrict y) {
    const int tx = get_local_id(0), ty = get_local_id(1);
    const long r0 = get_group_id(0) * (long)RB;
    const int c0 = get_group_id(1) * TS;
    __local acc xs[KB][RB], ws[KB][TS];
    acc sum[PB][PB];
    for (int i = 0; i < PB; i++)
        for (int j = 0; j < PB; j++) sum[i][j] = ZERO;
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
            acc a[PB], b[PB];
            for (int i = 0; i < PB; i++) a[i] = xs[k][ty + i * HI];
            for (int j = 0; j < PB; j++) b[j] = ws[k][tx + j * WI];
            for (int i = 0; i < PB; i++)
                for (int j = 0; j < PB; j++) sum[i][j] = MAD(a[i], b[j], sum[i][j]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < PB; i++)
        for (int j = 0; j < PB; j++) {
            const long r = r0 + ty + i * HI;
            const int c = c0 + tx + j * WI;
            if (r < m && c < n) y[ycolmajor ? (long)c * m + r : r * n + c] = TO_ELEM(sum[i][j]);
        }
}
