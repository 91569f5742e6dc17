// Shared by every kernel. The host prepends this file to each kernel source (no -I paths:
// the sources are embedded in the library) and picks the precision with -DREAL_DOUBLE=0|1.
#if REAL_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
typedef double2 real2;
typedef double4 real4;
#else
typedef float real;
typedef float2 real2;
typedef float4 real4;
#endif

// Element (i, j) of a matrix whose first index is contiguous when FIRST_FAST, else its second.
#define OFFSET(ld, i, j, first_fast) ((first_fast) ? (long)(j) * (ld) + (i) : (long)(i) * (ld) + (j))
#define AT(p, ld, i, j, first_fast) (p)[OFFSET(ld, i, j, first_fast)]

// Tile `id` of an nbm x nbn grid of tm x tn tiles of C, as (first row, first column). GROUP_M > 1
// walks the grid in bands of GROUP_M tile rows, column by column, so the groups running at once
// share panels of A and B in L2 instead of streaming all of B per tile row.
#ifndef GROUP_M
#define GROUP_M 1
#endif
inline int2 tile_at(const int id, const int nbm, const int nbn, const int tm, const int tn)
{
    const int band = GROUP_M * nbn, first = (id / band) * GROUP_M;
    const int rows = min(nbm - first, GROUP_M), r = id % band;
    return (int2)((first + r % rows) * tm, (r / rows) * tn);
}
