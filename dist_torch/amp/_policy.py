"""Autocast state and cast policies: what ``torch.autocast`` does to each op.

The state is thread-local and kept per device type, as in torch. Ops opt in with the
:func:`autocast_op` decorator, naming the ATen op whose policy they follow; when no autocast
region is active in the thread the decorator costs one thread-local attribute check.

Policies (torch's ``CastPolicy``), looked up per device type of the op's tensors:

* ``lower``: floating inputs on that device (not float64) are cast to the autocast dtype.
* ``lower_same_dtype``: the same when all tensor inputs share a dtype (torch composites such
  as tensordot check dtypes before reaching the listed mm).
* ``fp32``: such inputs are cast to float32.
* ``fp32_opt_dtype``: no cast; when the first input is eligible and no ``dtype`` was given,
  the op runs with ``dtype=torch.float32`` (softmax, sum, cumsum, ... on CUDA).
* ``promote``: inputs are cast to the widest eligible floating dtype among them.
* ``native``: no cast, but ops called inside are not autocast again (a fused torch kernel
  that dist_torch happens to compose from public ops).
* ``banned``: raises (binary_cross_entropy on CUDA).

An op under any of these runs with autocast suspended, so ops it calls are not cast again
(torch's ``ExcludeDispatchKeyGuard``). Out-variants (``out=``) are not autocast, as in torch.
Lower-precision casts of float32 leaf tensors that require grad are cached until the
outermost autocast region exits (torch caches them only while grad mode is on).
"""

from __future__ import annotations

import functools
import inspect
import threading
import weakref

from dist_torch import _dtype
from dist_torch.autograd import grad_mode

# Device types torch's device-string parser knows, in the order its error message lists them.
DEVICE_TYPES = ("cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
                "fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia",
                "privateuseone")
AVAILABLE = frozenset(("cpu", "cuda", "ipu", "xpu", "maia", "xla", "mps", "hpu", "mtia",
                       "privateuseone"))
_DEFAULT_DTYPES = {
    "cpu": _dtype.bfloat16, "cuda": _dtype.float16, "hip": _dtype.float16,
    "xla": _dtype.bfloat16, "xpu": _dtype.float16, "mps": _dtype.float16,
    "hpu": _dtype.bfloat16, "ipu": _dtype.float16, "mtia": _dtype.float16,
    "maia": _dtype.bfloat16, "privateuseone": _dtype.float16,
}


def device_type(value: str) -> str:
    """The device type of a device string (``'cuda:0'`` -> ``'cuda'``), checked as torch does."""
    kind = value.partition(":")[0]
    if kind not in DEVICE_TYPES:
        raise RuntimeError(f"Expected one of {', '.join(DEVICE_TYPES)} device type at start of "
                           f"device string: {value}")
    return kind


class _State(threading.local):
    active = False          # some device type has autocast on and no policy op is running
    cache_enabled = True
    nesting = 0

    def __init__(self):
        self.enabled = set()
        self.dtypes = dict(_DEFAULT_DTYPES)


state = _State()
_cache: dict = {}
_cache_lock = threading.Lock()


# --------------------------------------------------------------------------- state API

def is_autocast_enabled(device_type_: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` in this thread (CUDA when not given)."""
    return device_type("cuda" if device_type_ is None else device_type_) in state.enabled


def set_autocast_enabled(device_type_, enabled=None) -> None:
    """``set_autocast_enabled(device_type, enabled)``; the one-argument form sets CUDA's."""
    if enabled is None:
        device_type_, enabled = "cuda", device_type_
    kind = device_type(device_type_)
    st = state
    if enabled:
        st.enabled.add(kind)
    else:
        st.enabled.discard(kind)
    st.active = bool(st.enabled)


def get_autocast_dtype(device_type_: str) -> _dtype.dtype:
    """The lower-precision dtype autocast uses on ``device_type`` in this thread."""
    kind = device_type(device_type_)
    d = state.dtypes.get(kind)
    if d is None:
        raise RuntimeError("unsupported scalarType")
    return d


def set_autocast_dtype(device_type_: str, dtype) -> None:
    state.dtypes[device_type(device_type_)] = dtype


def is_autocast_cache_enabled() -> bool:
    return state.cache_enabled


def set_autocast_cache_enabled(enabled: bool) -> None:
    state.cache_enabled = bool(enabled)


def clear_autocast_cache() -> None:
    with _cache_lock:
        _cache.clear()


def autocast_increment_nesting() -> int:
    state.nesting += 1
    return state.nesting


def autocast_decrement_nesting() -> int:
    state.nesting -= 1
    return state.nesting


def _deprecated(old, new):
    import warnings
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.",
                  DeprecationWarning, stacklevel=3)


def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return "cpu" in state.enabled


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    set_autocast_enabled("cpu", enabled)


def get_autocast_cpu_dtype():
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return get_autocast_dtype("cpu")


def set_autocast_cpu_dtype(dtype) -> None:
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    set_autocast_dtype("cpu", dtype)


def get_autocast_gpu_dtype():
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return get_autocast_dtype("cuda")


def set_autocast_gpu_dtype(dtype) -> None:
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    set_autocast_dtype("cuda", dtype)


# --------------------------------------------------------------------------- policy tables
# Keys are ATen op names. CPU: torch's AutocastCPU registrations; CUDA: its AT_FORALL_* lists
# (the same for XPU). Entries marked "composite" are ops torch builds from listed ops (for
# example tensordot from mm), so their results carry the listed op's dtype.

_LOWER_CPU = (
    "conv1d", "conv2d", "conv3d", "bmm", "mm", "linalg_vecdot", "baddbmm", "addmm",
    "addbmm", "linear", "matmul", "conv_tbc", "conv_transpose1d", "conv_transpose2d",
    "conv_transpose3d", "prelu", "scaled_dot_product_attention",
    "_native_multi_head_attention",
    "einsum",  # composite: bmm
)
_FP32_CPU = (
    "avg_pool3d", "binary_cross_entropy", "grid_sampler", "polar", "prod", "quantile",
    "nanquantile", "stft", "cdist", "trace", "cholesky", "cholesky_inverse", "cholesky_solve",
    "inverse", "lu_solve", "orgqr", "ormqr", "pinverse", "max_pool3d", "max_unpool2d",
    "max_unpool3d", "adaptive_avg_pool3d", "reflection_pad1d", "reflection_pad2d",
    "replication_pad1d", "replication_pad2d", "replication_pad3d", "mse_loss",
    "cosine_embedding_loss", "nll_loss", "nll_loss2d", "hinge_embedding_loss",
    "poisson_nll_loss", "smooth_l1_loss", "cross_entropy_loss", "l1_loss", "huber_loss",
    "margin_ranking_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
    "ctc_loss", "kl_div", "multilabel_margin_loss", "binary_cross_entropy_with_logits",
    "linalg_cond", "linalg_matrix_rank", "linalg_solve", "linalg_cholesky", "linalg_svdvals",
    "linalg_eigvals", "linalg_eigvalsh", "linalg_inv", "linalg_householder_product",
    "linalg_tensorinv", "linalg_tensorsolve", "fake_quantize_per_tensor_affine", "geqrf",
    "_lu_with_info", "qr", "svd", "triangular_solve", "fractional_max_pool2d",
    "fractional_max_pool3d", "adaptive_max_pool3d", "multilabel_margin_loss_forward",
    "linalg_qr", "linalg_cholesky_ex", "linalg_svd", "linalg_eig", "linalg_eigh",
    "linalg_lstsq", "linalg_inv_ex",
)
_PROMOTE_CPU = ("stack", "cat", "index_copy")
# Composites over mm that check their operands' dtypes first (mixed dtypes raise).
_LOWER_SAME_DTYPE_CPU = ("tensordot", "inner")

_LOWER_CUDA = (
    "_convolution", "conv1d", "conv2d", "conv3d", "conv_tbc", "conv_transpose1d",
    "conv_transpose2d", "conv_transpose3d", "convolution", "prelu", "addmm", "addmv", "addr",
    "matmul", "einsum", "mm", "mv", "linalg_vecdot", "linear", "addbmm", "baddbmm", "bmm",
    "chain_matmul", "linalg_multi_dot", "_thnn_fused_lstm_cell", "_thnn_fused_gru_cell",
    "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
    "_scaled_dot_product_flash_attention", "scaled_dot_product_attention",
)
_FP32_CUDA = (
    "acos", "asin", "cosh", "erfinv", "exp", "expm1", "log", "log10", "log2", "log1p",
    "reciprocal", "rsqrt", "sinh", "tan", "pow", "softplus", "layer_norm", "native_layer_norm",
    "group_norm", "frobenius_norm", "nuclear_norm", "cosine_similarity", "poisson_nll_loss",
    "cosine_embedding_loss", "nll_loss", "nll_loss2d", "hinge_embedding_loss", "kl_div",
    "l1_loss", "smooth_l1_loss", "huber_loss", "mse_loss", "margin_ranking_loss",
    "multilabel_margin_loss", "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss",
    "binary_cross_entropy_with_logits", "dist", "pdist", "cdist", "renorm", "logsumexp",
    "upsample_nearest1d", "_upsample_nearest_exact1d", "upsample_nearest2d",
    "_upsample_nearest_exact2d", "upsample_nearest3d", "_upsample_nearest_exact3d",
    "upsample_linear1d", "upsample_bilinear2d", "_upsample_bilinear2d_aa",
    "upsample_trilinear3d", "upsample_bicubic2d", "_upsample_bicubic2d_aa",
    "square",  # composite: pow(x, 2)
    "pairwise_distance",  # composite: norm (fp32_append_dtype) of the difference
    "cross_entropy_loss",  # composite: log_softmax (fp32) then nll_loss (fp32)
)
_FP32_OPT_DTYPE_CUDA = (
    "prod", "softmax", "log_softmax", "cumprod", "cumsum", "linalg_vector_norm",
    "linalg_matrix_norm", "sum",
    "norm", "linalg_norm",  # fp32_append_dtype / composite over the vector and matrix norms
)
_PROMOTE_CUDA = ("addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "vdot",
                 "grid_sampler", "index_put", "tensordot", "scatter_add")

LOWER, LOWER_SAME_DTYPE, FP32, FP32_OPT_DTYPE, PROMOTE, NATIVE, BANNED = (
    "lower", "lower_same_dtype", "fp32", "fp32_opt_dtype", "promote", "native", "banned")


def _table(*groups):
    out = {}
    for policy, names in groups:
        for name in names:
            out[name] = policy
    return out


POLICIES = {
    "cpu": _table((LOWER, _LOWER_CPU), (LOWER_SAME_DTYPE, _LOWER_SAME_DTYPE_CPU),
                  (FP32, _FP32_CPU), (PROMOTE, _PROMOTE_CPU)),
    "cuda": _table((LOWER, _LOWER_CUDA), (FP32, _FP32_CUDA),
                   (FP32_OPT_DTYPE, _FP32_OPT_DTYPE_CUDA), (PROMOTE, _PROMOTE_CUDA),
                   (BANNED, ("binary_cross_entropy",))),
}

_BANNED_MESSAGE = (
    "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
    "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
    "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_"
    "logits\nor torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and "
    "BCEWithLogits are\nsafe to autocast.")


# --------------------------------------------------------------------------- casting

def _tensor_cls():
    from dist_torch._tensor import Tensor
    return Tensor


def _eligible(t, kind) -> bool:
    d = t.dtype
    return d.is_floating_point and d is not _dtype.float64 and t.device.type == kind


def _cached_cast(t, to, kind):
    if not _eligible(t, kind) or t.dtype is to:
        return t
    st = state
    if (to is st.dtypes.get(kind) and t.dtype is _dtype.float32 and t._requires_grad
            and t._grad_fn is None and t._base is None and st.cache_enabled
            and grad_mode.state.grad_enabled):
        key = id(t)
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None and hit[0]() is t:
                return hit[1]
            casted = t.to(to)
            _cache[key] = (weakref.ref(t), casted)
            return casted
    return t.to(to)


def _map_tensors(value, fn, tensor_cls):
    if isinstance(value, tensor_cls):
        return fn(value)
    if isinstance(value, (list, tuple)) and value and any(
            isinstance(v, tensor_cls) for v in value):
        return type(value)(fn(v) if isinstance(v, tensor_cls) else v for v in value)
    return value


def _iter_tensors(args, kwargs, tensor_cls):
    for value in (*args, *kwargs.values()):
        if isinstance(value, tensor_cls):
            yield value
        elif isinstance(value, (list, tuple)):
            for v in value:
                if isinstance(v, tensor_cls):
                    yield v


def _promote_type(tensors, kind, lower):
    current = lower
    for t in tensors:
        if not t.dtype.is_floating_point or t.device.type != kind:
            continue
        nxt = t.dtype
        if nxt is _dtype.float64:
            continue
        if current is _dtype.float32 or nxt is _dtype.float32:
            current = _dtype.float32
        elif not (current is lower and nxt is lower):
            raise RuntimeError("Unexpected floating ScalarType in at::autocast::prioritize")
    return current


def _run(fn, args, kwargs):
    st = state
    st.active = False
    try:
        return fn(*args, **kwargs)
    finally:
        st.active = bool(st.enabled)


def apply_policy(policy, kind, fn, args, kwargs, dtype_index=None):
    """Run ``fn`` under ``policy`` for device type ``kind`` (autocast suspended inside)."""
    if policy == NATIVE:
        return _run(fn, args, kwargs)
    if policy == BANNED:
        raise RuntimeError(_BANNED_MESSAGE)
    tensor_cls = _tensor_cls()
    lower = state.dtypes[kind]
    if policy == FP32_OPT_DTYPE:
        first = args[0] if args else next(iter(kwargs.values()), None)
        given = kwargs.get("dtype") is not None or (
            dtype_index is not None and len(args) > dtype_index and args[dtype_index] is not None)
        if isinstance(first, tensor_cls) and _eligible(first, kind) and not given:
            kwargs = {**kwargs, "dtype": _dtype.float32}
        return _run(fn, args, kwargs)
    if policy == LOWER_SAME_DTYPE:
        if len({t.dtype for t in _iter_tensors(args, kwargs, tensor_cls)}) > 1:
            return fn(*args, **kwargs)  # the op's own dtype check raises, as torch's does
        to = lower
    elif policy == LOWER:
        to = lower
    elif policy == FP32:
        to = _dtype.float32
    else:
        to = _promote_type(_iter_tensors(args, kwargs, tensor_cls), kind, lower)

    def cast(t):
        return _cached_cast(t, to, kind)
    args = tuple(_map_tensors(a, cast, tensor_cls) for a in args)
    kwargs = {k: _map_tensors(v, cast, tensor_cls) for k, v in kwargs.items()}
    return _run(fn, args, kwargs)


def _op_device(args, kwargs):
    """The device type whose autocast key torch would dispatch on (CUDA wins over CPU)."""
    tensor_cls = _tensor_cls()
    kind = None
    for t in _iter_tensors(args, kwargs, tensor_cls):
        k = t.device.type
        if k != "cpu":
            return k
        kind = k
    return kind


def positional_index(fn, name):
    """Where parameter ``name`` of ``fn`` sits among the positional ones (None: keyword-only
    or absent)."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # pragma: no cover - builtins
        return None
    for i, p in enumerate(params):
        if p.name == name:
            return i if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) else None
    return None


def autocast_op(op, resolve=None):
    """Decorator: ``fn`` follows the autocast policy of ATen op ``op`` on each device type.

    ``resolve(args, kwargs)``, when given, returns the ATen op name for a particular call
    (``F.pad`` dispatches to reflection_pad1d, replication_pad3d, ...), or None for no policy.
    """
    def decorate(fn):
        dtype_index = positional_index(fn, "dtype")
        st = state

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not st.active:
                return fn(*args, **kwargs)
            return _dispatch(fn, op, resolve, args, kwargs, dtype_index)

        wrapper.__autocast_op__ = op
        return wrapper
    return decorate


def _dispatch(fn, op, resolve, args, kwargs, dtype_index):
    if kwargs.get("out") is not None:
        return fn(*args, **kwargs)
    kind = _op_device(args, kwargs)
    if kind is None or kind not in state.enabled:
        return fn(*args, **kwargs)
    name = resolve(args, kwargs) if resolve is not None else op
    policy = POLICIES.get(kind, POLICIES["cuda"]).get(name) if name else None
    if policy is None:
        return fn(*args, **kwargs)
    return apply_policy(policy, kind, fn, args, kwargs, dtype_index)


def no_autocast(fn):
    """Decorator: run ``fn`` with autocast suspended (in-place ops, which torch never casts)."""
    st = state

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if not st.active:
            return fn(*args, **kwargs)
        return _run(fn, args, kwargs)
    return wrapper


def autocast_factory(name_index: int = 1):
    """Decorator for a factory of op functions: each function it makes follows the policy of
    the ATen op named by the factory's argument ``name_index`` (``_float_function(Exp,
    "exp", doc)`` -> "exp")."""
    def decorate(factory):
        @functools.wraps(factory)
        def make(*args, **kwargs):
            fn = factory(*args, **kwargs)
            name = args[name_index]
            if any(name in table for table in POLICIES.values()):
                fn = autocast_op(name)(fn)
            return fn
        return make
    return decorate


# --------------------------------------------------------------------------- call resolvers

def _arg(args, kwargs, index, name, default=None):
    if name in kwargs:
        return kwargs[name]
    return args[index] if len(args) > index else default


def pad_op(args, kwargs):
    """F.pad: reflect / replicate modes dispatch to reflection_padNd / replication_padNd."""
    mode = _arg(args, kwargs, 2, "mode", "constant")
    n = len(_arg(args, kwargs, 1, "pad", ())) // 2
    if mode == "reflect":
        return f"reflection_pad{n}d"
    if mode == "replicate":
        return f"replication_pad{n}d"
    return None


_INTERPOLATE_OPS = {"nearest": "upsample_nearest{}d", "nearest-exact": "_upsample_nearest_exact{}d",
                    "linear": "upsample_linear{}d", "bilinear": "upsample_bilinear{}d",
                    "trilinear": "upsample_trilinear{}d", "bicubic": "upsample_bicubic{}d",
                    "area": "adaptive_avg_pool{}d"}


def interpolate_op(args, kwargs):
    """F.interpolate: the upsample kernel (or adaptive_avg_pool for 'area') it dispatches to."""
    x = _arg(args, kwargs, 0, "input")
    mode = _arg(args, kwargs, 3, "mode", "nearest")
    name = _INTERPOLATE_OPS.get(mode)
    if name is None or x is None:
        return None
    name = name.format(x.ndim - 2)
    if mode in ("bilinear", "bicubic") and _arg(args, kwargs, 6, "antialias", False):
        name = "_" + name + "_aa"
    return name


def max_pool3d_op(args, kwargs):
    """F.max_pool3d: the ``max_pool3d`` op only without ``return_indices``."""
    return None if _arg(args, kwargs, 6, "return_indices", False) else "max_pool3d"
