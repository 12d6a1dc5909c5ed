// im2col and col2im for 2-D convolution with stride, padding and dilation.
//
// Input (N, C, H, W) contiguous; the column matrix has one of two layouts:
//   layout 0 ("unfold"): (N, C * kh * kw, OH * OW), torch.nn.functional.unfold's;
//   layout 1 ("gemm"):   (C * kh * kw, N * OH * OW), dist_torch's conv layout (one GEMM).
// Rows are (c, i, j) with j fastest, columns (oy, ox) with ox fastest. im2col writes one
// column element per thread (zero where the window reads padding); col2im runs one thread per
// input element and sums its contributions in (i, j) order, so it needs no atomics.
namespace {

template <typename T>
__device__ void im2col(const T* __restrict__ x, T* __restrict__ col, long long n, long long c,
                       long long h, long long w, int kh, int kw, int sh, int sw, int ph, int pw,
                       int dh, int dw, long long oh, long long ow, int layout) {
  const long long area = oh * ow;
  const long long total = n * c * kh * kw * area;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long ox = i % ow;
    const long long oy = (i / ow) % oh;
    long long rest = i / area;
    long long s, kj, ki, ch;
    if (layout == 0) {  // (n, c, ki, kj, oy, ox)
      kj = rest % kw;
      rest /= kw;
      ki = rest % kh;
      rest /= kh;
      ch = rest % c;
      s = rest / c;
    } else {  // (c, ki, kj, n, oy, ox)
      s = rest % n;
      rest /= n;
      kj = rest % kw;
      rest /= kw;
      ki = rest % kh;
      ch = rest / kh;
    }
    const long long yy = oy * sh - ph + ki * dh;
    const long long xx = ox * sw - pw + kj * dw;
    col[i] = (yy >= 0 && yy < h && xx >= 0 && xx < w) ? x[((s * c + ch) * h + yy) * w + xx]
                                                       : T(0);
  }
}

template <typename T>
__device__ void col2im(const T* __restrict__ col, T* __restrict__ x, long long n, long long c,
                       long long h, long long w, int kh, int kw, int sh, int sw, int ph, int pw,
                       int dh, int dw, long long oh, long long ow, int layout) {
  const long long area = oh * ow;
  const long long total = n * c * h * w;
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
       i += (long long)gridDim.x * blockDim.x) {
    const long long xx = i % w;
    const long long yy = (i / w) % h;
    const long long ch = (i / (w * h)) % c;
    const long long s = i / (w * h * c);
    T sum = 0;
    for (int ki = 0; ki < kh; ++ki) {
      const long long ty = yy + ph - (long long)ki * dh;
      if (ty < 0 || ty % sh) continue;
      const long long oy = ty / sh;
      if (oy >= oh) continue;
      for (int kj = 0; kj < kw; ++kj) {
        const long long tx = xx + pw - (long long)kj * dw;
        if (tx < 0 || tx % sw) continue;
        const long long ox = tx / sw;
        if (ox >= ow) continue;
        const long long row = (ch * kh + ki) * kw + kj;
        const long long pos = oy * ow + ox;
        const long long at = layout == 0 ? (s * c * kh * kw + row) * area + pos
                                         : (row * n + s) * area + pos;
        sum += col[at];
      }
    }
    x[i] = sum;
  }
}

}  // namespace

#define IM2COL_ENTRIES(SUFFIX, T)                                                             \
  extern "C" __global__ void im2col_##SUFFIX(                                                 \
      const T* x, T* col, long long n, long long c, long long h, long long w, int kh, int kw, \
      int sh, int sw, int ph, int pw, int dh, int dw, long long oh, long long ow,             \
      int layout) {                                                                           \
    im2col<T>(x, col, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, layout);            \
  }                                                                                           \
  extern "C" __global__ void col2im_##SUFFIX(                                                 \
      const T* col, T* x, long long n, long long c, long long h, long long w, int kh, int kw, \
      int sh, int sw, int ph, int pw, int dh, int dw, long long oh, long long ow,             \
      int layout) {                                                                           \
    col2im<T>(col, x, n, c, h, w, kh, kw, sh, sw, ph, pw, dh, dw, oh, ow, layout);            \
  }

IM2COL_ENTRIES(f32, float)
IM2COL_ENTRIES(f64, double)
