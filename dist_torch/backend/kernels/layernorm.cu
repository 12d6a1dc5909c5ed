// Layer normalization over the last dim of a contiguous (rows, cols) array.
//
// Forward: one block per row, two passes over the row (mean, then the mean of squared
// deviations), so large offsets do not cancel; writes y, mean and rstd = 1 / sqrt(var + eps)
// (mean and rstd in the compute type: float for half/bfloat16/float, double for double).
// Backward: layer_norm_bwd_dx is one block per row,
//   gx = rstd * (g - xhat * mean(g * xhat) - mean(g)),   g = gy * weight;
// dweight and dbias are column sums over rows, done in two deterministic stages without
// atomics: layer_norm_bwd_dwdb_partial sums row chunks (grid.y = chunk) into
// (chunks, cols) partials, layer_norm_bwd_dwdb_final sums the chunks in order.
#include "common.cuh"

namespace {

__device__ __forceinline__ float xsqrt(float v) { return sqrtf(v); }
__device__ __forceinline__ double xsqrt(double v) { return sqrt(v); }

template <typename T>
__device__ void layer_norm_fwd(const T* __restrict__ x, const T* __restrict__ weight,
                               const T* __restrict__ bias, T* __restrict__ y,
                               typename Acc<T>::type* __restrict__ mean_out,
                               typename Acc<T>::type* __restrict__ rstd_out, long long rows,
                               long long cols, double eps) {
  typedef typename Acc<T>::type A;
  __shared__ A shared[32];
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    T* yr = y + row * cols;
    A s = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) s += to_acc(xr[c]);
    const A mean = block_reduce(s, SumOp(), A(0), shared) / A(cols);
    A q = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
      const A d = to_acc(xr[c]) - mean;
      q += d * d;
    }
    const A var = block_reduce(q, SumOp(), A(0), shared) / A(cols);
    const A rstd = A(1) / xsqrt(var + A(eps));
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
      A v = (to_acc(xr[c]) - mean) * rstd;
      if (weight) v = v * to_acc(weight[c]);
      if (bias) v = v + to_acc(bias[c]);
      yr[c] = from_acc<T>(v);
    }
    if (threadIdx.x == 0) {
      mean_out[row] = mean;
      rstd_out[row] = rstd;
    }
  }
}

template <typename T>
__device__ void layer_norm_bwd_dx(const T* __restrict__ gy, const T* __restrict__ x,
                                  const T* __restrict__ weight,
                                  const typename Acc<T>::type* __restrict__ mean,
                                  const typename Acc<T>::type* __restrict__ rstd,
                                  T* __restrict__ gx, long long rows, long long cols) {
  typedef typename Acc<T>::type A;
  __shared__ A shared[32];
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* gr = gy + row * cols;
    const T* xr = x + row * cols;
    T* out = gx + row * cols;
    const A mu = mean[row];
    const A r = rstd[row];
    A sg = 0;
    A sgx = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
      A g = to_acc(gr[c]);
      if (weight) g = g * to_acc(weight[c]);
      sg += g;
      sgx += g * ((to_acc(xr[c]) - mu) * r);
    }
    const A mean_g = block_reduce(sg, SumOp(), A(0), shared) / A(cols);
    const A mean_gx = block_reduce(sgx, SumOp(), A(0), shared) / A(cols);
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
      A g = to_acc(gr[c]);
      if (weight) g = g * to_acc(weight[c]);
      const A xhat = (to_acc(xr[c]) - mu) * r;
      out[c] = from_acc<T>(((g - xhat * mean_gx) - mean_g) * r);
    }
  }
}

template <typename T>
__device__ void layer_norm_bwd_dwdb_partial(const T* __restrict__ gy, const T* __restrict__ x,
                                            const typename Acc<T>::type* __restrict__ mean,
                                            const typename Acc<T>::type* __restrict__ rstd,
                                            typename Acc<T>::type* __restrict__ part_w,
                                            typename Acc<T>::type* __restrict__ part_b,
                                            long long rows, long long cols,
                                            long long rows_per_chunk) {
  typedef typename Acc<T>::type A;
  const long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x;
  if (c >= cols) return;
  const long long chunk = blockIdx.y;
  const long long start = chunk * rows_per_chunk;
  const long long end = min(start + rows_per_chunk, rows);
  A sw = 0;
  A sb = 0;
  for (long long row = start; row < end; ++row) {
    const A g = to_acc(gy[row * cols + c]);
    if (part_w) sw += g * ((to_acc(x[row * cols + c]) - mean[row]) * rstd[row]);
    sb += g;
  }
  if (part_w) part_w[chunk * cols + c] = sw;
  if (part_b) part_b[chunk * cols + c] = sb;
}

template <typename T>
__device__ void layer_norm_bwd_dwdb_final(const typename Acc<T>::type* __restrict__ part_w,
                                          const typename Acc<T>::type* __restrict__ part_b,
                                          T* __restrict__ gw, T* __restrict__ gb,
                                          long long chunks, long long cols) {
  typedef typename Acc<T>::type A;
  for (long long c = blockIdx.x * (long long)blockDim.x + threadIdx.x; c < cols;
       c += (long long)gridDim.x * blockDim.x) {
    A sw = 0;
    A sb = 0;
    for (long long k = 0; k < chunks; ++k) {
      if (part_w) sw += part_w[k * cols + c];
      if (part_b) sb += part_b[k * cols + c];
    }
    if (gw) gw[c] = from_acc<T>(sw);
    if (gb) gb[c] = from_acc<T>(sb);
  }
}

}  // namespace

#define LAYERNORM_ENTRIES(SUFFIX, T)                                                          \
  extern "C" __global__ void layer_norm_fwd_##SUFFIX(                                         \
      const T* x, const T* weight, const T* bias, T* y, Acc<T>::type* mean,                   \
      Acc<T>::type* rstd, long long rows, long long cols, double eps) {                       \
    layer_norm_fwd<T>(x, weight, bias, y, mean, rstd, rows, cols, eps);                       \
  }                                                                                           \
  extern "C" __global__ void layer_norm_bwd_dx_##SUFFIX(                                      \
      const T* gy, const T* x, const T* weight, const Acc<T>::type* mean,                     \
      const Acc<T>::type* rstd, T* gx, long long rows, long long cols) {                      \
    layer_norm_bwd_dx<T>(gy, x, weight, mean, rstd, gx, rows, cols);                          \
  }                                                                                           \
  extern "C" __global__ void layer_norm_bwd_dwdb_partial_##SUFFIX(                            \
      const T* gy, const T* x, const Acc<T>::type* mean, const Acc<T>::type* rstd,            \
      Acc<T>::type* part_w, Acc<T>::type* part_b, long long rows, long long cols,             \
      long long rows_per_chunk) {                                                             \
    layer_norm_bwd_dwdb_partial<T>(gy, x, mean, rstd, part_w, part_b, rows, cols,             \
                                   rows_per_chunk);                                           \
  }                                                                                           \
  extern "C" __global__ void layer_norm_bwd_dwdb_final_##SUFFIX(                              \
      const Acc<T>::type* part_w, const Acc<T>::type* part_b, T* gw, T* gb,                   \
      long long chunks, long long cols) {                                                     \
    layer_norm_bwd_dwdb_final<T>(part_w, part_b, gw, gb, chunks, cols);                       \
  }

LAYERNORM_ENTRIES(f16, __half)
LAYERNORM_ENTRIES(bf16, __nv_bfloat16)
LAYERNORM_ENTRIES(f32, float)
LAYERNORM_ENTRIES(f64, double)
