// 2-D max and average pooling over contiguous (planes, H, W) inputs, planes = N * C.
//
// Forward: one thread per output element. Backward: one thread per input element gathering
// from the output windows that contain it (no atomics, deterministic), as torch's CUDA
// kernels. Max pooling keeps the first maximum of a window (strictly greater replaces) except
// that a NaN wins and a later NaN replaces it; its indices are flat positions h * W + w in the
// input plane (torch's return_indices). Average pooling divides by torch's divisor:
// divisor_override when nonzero, else the window size clipped to the padded input
// (count_include_pad) or to the input itself.
namespace {

__device__ __forceinline__ float neg_inf(float) { return __int_as_float(0xff800000); }
__device__ __forceinline__ double neg_inf(double) {
  return __longlong_as_double(0xfff0000000000000LL);
}

template <typename T>
__device__ void max_pool2d_fwd(const T* __restrict__ x, T* __restrict__ y,
                               long long* __restrict__ indices, long long planes, long long h,
                               long long w, long long oh, long long ow, int kh, int kw, int sh,
                               int sw, int ph, int pw, int dh, int dw) {
  const long long total = planes * oh * ow;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long ox = i % ow;
    const long long oy = (i / ow) % oh;
    const long long plane = i / (ow * oh);
    long long hstart = oy * sh - ph;
    long long wstart = ox * sw - pw;
    const long long hend = min(hstart + (long long)(kh - 1) * dh + 1, h);
    const long long wend = min(wstart + (long long)(kw - 1) * dw + 1, w);
    while (hstart < 0) hstart += dh;
    while (wstart < 0) wstart += dw;
    const T* xp = x + plane * h * w;
    T best = neg_inf(T(0));
    long long best_index = hstart * w + wstart;
    for (long long yy = hstart; yy < hend; yy += dh) {
      for (long long xx = wstart; xx < wend; xx += dw) {
        const T v = xp[yy * w + xx];
        if (v > best || v != v) {
          best = v;
          best_index = yy * w + xx;
        }
      }
    }
    y[i] = best;
    indices[i] = best_index;
  }
}

template <typename T>
__device__ void max_pool2d_bwd(const T* __restrict__ gy, const long long* __restrict__ indices,
                               T* __restrict__ gx, long long planes, long long h, long long w,
                               long long oh, long long ow, int kh, int kw, int sh, int sw,
                               int ph, int pw, int dh, int dw) {
  const long long total = planes * h * w;
  const long long span_h = (long long)(kh - 1) * dh + 1;
  const long long span_w = (long long)(kw - 1) * dw + 1;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long xx = i % w;
    const long long yy = (i / w) % h;
    const long long plane = i / (w * h);
    const long long pos = yy * w + xx;
    const long long phstart = (yy + ph < span_h) ? 0 : (yy + ph - span_h) / sh + 1;
    const long long phend = min((yy + ph) / sh + 1, oh);
    const long long pwstart = (xx + pw < span_w) ? 0 : (xx + pw - span_w) / sw + 1;
    const long long pwend = min((xx + pw) / sw + 1, ow);
    const long long base = plane * oh * ow;
    T g = 0;
    for (long long py = phstart; py < phend; ++py)
      for (long long px = pwstart; px < pwend; ++px)
        if (indices[base + py * ow + px] == pos) g += gy[base + py * ow + px];
    gx[i] = g;
  }
}

__device__ __forceinline__ long long avg_divisor(long long hstart, long long wstart,
                                                 long long h, long long w, int kh, int kw,
                                                 int ph, int pw, bool count_include_pad,
                                                 long long divisor_override) {
  if (divisor_override) return divisor_override;
  long long hend = min(hstart + kh, h + ph);
  long long wend = min(wstart + kw, w + pw);
  const long long pool_size = (hend - hstart) * (wend - wstart);
  if (count_include_pad) return pool_size;
  hstart = max(hstart, 0LL);
  wstart = max(wstart, 0LL);
  hend = min(hend, h);
  wend = min(wend, w);
  return (hend - hstart) * (wend - wstart);
}

template <typename T>
__device__ void avg_pool2d_fwd(const T* __restrict__ x, T* __restrict__ y, long long planes,
                               long long h, long long w, long long oh, long long ow, int kh,
                               int kw, int sh, int sw, int ph, int pw, int count_include_pad,
                               long long divisor_override) {
  const long long total = planes * oh * ow;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long ox = i % ow;
    const long long oy = (i / ow) % oh;
    const long long plane = i / (ow * oh);
    const long long hs = oy * sh - ph;
    const long long ws = ox * sw - pw;
    const long long hstart = max(hs, 0LL);
    const long long wstart = max(ws, 0LL);
    const long long hend = min(min(hs + kh, h + ph), h);
    const long long wend = min(min(ws + kw, w + pw), w);
    if (hstart >= hend || wstart >= wend) {
      y[i] = T(0);
      continue;
    }
    const T* xp = x + plane * h * w;
    T sum = 0;
    for (long long yy = hstart; yy < hend; ++yy)
      for (long long xx = wstart; xx < wend; ++xx) sum += xp[yy * w + xx];
    y[i] = sum / T(avg_divisor(hs, ws, h, w, kh, kw, ph, pw, count_include_pad,
                               divisor_override));
  }
}

template <typename T>
__device__ void avg_pool2d_bwd(const T* __restrict__ gy, T* __restrict__ gx, long long planes,
                               long long h, long long w, long long oh, long long ow, int kh,
                               int kw, int sh, int sw, int ph, int pw, int count_include_pad,
                               long long divisor_override) {
  const long long total = planes * h * w;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long xx = i % w;
    const long long yy = (i / w) % h;
    const long long plane = i / (w * h);
    const long long phstart = (yy + ph < kh) ? 0 : (yy + ph - kh) / sh + 1;
    const long long phend = min((yy + ph) / sh + 1, oh);
    const long long pwstart = (xx + pw < kw) ? 0 : (xx + pw - kw) / sw + 1;
    const long long pwend = min((xx + pw) / sw + 1, ow);
    const T* gp = gy + plane * oh * ow;
    T g = 0;
    for (long long py = phstart; py < phend; ++py)
      for (long long px = pwstart; px < pwend; ++px)
        g += gp[py * ow + px] / T(avg_divisor(py * sh - ph, px * sw - pw, h, w, kh, kw, ph,
                                              pw, count_include_pad, divisor_override));
    gx[i] = g;
  }
}

}  // namespace

#define POOL_ENTRIES(SUFFIX, T)                                                              \
  extern "C" __global__ void max_pool2d_fwd_##SUFFIX(                                        \
      const T* x, T* y, long long* indices, long long planes, long long h, long long w,      \
      long long oh, long long ow, int kh, int kw, int sh, int sw, int ph, int pw, int dh,    \
      int dw) {                                                                              \
    max_pool2d_fwd<T>(x, y, indices, planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw);  \
  }                                                                                          \
  extern "C" __global__ void max_pool2d_bwd_##SUFFIX(                                        \
      const T* gy, const long long* indices, T* gx, long long planes, long long h,           \
      long long w, long long oh, long long ow, int kh, int kw, int sh, int sw, int ph,       \
      int pw, int dh, int dw) {                                                              \
    max_pool2d_bwd<T>(gy, indices, gx, planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh,     \
                      dw);                                                                   \
  }                                                                                          \
  extern "C" __global__ void avg_pool2d_fwd_##SUFFIX(                                        \
      const T* x, T* y, long long planes, long long h, long long w, long long oh,            \
      long long ow, int kh, int kw, int sh, int sw, int ph, int pw, int count_include_pad,   \
      long long divisor_override) {                                                          \
    avg_pool2d_fwd<T>(x, y, planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, count_include_pad, \
                      divisor_override);                                                     \
  }                                                                                          \
  extern "C" __global__ void avg_pool2d_bwd_##SUFFIX(                                        \
      const T* gy, T* gx, long long planes, long long h, long long w, long long oh,          \
      long long ow, int kh, int kw, int sh, int sw, int ph, int pw, int count_include_pad,   \
      long long divisor_override) {                                                          \
    avg_pool2d_bwd<T>(gy, gx, planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw,                  \
                      count_include_pad, divisor_override);                                  \
  }

POOL_ENTRIES(f32, float)
POOL_ENTRIES(f64, double)
