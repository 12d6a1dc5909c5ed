"""The hand-written CUDA kernels (``kernels/*.cu``): a lazy loader and one launch wrapper per
kernel operation.

Each ``.cu`` file is one family, compiled with NVRTC through ``cupy.RawModule`` the first time
a wrapper of that family runs on a device, then cached per ``(family, device)``. Entry points
are plain ``extern "C"`` functions named ``<op>_<suffix>`` with suffix ``f16``, ``bf16``,
``f32`` or ``f64``. The wrappers take and return CuPy arrays (made contiguous first), pick
grid and block sizes and the dtype's entry point; their NumPy twins, with the same signatures
and outputs, are in :mod:`dist_torch.backend.kernel_twins`, which is the reference the GPU
tests compare against. CuPy is imported only through :mod:`dist_torch.backend.cuda`.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from dist_torch.backend import cuda as _cuda
from dist_torch.backend import kernel_twins as _tw

__all__ = [
    "FAMILY_DTYPES", "kernel_source", "get_kernel",
    "softmax_forward", "softmax_backward", "cross_entropy_forward", "cross_entropy_backward",
    "max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward", "avg_pool2d_backward",
    "im2col", "col2im", "layer_norm_forward", "layer_norm_backward", "bias_act_forward",
    "bias_act_backward", "philox_words", "dropout_forward", "dropout_backward",
    "sgd_step", "adam_step",
]

KERNEL_DIR = Path(__file__).parent / "kernels"
_LOW_AND_FULL = ("float16", "bfloat16", "float32", "float64")
_FULL = ("float32", "float64")
FAMILY_DTYPES = {"softmax": _LOW_AND_FULL, "layernorm": _LOW_AND_FULL,
                 "activation": _LOW_AND_FULL, "dropout": _LOW_AND_FULL, "pooling": _FULL,
                 "im2col": _FULL, "optim": _FULL}
_SUFFIX = {"float16": "f16", "bfloat16": "bf16", "float32": "f32", "float64": "f64"}
_OPTIONS = ("-std=c++17", f"-I{KERNEL_DIR}")  # kernels include common.cuh
_BLOCK = 256
_MAX_GRID = 1 << 20          # kernels loop grid-stride over whatever a grid this size misses
_CHUNK = 32768               # elements per block-chunk in the multi-tensor optimizers
_NULL = np.uint64(0)         # a null pointer argument

_lock = threading.Lock()
_modules: dict = {}
_tables: OrderedDict = OrderedDict()   # multi-tensor launch tables, keyed by pointers and sizes
_TABLES_KEPT = 64


# --------------------------------------------------------------------------- loader

def kernel_source(family: str) -> str:
    """The CUDA C source of a kernel family (``softmax``, ``pooling``, ...)."""
    if family not in FAMILY_DTYPES:
        raise ValueError(f"unknown kernel family {family!r}; expected one of "
                         f"{', '.join(FAMILY_DTYPES)}")
    return (KERNEL_DIR / f"{family}.cu").read_text()


def _cupy():
    _cuda.require("CUDA kernels")
    return _cuda.cupy


def _module(family: str):
    cp = _cupy()
    key = (family, cp.cuda.runtime.getDevice())
    module = _modules.get(key)
    if module is None:
        with _lock:
            module = _modules.get(key)
            if module is None:
                module = cp.RawModule(code=kernel_source(family), options=_OPTIONS)
                _modules[key] = module
    return module


def get_kernel(family: str, name: str):
    """The compiled entry point ``name`` of ``family`` on the current device."""
    return _module(family).get_function(name)


def _entry(family: str, op: str, dtype):
    name = np.dtype(dtype).name
    if name not in FAMILY_DTYPES[family]:
        raise TypeError(f"{op}: no CUDA kernel for dtype {name} (supported: "
                        f"{', '.join(FAMILY_DTYPES[family])})")
    return get_kernel(family, f"{op}_{_SUFFIX[name]}")


def _launch(kernel, grid, block, args):
    grid = grid if isinstance(grid, tuple) else (grid,)
    if all(g > 0 for g in grid):
        kernel(grid, (block,), args)


def _grid(n: int, per_block: int = _BLOCK) -> int:
    return min(-(-n // per_block), _MAX_GRID)


def _row_block(cols: int) -> int:
    """Threads per row for the one-block-per-row kernels: a power of two in [32, 512]."""
    return min(512, max(32, 1 << max(0, cols - 1).bit_length()))


def _i64(v):
    return np.int64(v)


def _contig(cp, a, dtype):
    return None if a is None else cp.ascontiguousarray(a, dtype=dtype)


def _ptr(a):
    return _NULL if a is None else a


# --------------------------------------------------------------------------- softmax, loss

def softmax_forward(x, log=False):
    """Softmax (``log=True``: log-softmax) over the last dim of ``x``; half and bfloat16 are
    computed in float."""
    cp = _cupy()
    x = cp.ascontiguousarray(x)
    y = cp.empty_like(x)
    rows, cols = _tw.rows_cols(x.shape)
    kernel = _entry("softmax", "log_softmax_fwd" if log else "softmax_fwd", x.dtype)
    _launch(kernel, min(rows, _MAX_GRID) if cols else 0, _row_block(cols),
            (x, y, _i64(rows), _i64(cols)))
    return y


def softmax_backward(grad, y, log=False):
    """Gradient of :func:`softmax_forward` given its output ``y``."""
    cp = _cupy()
    grad, y = cp.ascontiguousarray(grad), cp.ascontiguousarray(y)
    gx = cp.empty_like(grad)
    rows, cols = _tw.rows_cols(y.shape)
    kernel = _entry("softmax", "log_softmax_bwd" if log else "softmax_bwd", y.dtype)
    _launch(kernel, min(rows, _MAX_GRID) if cols else 0, _row_block(cols),
            (grad, y, gx, _i64(rows), _i64(cols)))
    return gx


def _xent_args(cp, x, target, weight):
    if x.ndim != 2:
        raise ValueError(f"cross_entropy kernel: expected (rows, classes) logits, got shape "
                         f"{x.shape}")
    x = cp.ascontiguousarray(x)
    target = cp.ascontiguousarray(target.reshape(-1), dtype=np.int64)
    weight = None if weight is None else cp.ascontiguousarray(weight, dtype=x.dtype)
    return x, target, weight


def cross_entropy_forward(x, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                          reduction="mean"):
    """Cross-entropy of ``(rows, C)`` logits with int targets ``(rows,)``.

    Returns ``(loss, lse, row_weight)``: the reduced loss in ``x``'s dtype and, per row, the
    log-sum-exp and the target's weight (0 when ignored) in the compute dtype, for backward.
    """
    _tw.check_reduction(reduction)
    cp = _cupy()
    x, target, weight = _xent_args(cp, x, target, weight)
    rows, cols = x.shape
    acc = _tw.acc_dtype(x.dtype)
    loss, lse, row_weight = (cp.empty(rows, dtype=acc) for _ in range(3))
    _launch(_entry("softmax", "cross_entropy_fwd", x.dtype), min(rows, _MAX_GRID),
            _row_block(cols), (x, target, _ptr(weight), loss, lse, row_weight, _i64(rows),
                               _i64(cols), _i64(ignore_index), np.float64(label_smoothing)))
    return _tw.reduce_loss(loss, row_weight, reduction, x.dtype), lse, row_weight


def cross_entropy_backward(grad, x, target, lse, row_weight, weight=None, ignore_index=-100,
                           label_smoothing=0.0, reduction="mean"):
    """Gradient of :func:`cross_entropy_forward` w.r.t. the logits."""
    _tw.check_reduction(reduction)
    cp = _cupy()
    x, target, weight = _xent_args(cp, x, target, weight)
    rows, cols = x.shape
    acc = _tw.acc_dtype(x.dtype)
    g, stride = _tw.upstream_rows(cp.asarray(grad), row_weight, reduction, acc)
    gx = cp.empty_like(x)
    _launch(_entry("softmax", "cross_entropy_bwd", x.dtype), min(rows, _MAX_GRID),
            _row_block(cols), (x, target, _ptr(weight), cp.ascontiguousarray(lse, dtype=acc),
                               g, _i64(stride), gx, _i64(rows), _i64(cols),
                               _i64(ignore_index), np.float64(label_smoothing)))
    return gx


# --------------------------------------------------------------------------- pooling

def _pool_args(g):
    return (_i64(g.planes), _i64(g.h), _i64(g.w), _i64(g.oh), _i64(g.ow),
            np.int32(g.kh), np.int32(g.kw), np.int32(g.sh), np.int32(g.sw), np.int32(g.ph),
            np.int32(g.pw))


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
    """``(y, indices)`` of 2-D max pooling over ``(N, C, H, W)`` or ``(C, H, W)``; indices
    (int64) are flat positions in the input plane, as torch's ``return_indices``."""
    cp = _cupy()
    x = cp.ascontiguousarray(x)
    g = _tw.pool2d_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode)
    y = cp.empty(g.lead + (g.oh, g.ow), dtype=x.dtype)
    indices = cp.empty(y.shape, dtype=np.int64)
    _launch(_entry("pooling", "max_pool2d_fwd", x.dtype), _grid(y.size), _BLOCK,
            (x, y, indices) + _pool_args(g) + (np.int32(g.dh), np.int32(g.dw)))
    return y, indices


def max_pool2d_backward(grad, indices, input_shape, kernel_size, stride=None, padding=0,
                        dilation=1, ceil_mode=False):
    """Input gradient of max pooling (one thread per input element gathers, no atomics)."""
    cp = _cupy()
    grad = cp.ascontiguousarray(grad)
    indices = cp.ascontiguousarray(indices, dtype=np.int64)
    g = _tw.pool2d_geometry(tuple(input_shape), kernel_size, stride, padding, dilation,
                            ceil_mode)
    gx = cp.empty(tuple(input_shape), dtype=grad.dtype)
    _launch(_entry("pooling", "max_pool2d_bwd", grad.dtype), _grid(gx.size), _BLOCK,
            (grad, indices, gx) + _pool_args(g) + (np.int32(g.dh), np.int32(g.dw)))
    return gx


def _avg_tail(count_include_pad, divisor_override):
    return (np.int32(bool(count_include_pad)), _i64(divisor_override or 0))


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """2-D average pooling with torch's divisor rules."""
    cp = _cupy()
    x = cp.ascontiguousarray(x)
    g = _tw.pool2d_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode)
    y = cp.empty(g.lead + (g.oh, g.ow), dtype=x.dtype)
    _launch(_entry("pooling", "avg_pool2d_fwd", x.dtype), _grid(y.size), _BLOCK,
            (x, y) + _pool_args(g) + _avg_tail(count_include_pad, divisor_override))
    return y


def avg_pool2d_backward(grad, input_shape, kernel_size, stride=None, padding=0,
                        ceil_mode=False, count_include_pad=True, divisor_override=None):
    """Input gradient of average pooling."""
    cp = _cupy()
    grad = cp.ascontiguousarray(grad)
    g = _tw.pool2d_geometry(tuple(input_shape), kernel_size, stride, padding, 1, ceil_mode)
    gx = cp.empty(tuple(input_shape), dtype=grad.dtype)
    _launch(_entry("pooling", "avg_pool2d_bwd", grad.dtype), _grid(gx.size), _BLOCK,
            (grad, gx) + _pool_args(g) + _avg_tail(count_include_pad, divisor_override))
    return gx


# --------------------------------------------------------------------------- im2col

def _conv_args(g, layout):
    n, c = g.lead
    return (_i64(n), _i64(c), _i64(g.h), _i64(g.w), np.int32(g.kh), np.int32(g.kw),
            np.int32(g.sh), np.int32(g.sw), np.int32(g.ph), np.int32(g.pw), np.int32(g.dh),
            np.int32(g.dw), _i64(g.oh), _i64(g.ow), np.int32(_tw.layout_code(layout)))


def im2col(x, kernel_size, stride=1, padding=0, dilation=1, layout="unfold"):
    """Column matrix of ``(N, C, H, W)``: ``(N, C*kh*kw, OH*OW)`` (``'unfold'``, as
    ``F.unfold``) or ``(C*kh*kw, N*OH*OW)`` (``'gemm'``)."""
    cp = _cupy()
    x = cp.ascontiguousarray(x)
    g = _tw.conv2d_geometry(x.shape, kernel_size, stride, padding, dilation)
    n, c = g.lead
    rows, area = c * g.kh * g.kw, g.oh * g.ow
    shape = (n, rows, area) if _tw.layout_code(layout) == 0 else (rows, n * area)
    col = cp.empty(shape, dtype=x.dtype)
    _launch(_entry("im2col", "im2col", x.dtype), _grid(col.size), _BLOCK,
            (x, col) + _conv_args(g, layout))
    return col


def col2im(col, input_shape, kernel_size, stride=1, padding=0, dilation=1, layout="unfold"):
    """The adjoint of :func:`im2col` (``F.fold``), one thread per input element."""
    cp = _cupy()
    col = cp.ascontiguousarray(col)
    g = _tw.conv2d_geometry(tuple(input_shape), kernel_size, stride, padding, dilation)
    x = cp.empty(tuple(input_shape), dtype=col.dtype)
    _launch(_entry("im2col", "col2im", col.dtype), _grid(x.size), _BLOCK,
            (col, x) + _conv_args(g, layout))
    return x


# --------------------------------------------------------------------------- layer norm

def layer_norm_forward(x, weight=None, bias=None, eps=1e-5):
    """Layer norm over the last dim: ``(y, mean, rstd)``, statistics ``(rows,)`` in the
    compute dtype (float for half/bfloat16/float, double for double)."""
    cp = _cupy()
    x = cp.ascontiguousarray(x)
    weight, bias = _contig(cp, weight, x.dtype), _contig(cp, bias, x.dtype)
    rows, cols = _tw.rows_cols(x.shape)
    acc = _tw.acc_dtype(x.dtype)
    y = cp.empty_like(x)
    mean, rstd = cp.empty(rows, dtype=acc), cp.empty(rows, dtype=acc)
    _launch(_entry("layernorm", "layer_norm_fwd", x.dtype), min(rows, _MAX_GRID),
            _row_block(cols), (x, _ptr(weight), _ptr(bias), y, mean, rstd, _i64(rows),
                               _i64(cols), np.float64(eps)))
    return y, mean, rstd


def layer_norm_backward(grad, x, mean, rstd, weight=None, bias=None):
    """``(gx, gweight, gbias)`` (in ``x``'s dtype); ``gweight``/``gbias`` are None when
    ``weight``/``bias`` is (only its presence matters for ``bias``).

    The parameter gradients are column sums done in two deterministic launches: partial sums
    over chunks of rows, then the sum of the chunks.
    """
    cp = _cupy()
    grad, x = cp.ascontiguousarray(grad), cp.ascontiguousarray(x)
    weight = _contig(cp, weight, x.dtype)
    rows, cols = _tw.rows_cols(x.shape)
    acc = _tw.acc_dtype(x.dtype)
    mean = cp.ascontiguousarray(mean, dtype=acc)
    rstd = cp.ascontiguousarray(rstd, dtype=acc)
    gx = cp.empty_like(x)
    _launch(_entry("layernorm", "layer_norm_bwd_dx", x.dtype), min(rows, _MAX_GRID),
            _row_block(cols), (grad, x, _ptr(weight), mean, rstd, gx, _i64(rows), _i64(cols)))
    if weight is None and bias is None:
        return gx, None, None
    gw = None if weight is None else cp.zeros(cols, dtype=x.dtype)
    gb = None if bias is None else cp.zeros(cols, dtype=x.dtype)
    if rows and cols:
        per_chunk = max(32, -(-rows // 512))
        chunks = -(-rows // per_chunk)
        part_w = None if gw is None else cp.empty((chunks, cols), dtype=acc)
        part_b = None if gb is None else cp.empty((chunks, cols), dtype=acc)
        _launch(_entry("layernorm", "layer_norm_bwd_dwdb_partial", x.dtype),
                (-(-cols // _BLOCK), chunks), _BLOCK,
                (grad, x, mean, rstd, _ptr(part_w), _ptr(part_b), _i64(rows), _i64(cols),
                 _i64(per_chunk)))
        _launch(_entry("layernorm", "layer_norm_bwd_dwdb_final", x.dtype), _grid(cols),
                _BLOCK, (_ptr(part_w), _ptr(part_b), _ptr(gw), _ptr(gb), _i64(chunks),
                         _i64(cols)))
    return gx, gw, gb


# --------------------------------------------------------------------------- bias + activation

def bias_act_forward(x, bias=None, act="relu"):
    """``act(x + bias)``, ``bias`` ``(cols,)`` broadcast over rows; ``act`` one of relu,
    gelu, gelu_tanh, silu, tanh, sigmoid, identity."""
    code = _tw.activation_code(act)
    cp = _cupy()
    x = cp.ascontiguousarray(x)
    bias = None if bias is None else cp.ascontiguousarray(bias, dtype=x.dtype)
    rows, cols = _tw.rows_cols(x.shape)
    y = cp.empty_like(x)
    _launch(_entry("activation", "bias_act_fwd", x.dtype), _grid(x.size), _BLOCK,
            (x, _ptr(bias), y, _i64(rows), _i64(cols), np.int32(code)))
    return y


def bias_act_backward(grad, x, bias=None, act="relu"):
    """``(gx, gbias)``: ``grad * act'(x + bias)`` and its column sum (None without bias)."""
    code = _tw.activation_code(act)
    cp = _cupy()
    grad, x = cp.ascontiguousarray(grad), cp.ascontiguousarray(x)
    bias = None if bias is None else cp.ascontiguousarray(bias, dtype=x.dtype)
    rows, cols = _tw.rows_cols(x.shape)
    gx = cp.empty_like(x)
    _launch(_entry("activation", "bias_act_bwd", x.dtype), _grid(x.size), _BLOCK,
            (grad, x, _ptr(bias), gx, _i64(rows), _i64(cols), np.int32(code)))
    if bias is None:
        return gx, None
    acc = _tw.acc_dtype(x.dtype)
    return gx, gx.reshape(rows, cols).sum(axis=0, dtype=acc).astype(bias.dtype)


# --------------------------------------------------------------------------- Philox, dropout

def philox_words(n, seed, offset=0):
    """The ``n`` uint32 Philox words the dropout kernel draws for elements ``0..n-1``."""
    cp = _cupy()
    out = cp.empty(int(n), dtype=np.uint32)
    _launch(get_kernel("dropout", "philox_words"), _grid(-(-int(n) // 4)), _BLOCK,
            (out, _i64(n), np.uint64(int(seed) & (2**64 - 1)),
             np.uint64(int(offset) & (2**64 - 1))))
    return out


def dropout_forward(x, p, seed, offset=0, state=None):
    """``(y, mask)``: ``y = x * mask / (1 - p)``; ``mask`` (uint8) is a pure function of
    ``(seed, offset, element index)``, each element kept with probability ``1 - p``. A caller
    drawing again should advance ``offset`` by at least ``ceil(x.size / 4)``.

    ``state``: None, or a device uint64 array ``(seed, base)`` read when the kernel runs
    (CUDA graph replays refill it); the kernel then uses ``state[0]`` as the seed and
    ``state[1] + offset`` as the offset."""
    threshold = _tw.dropout_threshold(p)
    cp = _cupy()
    x = cp.ascontiguousarray(x)
    y = cp.empty_like(x)
    mask = cp.empty(x.shape, dtype=np.uint8)
    if state is not None and (state.dtype != np.uint64 or state.size != 2):
        raise ValueError("dropout_forward: state must be a device uint64 array (seed, offset)")
    _launch(_entry("dropout", "dropout_fwd", x.dtype), _grid(-(-x.size // 4)), _BLOCK,
            (x, y, mask, _i64(x.size), np.uint64(int(seed) & (2**64 - 1)),
             np.uint64(int(offset) & (2**64 - 1)), np.uint64(threshold),
             np.float64(_tw.dropout_scale(p)), _ptr(state)))
    return y, mask


def dropout_backward(grad, mask, p):
    """``grad * mask / (1 - p)``."""
    cp = _cupy()
    grad = cp.ascontiguousarray(grad)
    mask = cp.ascontiguousarray(mask, dtype=np.uint8)
    gx = cp.empty_like(grad)
    _launch(_entry("dropout", "dropout_bwd", grad.dtype), _grid(grad.size), _BLOCK,
            (grad, mask, gx, _i64(grad.size), np.float64(_tw.dropout_scale(p))))
    return gx


# --------------------------------------------------------------------------- optimizers

def _check_lists(cp, params, lists):
    for lst in lists:
        for p, a in zip(params, lst):
            if not isinstance(a, cp.ndarray) or a.dtype != p.dtype or a.size != p.size \
                    or not a.flags.c_contiguous or a.device.id != p.device.id:
                raise ValueError("multi-tensor kernels need C-contiguous CuPy arrays of each "
                                 "parameter's dtype, size and device")


def _by_dtype(params):
    """Indices of ``params`` grouped by dtype (one launch per group)."""
    groups: dict = {}
    for i, p in enumerate(params):
        groups.setdefault(p.dtype, []).append(i)
    return groups


def _mt_tables(cp, lists, idx):
    """Device arrays ``(ptrs, sizes, chunk_tensor, chunk_start)`` and the chunk count for
    tensors ``idx`` of ``lists``, cached by pointers and sizes (the same every step)."""
    ptrs = tuple(int(lst[i].data.ptr) for lst in lists for i in idx)
    sizes = tuple(int(lists[0][i].size) for i in idx)
    key = (cp.cuda.runtime.getDevice(), ptrs, sizes)
    with _lock:
        hit = _tables.get(key)
        if hit is not None:
            _tables.move_to_end(key)
    if hit is not None:
        _cuda.keep_alive(hit)  # a captured launch reads the tables at every replay
        return hit
    tensor, start = _tw.multi_tensor_chunks(sizes, _CHUNK)
    up = _cuda.upload  # capture-safe: a captured copy from a pinned buffer kept with the graph
    hit = (up(np.array(ptrs, dtype=np.uint64)), up(np.array(sizes, np.int64)), up(tensor),
           up(start), len(tensor))
    if _cuda.capturing():  # filled only when the graph runs: not for eager launches
        _cuda.keep_alive(hit)
        return hit
    with _lock:
        _tables[key] = hit
        while len(_tables) > _TABLES_KEPT:
            _tables.popitem(last=False)
    return hit


def _mt_head(cp, lists, idx):
    ptrs, sizes, tensor, start, chunks = _mt_tables(cp, lists, idx)
    return chunks, (ptrs, _i64(len(idx)), sizes, tensor, start, _i64(chunks), _i64(_CHUNK))


def sgd_step(params, grads, momentum_buffers, *, lr, momentum=0.0, dampening=0.0,
             weight_decay=0.0, nesterov=False, maximize=False):
    """SGD on many parameters, one launch per dtype, as torch's foreach implementation.

    ``momentum_buffers``: each parameter's buffer or None (a new buffer, set to the gradient,
    is allocated and stored in the list); returned. Unused when ``momentum == 0``.
    """
    cp = _cupy()
    lists = [params, grads]
    first = None
    if momentum != 0:
        first = np.zeros(len(params), dtype=np.uint8)
        for i, p in enumerate(params):
            if momentum_buffers[i] is None:
                momentum_buffers[i] = cp.empty_like(p)
                first[i] = 1
        lists.append(momentum_buffers)
    _check_lists(cp, params, lists)
    for idx in _by_dtype(params).values():
        with params[idx[0]].device:
            chunks, head = _mt_head(cp, lists, idx)
            flags = _NULL if first is None or not first[idx].any() else _cuda.upload(first[idx])
            _launch(_entry("optim", "sgd_mt", params[idx[0]].dtype), min(chunks, _MAX_GRID),
                    _BLOCK, head + (flags, np.float64(lr), np.float64(momentum),
                                    np.float64(dampening), np.float64(weight_decay),
                                    np.int32(bool(nesterov)), np.int32(bool(maximize))))
    return momentum_buffers


def adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps, *, lr, beta1,
              beta2, eps, weight_decay=0.0, amsgrad=False, maximize=False,
              decoupled_weight_decay=False):
    """Adam/AdamW on many parameters, one launch per dtype, as torch's foreach
    implementation. ``steps``: each parameter's step number counting this step, as host
    numbers, or as 0-dim device arrays (``capturable``: read on the device, so that a CUDA
    graph replay sees the current count). The bias corrections are computed in double, per
    parameter: on the host for host steps, on the device for device steps."""
    cp = _cupy()
    lists = [params, grads, exp_avgs, exp_avg_sqs] + ([max_exp_avg_sqs] if amsgrad else [])
    _check_lists(cp, params, lists)
    on_device = len(steps) > 0 and isinstance(steps[0], cp.ndarray)
    for idx in _by_dtype(params).values():
        with params[idx[0]].device:
            chunks, head = _mt_head(cp, lists, idx)
            if on_device:
                # one copy kernel per counter: cp.stack would upload a pointer table through
                # CuPy's recycled staging buffer, which a graph replay cannot read later
                step = cp.empty(len(idx), dtype=np.float64)
                for j, i in enumerate(idx):
                    step[j] = steps[i]
                step_size = -lr / (1.0 - cp.power(beta1, step))
                bc2_sqrt = cp.sqrt(1.0 - cp.power(beta2, step))
            else:
                step = [float(steps[i]) for i in idx]
                step_size = _cuda.upload(np.array([-(lr / (1 - beta1 ** s)) for s in step]))
                bc2_sqrt = _cuda.upload(np.array([(1 - beta2 ** s) ** 0.5 for s in step]))
            _launch(_entry("optim", "adam_mt", params[idx[0]].dtype), min(chunks, _MAX_GRID),
                    _BLOCK, head + (step_size, bc2_sqrt, np.float64(lr), np.float64(beta1),
                                    np.float64(beta2), np.float64(eps),
                                    np.float64(weight_decay), np.int32(bool(amsgrad)),
                                    np.int32(bool(decoupled_weight_decay)),
                                    np.int32(bool(maximize))))
