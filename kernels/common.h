// Shared by every kernel. The host prepends this file to each kernel source (no -I paths:
// the sources are embedded in the library) and picks the precision with -DREAL_DOUBLE=0|1.
#if REAL_DOUBLE
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
typedef double4 real4;
#else
typedef float real;
typedef float4 real4;
#endif

// Element (i, j) of a matrix whose first index is contiguous when FIRST_FAST, else its second.
#define AT(p, ld, i, j, first_fast) ((first_fast) ? (p)[(long)(j) * (ld) + (i)] : (p)[(long)(i) * (ld) + (j)])
