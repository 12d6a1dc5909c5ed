// Dropout with a counter-based RNG: Philox-4x32-10 (Salmon et al., Random123), so the mask
// is a pure function of (seed, offset, element index) and any launch shape gives the same
// mask. Element i uses word i % 4 of philox(counter = (lo(i / 4), hi(i / 4), lo(offset),
// hi(offset)), key = (lo(seed), hi(seed))); it is kept when word >= threshold, with
// threshold = ceil(p * 2^32) (2^32 for p = 1, so nothing is kept), i.e. with probability
// 1 - p. A caller that draws again advances offset (by at least ceil(n / 4)).
// Forward: y = x * (mask * scale) (scale = 1 / (1 - p), 0 for p = 1), mask as uint8 (0 or 1).
// Backward: gx = gy * (mask * scale). Half and bfloat16 compute in float.
// Under CUDA graph capture the forward gets `state`, a device array (seed, base offset) that
// each replay refills: seed = state[0] and offset = state[1] + offset (the offset argument is
// then relative to the graph's base), so replays draw fresh masks. Eagerly state is null.
#include "common.cuh"

namespace {

__device__ __forceinline__ uint4 philox4x32_10(uint4 ctr, uint2 key) {
  const unsigned int M0 = 0xD2511F53u, M1 = 0xCD9E8D57u;
  const unsigned int W0 = 0x9E3779B9u, W1 = 0xBB67AE85u;
#pragma unroll
  for (int round = 0; round < 10; ++round) {
    if (round) {
      key.x += W0;
      key.y += W1;
    }
    const unsigned int hi0 = __umulhi(M0, ctr.x), lo0 = M0 * ctr.x;
    const unsigned int hi1 = __umulhi(M1, ctr.z), lo1 = M1 * ctr.z;
    ctr = make_uint4(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
  }
  return ctr;
}

__device__ __forceinline__ uint4 block_words(unsigned long long block, unsigned long long seed,
                                             unsigned long long offset) {
  return philox4x32_10(make_uint4((unsigned int)block, (unsigned int)(block >> 32),
                                  (unsigned int)offset, (unsigned int)(offset >> 32)),
                       make_uint2((unsigned int)seed, (unsigned int)(seed >> 32)));
}

__device__ __forceinline__ unsigned int word(const uint4& w, int k) {
  return k == 0 ? w.x : k == 1 ? w.y : k == 2 ? w.z : w.w;
}

// One thread per block of four elements.
template <typename T>
__device__ void dropout_fwd(const T* __restrict__ x, T* __restrict__ y,
                            unsigned char* __restrict__ mask, long long n,
                            unsigned long long seed, unsigned long long offset,
                            unsigned long long threshold, double scale,
                            const unsigned long long* __restrict__ state) {
  typedef typename Acc<T>::type A;
  if (state != nullptr) {
    seed = state[0];
    offset += state[1];
  }
  const long long blocks = (n + 3) / 4;
  const A s = A(scale);
  for (long long q = blockIdx.x * (long long)blockDim.x + threadIdx.x; q < blocks;
       q += (long long)gridDim.x * blockDim.x) {
    const uint4 w = block_words((unsigned long long)q, seed, offset);
#pragma unroll
    for (int k = 0; k < 4; ++k) {
      const long long i = q * 4 + k;
      if (i < n) {
        const bool keep = (unsigned long long)word(w, k) >= threshold;
        mask[i] = keep;
        y[i] = from_acc<T>(to_acc(x[i]) * (keep ? s : A(0)));  // NaN * 0 stays NaN
      }
    }
  }
}

template <typename T>
__device__ void dropout_bwd(const T* __restrict__ gy, const unsigned char* __restrict__ mask,
                            T* __restrict__ gx, long long n, double scale) {
  typedef typename Acc<T>::type A;
  const A s = A(scale);
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;
       i += (long long)gridDim.x * blockDim.x)
    gx[i] = from_acc<T>(to_acc(gy[i]) * (mask[i] ? s : A(0)));
}

}  // namespace

// The raw Philox words of elements 0..n-1 (for tests and for other RNG consumers).
extern "C" __global__ void philox_words(unsigned int* out, long long n, unsigned long long seed,
                                        unsigned long long offset) {
  const long long blocks = (n + 3) / 4;
  for (long long q = blockIdx.x * (long long)blockDim.x + threadIdx.x; q < blocks;
       q += (long long)gridDim.x * blockDim.x) {
    const uint4 w = block_words((unsigned long long)q, seed, offset);
    for (int k = 0; k < 4; ++k)
      if (q * 4 + k < n) out[q * 4 + k] = word(w, k);
  }
}

#define DROPOUT_ENTRIES(SUFFIX, T)                                                         \
  extern "C" __global__ void dropout_fwd_##SUFFIX(                                         \
      const T* x, T* y, unsigned char* mask, long long n, unsigned long long seed,         \
      unsigned long long offset, unsigned long long threshold, double scale,               \
      const unsigned long long* state) {                                                   \
    dropout_fwd<T>(x, y, mask, n, seed, offset, threshold, scale, state);                  \
  }                                                                                        \
  extern "C" __global__ void dropout_bwd_##SUFFIX(const T* gy, const unsigned char* mask,  \
                                                  T* gx, long long n, double scale) {      \
    dropout_bwd<T>(gy, mask, gx, n, scale);                                                \
  }

DROPOUT_ENTRIES(f16, __half)
DROPOUT_ENTRIES(bf16, __nv_bfloat16)
DROPOUT_ENTRIES(f32, float)
DROPOUT_ENTRIES(f64, double)
