// Multi-tensor optimizer updates: ONE launch updates MANY parameters (as apex's
// multi_tensor_apply). The host passes
//   ptrs         (lists * tensors) device pointers, list-major: ptrs[l * tensors + t];
//   sizes        (tensors,) element counts;
//   chunk_tensor, chunk_start  (chunks,): the tensor and first element of each chunk of at
//                most chunk_size elements; a block walks chunks (grid-stride), its threads the
//                elements of a chunk.
// All tensors of a launch share one dtype. Arithmetic is in that dtype, in the order of
// torch's foreach implementations (torch/optim/sgd.py and adam.py, _multi_tensor_*):
//   SGD (lists: param, grad, momentum buffer):
//     g = -grad if maximize else grad;  g = g + weight_decay * p;
//     buf = g on the first step (first[t] != 0), else buf = buf * momentum + (1 - dampening) * g;
//     g = g + momentum * buf if nesterov else buf;  p = p + (-lr) * g.
//   Adam/AdamW (lists: param, grad, exp_avg, exp_avg_sq[, max_exp_avg_sq]):
//     g = -grad if maximize else grad;
//     decoupled: p = p * (1 - lr * weight_decay)  else  g = g + weight_decay * p;
//     m = lerp(m, g, 1 - beta1);  v = v * beta2 + (1 - beta2) * g * g;
//     s = max(vmax, v) (stored into vmax) if amsgrad else v;
//     p = p + step_size[t] * (m / (sqrt(s) / bc2_sqrt[t] + eps)),
//   with per-tensor step_size = -lr / (1 - beta1^step), bc2_sqrt = sqrt(1 - beta2^step)
//   computed on the host in double, as torch does in Python.

namespace {

template <typename T>
__device__ __forceinline__ T xsqrt(T v);
template <> __device__ __forceinline__ float xsqrt<float>(float v) { return sqrtf(v); }
template <> __device__ __forceinline__ double xsqrt<double>(double v) { return sqrt(v); }

template <typename T>
__device__ __forceinline__ T xmax_nan(T a, T b) {  // torch.maximum: NaN propagates
  return (a != a || a > b) ? a : b;
}

template <typename T>
__device__ void sgd_mt(const unsigned long long* __restrict__ ptrs, long long tensors,
                       const long long* __restrict__ sizes,
                       const int* __restrict__ chunk_tensor,
                       const long long* __restrict__ chunk_start, long long chunks,
                       long long chunk_size, const unsigned char* __restrict__ first,
                       double lr, double momentum, double dampening, double weight_decay,
                       int nesterov, int maximize) {
  const T neg_lr = T(-lr), mom = T(momentum), damp = T(1.0 - dampening);
  const T wd = T(weight_decay);
  for (long long ch = blockIdx.x; ch < chunks; ch += gridDim.x) {
    const int t = chunk_tensor[ch];
    const long long start = chunk_start[ch];
    const long long end = min(start + chunk_size, sizes[t]);
    T* p = reinterpret_cast<T*>(ptrs[t]);
    const T* grad = reinterpret_cast<const T*>(ptrs[tensors + t]);
    T* buf = momentum != 0.0 ? reinterpret_cast<T*>(ptrs[2 * tensors + t]) : nullptr;
    const bool is_first = first != nullptr && first[t];
    for (long long i = start + threadIdx.x; i < end; i += blockDim.x) {
      T g = maximize ? -grad[i] : grad[i];
      const T pv = p[i];
      if (weight_decay != 0.0) g = g + wd * pv;
      if (buf) {
        const T b = is_first ? g : buf[i] * mom + damp * g;
        buf[i] = b;
        g = nesterov ? g + mom * b : b;
      }
      p[i] = pv + neg_lr * g;
    }
  }
}

template <typename T>
__device__ void adam_mt(const unsigned long long* __restrict__ ptrs, long long tensors,
                        const long long* __restrict__ sizes,
                        const int* __restrict__ chunk_tensor,
                        const long long* __restrict__ chunk_start, long long chunks,
                        long long chunk_size, const double* __restrict__ step_size,
                        const double* __restrict__ bc2_sqrt, double lr, double beta1,
                        double beta2, double eps, double weight_decay, int amsgrad,
                        int decoupled, int maximize) {
  const T w1 = T(1.0 - beta1), b2 = T(beta2), w2 = T(1.0 - beta2), e = T(eps);
  const T wd = T(weight_decay), shrink = T(1.0 - lr * weight_decay);
  const bool small_weight = w1 < T(0.5);  // torch's lerp: exact at both ends
  const T w1c = T(1) - w1;
  for (long long ch = blockIdx.x; ch < chunks; ch += gridDim.x) {
    const int t = chunk_tensor[ch];
    const long long start = chunk_start[ch];
    const long long end = min(start + chunk_size, sizes[t]);
    T* p = reinterpret_cast<T*>(ptrs[t]);
    const T* grad = reinterpret_cast<const T*>(ptrs[tensors + t]);
    T* m = reinterpret_cast<T*>(ptrs[2 * tensors + t]);
    T* v = reinterpret_cast<T*>(ptrs[3 * tensors + t]);
    T* vmax = amsgrad ? reinterpret_cast<T*>(ptrs[4 * tensors + t]) : nullptr;
    const T ss = T(step_size[t]), bc = T(bc2_sqrt[t]);
    for (long long i = start + threadIdx.x; i < end; i += blockDim.x) {
      T g = maximize ? -grad[i] : grad[i];
      T pv = p[i];
      if (weight_decay != 0.0) {
        if (decoupled) pv = pv * shrink;
        else g = g + wd * pv;
      }
      const T mv = m[i];
      const T diff = g - mv;
      const T mn = small_weight ? mv + w1 * diff : g - diff * w1c;
      m[i] = mn;
      const T vn = v[i] * b2 + w2 * g * g;
      v[i] = vn;
      T s = vn;
      if (vmax) {
        s = xmax_nan(vmax[i], vn);
        vmax[i] = s;
      }
      const T denom = xsqrt(s) / bc + e;
      p[i] = pv + ss * (mn / denom);
    }
  }
}

}  // namespace

#define OPTIM_ENTRIES(SUFFIX, T)                                                             \
  extern "C" __global__ void sgd_mt_##SUFFIX(                                                \
      const unsigned long long* ptrs, long long tensors, const long long* sizes,             \
      const int* chunk_tensor, const long long* chunk_start, long long chunks,               \
      long long chunk_size, const unsigned char* first, double lr, double momentum,          \
      double dampening, double weight_decay, int nesterov, int maximize) {                   \
    sgd_mt<T>(ptrs, tensors, sizes, chunk_tensor, chunk_start, chunks, chunk_size, first,    \
              lr, momentum, dampening, weight_decay, nesterov, maximize);                    \
  }                                                                                          \
  extern "C" __global__ void adam_mt_##SUFFIX(                                               \
      const unsigned long long* ptrs, long long tensors, const long long* sizes,             \
      const int* chunk_tensor, const long long* chunk_start, long long chunks,               \
      long long chunk_size, const double* step_size, const double* bc2_sqrt, double lr,      \
      double beta1, double beta2, double eps, double weight_decay, int amsgrad,              \
      int decoupled, int maximize) {                                                         \
    adam_mt<T>(ptrs, tensors, sizes, chunk_tensor, chunk_start, chunks, chunk_size,          \
               step_size, bc2_sqrt, lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled, \
               maximize);                                                                    \
  }

OPTIM_ENTRIES(f32, float)
OPTIM_ENTRIES(f64, double)
