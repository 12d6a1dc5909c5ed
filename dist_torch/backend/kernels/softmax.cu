// Softmax, log-softmax and cross-entropy over the last dim of a contiguous (rows, cols) array.
//
// One block per row (grid-stride over rows); blockDim.x is a multiple of 32 (at most 1024).
// Reductions are warp shuffles plus one shared-memory pass. Half and bfloat16 are loaded,
// computed in float and rounded once on store; double computes in double.
// Formulas and their order follow dist_torch/ops/softmax.py and ops/loss.py (the reference):
//   softmax:      y = exp(x - max) / sum(exp(x - max))
//   log_softmax:  y = (x - max) - log(sum(exp(x - max)))
//   cross-entropy per row i with target t (label smoothing eps, class weights w):
//     loss = (1 - eps) * w[t] * (lse - x[t]) + eps / C * sum_c w[c] * (lse - x[c])
//   ignored rows (t == ignore_index) give loss 0, row weight 0 and a zero gradient; targets
//   outside [0, C) give a NaN loss (the caller validates targets).
#include "common.cuh"

namespace {

__device__ __forceinline__ float xlog(float v) { return logf(v); }
__device__ __forceinline__ double xlog(double v) { return log(v); }
__device__ __forceinline__ float neg_inf(float) { return __int_as_float(0xff800000); }
__device__ __forceinline__ double neg_inf(double) {
  return __longlong_as_double(0xfff0000000000000LL);
}
__device__ __forceinline__ float quiet_nan(float) { return __int_as_float(0x7fc00000); }
__device__ __forceinline__ double quiet_nan(double) {
  return __longlong_as_double(0x7ff8000000000000LL);
}

template <typename T>
__device__ void softmax_fwd(const T* __restrict__ x, T* __restrict__ y, long long rows,
                            long long cols, bool log_out) {
  typedef typename Acc<T>::type A;
  __shared__ A shared[32];
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    T* yr = y + row * cols;
    A m = neg_inf(A(0));
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) m = MaxOp()(m, to_acc(xr[c]));
    m = block_reduce(m, MaxOp(), neg_inf(A(0)), shared);
    A s = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) s += xexp(to_acc(xr[c]) - m);
    s = block_reduce(s, SumOp(), A(0), shared);
    if (log_out) {
      const A ls = xlog(s);
      for (long long c = threadIdx.x; c < cols; c += blockDim.x)
        yr[c] = from_acc<T>((to_acc(xr[c]) - m) - ls);
    } else {
      for (long long c = threadIdx.x; c < cols; c += blockDim.x)
        yr[c] = from_acc<T>(xexp(to_acc(xr[c]) - m) / s);
    }
  }
}

// softmax: gx = y * (gy - sum(gy * y)); log_softmax: gx = gy - exp(y) * sum(gy)
template <typename T>
__device__ void softmax_bwd(const T* __restrict__ gy, const T* __restrict__ y,
                            T* __restrict__ gx, long long rows, long long cols, bool log_out) {
  typedef typename Acc<T>::type A;
  __shared__ A shared[32];
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* gr = gy + row * cols;
    const T* yr = y + row * cols;
    T* out = gx + row * cols;
    A s = 0;
    if (log_out) {
      for (long long c = threadIdx.x; c < cols; c += blockDim.x) s += to_acc(gr[c]);
    } else {
      for (long long c = threadIdx.x; c < cols; c += blockDim.x)
        s += to_acc(gr[c]) * to_acc(yr[c]);
    }
    s = block_reduce(s, SumOp(), A(0), shared);
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
      const A g = to_acc(gr[c]);
      const A v = to_acc(yr[c]);
      out[c] = from_acc<T>(log_out ? g - xexp(v) * s : g * v - v * s);
    }
  }
}

// Per row: loss (before reduction), lse = max + log(sum(exp(x - max))) and the row's weight
// w[t] (0 when ignored), which is what 'mean' divides by.
template <typename T>
__device__ void xent_fwd(const T* __restrict__ x, const long long* __restrict__ target,
                         const T* __restrict__ weight, typename Acc<T>::type* __restrict__ loss,
                         typename Acc<T>::type* __restrict__ lse_out,
                         typename Acc<T>::type* __restrict__ row_weight, long long rows,
                         long long cols, long long ignore_index, double smoothing) {
  typedef typename Acc<T>::type A;
  __shared__ A shared[32];
  const A eps = A(smoothing);
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    const long long t = target[row];
    const bool ignored = t == ignore_index;
    const bool valid = !ignored && t >= 0 && t < cols;
    A m = neg_inf(A(0));
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) m = MaxOp()(m, to_acc(xr[c]));
    m = block_reduce(m, MaxOp(), neg_inf(A(0)), shared);
    A s = 0;
    A ws = 0;  // sum_c w[c] * (x[c] - max), for label smoothing
    A wsum = 0;
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
      const A shifted = to_acc(xr[c]) - m;
      s += xexp(shifted);
      if (eps > A(0)) {
        const A wc = weight ? to_acc(weight[c]) : A(1);
        ws += wc * shifted;
        wsum += wc;
      }
    }
    s = block_reduce(s, SumOp(), A(0), shared);
    if (eps > A(0)) {
      ws = block_reduce(ws, SumOp(), A(0), shared);
      wsum = block_reduce(wsum, SumOp(), A(0), shared);
    }
    if (threadIdx.x == 0) {
      const A ls = xlog(s);
      lse_out[row] = m + ls;
      if (ignored) {
        loss[row] = A(0);
        row_weight[row] = A(0);
      } else if (!valid) {
        loss[row] = quiet_nan(A(0));
        row_weight[row] = quiet_nan(A(0));
      } else {
        const A wt = weight ? to_acc(weight[t]) : A(1);
        A l = (ls - (to_acc(xr[t]) - m)) * wt;
        if (eps > A(0)) {
          const A smooth = wsum * ls - ws;
          l = (A(1) - eps) * l + (eps / A(cols)) * smooth;
        }
        loss[row] = l;
        row_weight[row] = wt;
      }
    }
  }
}

// gx[c] = g * (S * p[c] - eps / C * w[c] - (1 - eps) * w[t] * [c == t]),
// S = (1 - eps) * w[t] + eps / C * sum(w), p = exp(x - lse); g = grad[row * grad_stride].
template <typename T>
__device__ void xent_bwd(const T* __restrict__ x, const long long* __restrict__ target,
                         const T* __restrict__ weight,
                         const typename Acc<T>::type* __restrict__ lse,
                         const typename Acc<T>::type* __restrict__ grad, long long grad_stride,
                         T* __restrict__ gx, long long rows, long long cols,
                         long long ignore_index, double smoothing) {
  typedef typename Acc<T>::type A;
  __shared__ A shared[32];
  const A eps = A(smoothing);
  for (long long row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* xr = x + row * cols;
    T* out = gx + row * cols;
    const long long t = target[row];
    if (t == ignore_index || t < 0 || t >= cols) {
      for (long long c = threadIdx.x; c < cols; c += blockDim.x) out[c] = from_acc<T>(A(0));
      continue;
    }
    const A g = grad[row * grad_stride];
    const A wt = weight ? to_acc(weight[t]) : A(1);
    A wsum = A(cols);
    if (eps > A(0) && weight) {
      wsum = 0;
      for (long long c = threadIdx.x; c < cols; c += blockDim.x) wsum += to_acc(weight[c]);
      wsum = block_reduce(wsum, SumOp(), A(0), shared);
    }
    A coef = g * wt;  // coefficient of -log p[t]
    A spread = A(0);  // coefficient of -log p[c] / w[c] from smoothing
    A total = coef;
    if (eps > A(0)) {
      spread = g * (eps / A(cols));
      coef = coef * (A(1) - eps);
      total = coef + spread * wsum;
    }
    const A row_lse = lse[row];
    for (long long c = threadIdx.x; c < cols; c += blockDim.x) {
      A v = xexp(to_acc(xr[c]) - row_lse) * total;
      if (c == t) v -= coef;
      if (eps > A(0)) v -= spread * (weight ? to_acc(weight[c]) : A(1));
      out[c] = from_acc<T>(v);
    }
  }
}

}  // namespace

#define SOFTMAX_ENTRIES(SUFFIX, T)                                                           \
  extern "C" __global__ void softmax_fwd_##SUFFIX(const T* x, T* y, long long rows,         \
                                                  long long cols) {                         \
    softmax_fwd<T>(x, y, rows, cols, false);                                                \
  }                                                                                         \
  extern "C" __global__ void log_softmax_fwd_##SUFFIX(const T* x, T* y, long long rows,     \
                                                      long long cols) {                     \
    softmax_fwd<T>(x, y, rows, cols, true);                                                 \
  }                                                                                         \
  extern "C" __global__ void softmax_bwd_##SUFFIX(const T* gy, const T* y, T* gx,           \
                                                  long long rows, long long cols) {         \
    softmax_bwd<T>(gy, y, gx, rows, cols, false);                                           \
  }                                                                                         \
  extern "C" __global__ void log_softmax_bwd_##SUFFIX(const T* gy, const T* y, T* gx,       \
                                                      long long rows, long long cols) {     \
    softmax_bwd<T>(gy, y, gx, rows, cols, true);                                            \
  }                                                                                         \
  extern "C" __global__ void cross_entropy_fwd_##SUFFIX(                                    \
      const T* x, const long long* target, const T* weight, Acc<T>::type* loss,             \
      Acc<T>::type* lse, Acc<T>::type* row_weight, long long rows, long long cols,          \
      long long ignore_index, double smoothing) {                                           \
    xent_fwd<T>(x, target, weight, loss, lse, row_weight, rows, cols, ignore_index,         \
                smoothing);                                                                 \
  }                                                                                         \
  extern "C" __global__ void cross_entropy_bwd_##SUFFIX(                                    \
      const T* x, const long long* target, const T* weight, const Acc<T>::type* lse,        \
      const Acc<T>::type* grad, long long grad_stride, T* gx, long long rows,               \
      long long cols, long long ignore_index, double smoothing) {                           \
    xent_bwd<T>(x, target, weight, lse, grad, grad_stride, gx, rows, cols, ignore_index,    \
                smoothing);                                                                 \
  }

SOFTMAX_ENTRIES(f16, __half)
SOFTMAX_ENTRIES(bf16, __nv_bfloat16)
SOFTMAX_ENTRIES(f32, float)
SOFTMAX_ENTRIES(f64, double)
