// Fused bias + activation over a contiguous (rows, cols) array: y = act(x + b), b (cols,)
// broadcast along rows (b may be null). Backward gives gx = gy * act'(x + b); the bias
// gradient is the column sum of gx (taken by the caller).
// act: 0 relu, 1 gelu (erf), 2 gelu (tanh approximation), 3 silu, 4 tanh, 5 sigmoid,
// 6 identity. Half and bfloat16 compute in float and round once; formulas follow
// dist_torch/ops/activation.py (relu's gradient is 0 where x + b <= 0, as torch).
#include "common.cuh"

namespace {

__device__ __forceinline__ float xtanh(float v) { return tanhf(v); }
__device__ __forceinline__ double xtanh(double v) { return tanh(v); }
__device__ __forceinline__ float xerf(float v) { return erff(v); }
__device__ __forceinline__ double xerf(double v) { return erf(v); }

enum { RELU = 0, GELU = 1, GELU_TANH = 2, SILU = 3, TANH = 4, SIGMOID = 5 };

#define SQRT_HALF 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794
#define TANH_K 0.79788456080286535588
#define TANH_C 0.044715

template <typename A>
__device__ __forceinline__ A sigmoid(A v) {
  return A(1) / (A(1) + xexp(-v));
}

template <typename A>
__device__ __forceinline__ A act_fwd(A v, int act) {
  switch (act) {
    case RELU: return v > A(0) ? v : (v != v ? v : A(0));
    case GELU: return v * (A(0.5) * (A(1) + xerf(v * A(SQRT_HALF))));
    case GELU_TANH: {
      const A inner = A(TANH_K) * (v + A(TANH_C) * v * v * v);
      return A(0.5) * v * (A(1) + xtanh(inner));
    }
    case SILU: return v * sigmoid(v);
    case TANH: return xtanh(v);
    case SIGMOID: return sigmoid(v);
    default: return v;
  }
}

template <typename A>
__device__ __forceinline__ A act_grad(A v, int act) {
  switch (act) {
    case RELU: return v <= A(0) ? A(0) : A(1);  // threshold_backward: NaN passes
    case GELU: {
      const A cdf = A(0.5) * (A(1) + xerf(v * A(SQRT_HALF)));
      return cdf + v * (A(INV_SQRT_2PI) * xexp(A(-0.5) * v * v));
    }
    case GELU_TANH: {
      const A t = xtanh(A(TANH_K) * (v + A(TANH_C) * v * v * v));
      const A dinner = A(TANH_K) * (A(1) + A(3) * A(TANH_C) * v * v);
      return A(0.5) * (A(1) + t) + A(0.5) * v * (A(1) - t * t) * dinner;
    }
    case SILU: {
      const A s = sigmoid(v);
      return s * (A(1) + v * (A(1) - s));
    }
    case TANH: {
      const A t = xtanh(v);
      return A(1) - t * t;
    }
    case SIGMOID: {
      const A s = sigmoid(v);
      return s * (A(1) - s);
    }
    default: return A(1);
  }
}

template <typename T>
__device__ void bias_act_fwd(const T* __restrict__ x, const T* __restrict__ b,
                             T* __restrict__ y, long long rows, long long cols, int act) {
  typedef typename Acc<T>::type A;
  const long long total = rows * cols;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    A v = to_acc(x[i]);
    if (b) v = v + to_acc(b[i % cols]);
    y[i] = from_acc<T>(act_fwd(v, act));
  }
}

template <typename T>
__device__ void bias_act_bwd(const T* __restrict__ gy, const T* __restrict__ x,
                             const T* __restrict__ b, T* __restrict__ gx, long long rows,
                             long long cols, int act) {
  typedef typename Acc<T>::type A;
  const long long total = rows * cols;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    A v = to_acc(x[i]);
    if (b) v = v + to_acc(b[i % cols]);
    gx[i] = from_acc<T>(to_acc(gy[i]) * act_grad(v, act));
  }
}

}  // namespace

#define ACTIVATION_ENTRIES(SUFFIX, T)                                                       \
  extern "C" __global__ void bias_act_fwd_##SUFFIX(const T* x, const T* b, T* y,           \
                                                   long long rows, long long cols,         \
                                                   int act) {                              \
    bias_act_fwd<T>(x, b, y, rows, cols, act);                                             \
  }                                                                                        \
  extern "C" __global__ void bias_act_bwd_##SUFFIX(const T* gy, const T* x, const T* b,    \
                                                   T* gx, long long rows, long long cols,  \
                                                   int act) {                              \
    bias_act_bwd<T>(gy, x, b, gx, rows, cols, act);                                        \
  }

ACTIVATION_ENTRIES(f16, __half)
ACTIVATION_ENTRIES(bf16, __nv_bfloat16)
ACTIVATION_ENTRIES(f32, float)
ACTIVATION_ENTRIES(f64, double)
