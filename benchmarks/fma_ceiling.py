"""How fast the inner loop of an FMA GEMM in float64 can run on this GPU, with nothing else
around it: the ceiling the portable OpenCL kernel (kernels/gemm.cl) works under.

    python benchmarks/fma_ceiling.py [--iters 4000]          (needs cupy and an NVIDIA GPU)

Each configuration is one work-group per multiprocessor (grid = number of SMs) of WM x WN
work-items, each owning an RM x RN block of accumulators, run for --iters steps of K-tiles
of 8. ``reg``: the A and B fragments stay in registers (DFMA and nothing else). ``lds``: every
k-step reads the fragments from shared memory as 16-byte pairs, laid out like gemm.cl's
VEC=2 (the kernel's inner loop without its global loads, local stores and barriers).
Compiled by NVRTC (CUDA C, through the same ptxas as NVIDIA's OpenCL); TF/s counts
2*RM*RN*8 flops per work-item per step. Registers and local bytes are the compiler's.
"""

from __future__ import annotations

import argparse

import cupy as cp
import numpy as np

SRC = r'''
extern "C" __global__ void __launch_bounds__(NT, 1) bench(double* out, const double* in, int iters) {
  extern __shared__ double sh[];
  // A warp's 32 work-items as a (32 / WX) x WX block of (ty, tx); WX = WN is the OpenCL kernel's row-major layout.
  const int t = threadIdx.x, lane = t % 32, w = t / 32;
  const int tx = lane % WX + WX * (w % (WN / WX)), ty = lane / WX + (32 / WX) * (w / (WN / WX));
  const int LA_ = TM + 2, LB_ = TN + 2;
  double* As = sh; double* Bs = sh + 16 * LA_;
  for (int i = t; i < 16 * (LA_ + LB_); i += NT) sh[i] = in[i & 1023];
  __syncthreads();
  double acc[RM][RN];
  #pragma unroll
  for (int x = 0; x < RM; x++)
    #pragma unroll
    for (int y = 0; y < RN; y++) acc[x][y] = 0;
#if REG
  double av[RM], bv[RN];
  #pragma unroll
  for (int x = 0; x < RM; x++) av[x] = As[x * 3 + ty];
  #pragma unroll
  for (int y = 0; y < RN; y++) bv[y] = Bs[y * 5 + tx];
#endif
  #pragma unroll 1
  for (int it = 0; it < iters; it++) {
    const int base = (it & 1) * 8;  // two tiles, so the reads cannot be hoisted out of the loop
    #pragma unroll
    for (int q = 0; q < 8; q++) {
#if !REG
      double av[RM], bv[RN];
      #pragma unroll
      for (int x = 0; x < RM; x += 2) {
        double2 v = *(const double2*)&As[(base + q) * LA_ + (x / 2) * (WM * 2) + ty * 2];
        av[x] = v.x; av[x + 1] = v.y;
      }
      #pragma unroll
      for (int y = 0; y < RN; y += 2) {
        double2 v = *(const double2*)&Bs[(base + q) * LB_ + (y / 2) * (WN * 2) + tx * 2];
        bv[y] = v.x; bv[y + 1] = v.y;
      }
#endif
      #pragma unroll
      for (int x = 0; x < RM; x++)
        #pragma unroll
        for (int y = 0; y < RN; y++) acc[x][y] = fma(av[x], bv[y], acc[x][y]);
    }
  }
  double s = 0;
  #pragma unroll
  for (int x = 0; x < RM; x++)
    #pragma unroll
    for (int y = 0; y < RN; y++) s += acc[x][y];
  out[blockIdx.x * NT + t] = s;
}
'''

# (mode, RM, RN, WM, WN, WX): the portable kernel's float64 blocks (8x8 and 12x8 over 256
# work-items), neighbours with more warps per scheduler, and warps shaped 4x8 and 8x4 instead
# of 2x16 (fewer shared-memory wavefronts per fragment read).
CONFIGS = [("reg", 8, 8, 16, 16, 16), ("reg", 8, 8, 24, 16, 16), ("reg", 4, 8, 32, 16, 16), ("reg", 12, 8, 16, 16, 16),
           ("lds", 8, 8, 16, 16, 16), ("lds", 8, 8, 24, 16, 16), ("lds", 12, 8, 16, 16, 16), ("lds", 8, 12, 16, 16, 16),
           ("lds", 6, 8, 24, 16, 16), ("lds", 4, 8, 32, 16, 16), ("lds", 10, 8, 16, 16, 16), ("lds", 8, 8, 8, 16, 16),
           ("lds", 8, 8, 16, 16, 8), ("lds", 8, 8, 16, 16, 4), ("lds", 12, 8, 16, 16, 8), ("lds", 12, 8, 16, 16, 4)]


def run(mode: str, rm: int, rn: int, wm: int, wn: int, wx: int, iters: int):
    nt = wm * wn
    defs = dict(WX=wx, REG=int(mode == "reg"), RM=rm, RN=rn, WM=wm, WN=wn, NT=nt, TM=rm * wm, TN=rn * wn)
    kernel = cp.RawModule(code="".join(f"#define {k} {v}\n" for k, v in defs.items()) + SRC).get_function("bench")
    sms = cp.cuda.Device().attributes["MultiProcessorCount"]
    smem = 16 * (rm * wm + 2 + rn * wn + 2) * 8
    inp, out = cp.random.standard_normal(1024), cp.zeros(sms * nt)
    kernel((sms,), (nt,), (out, inp, np.int32(10)), shared_mem=smem)  # compile and warm up
    start, end = cp.cuda.Event(), cp.cuda.Event()
    times = []
    for _ in range(5):
        start.record()
        kernel((sms,), (nt,), (out, inp, np.int32(iters)), shared_mem=smem)
        end.record()
        end.synchronize()
        times.append(cp.cuda.get_elapsed_time(start, end) / 1e3)
    flops = 2.0 * rm * rn * 8 * iters * nt * sms
    return flops / sorted(times)[2] / 1e12, getattr(kernel, "num_regs", "?"), getattr(kernel, "local_size_bytes", "?")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--iters", type=int, default=4000)
    args = p.parse_args()
    print(f"{cp.cuda.runtime.getDeviceProperties(0)['name'].decode()}")
    print("mode | block RMxRN | work-items WMxWN (warps per scheduler) | warp | TF/s | registers | local bytes")
    for mode, rm, rn, wm, wn, wx in CONFIGS:
        tf, regs, local = run(mode, rm, rn, wm, wn, wx, args.iters)
        print(f"{mode} | {rm}x{rn} | {wm}x{wn} ({wm * wn // 128}) | {32 // wx}x{wx} | {tf:.1f} | {regs} | {local}", flush=True)


if __name__ == "__main__":
    main()
