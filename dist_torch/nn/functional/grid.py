"""Spatial transformers: affine_grid and grid_sample (2-D and 3-D).

grid_sample gathers every output point's taps (2^d corners for bilinear, one for nearest, 4x4
for bicubic) from a channels-last view of the input with computed flat indices, so there is no
loop over samples or pixels. The backward scatters into the input with one bincount and forms
the grid gradient from the derivatives of the tap weights, following torch's rules (clipped
coordinates have zero gradient at the borders; nearest has none).
"""

from __future__ import annotations

import math
import warnings

import numpy as np

from dist_torch._tensor import Tensor
from dist_torch.amp._policy import autocast_op
from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.ops._indexing_util import scatter_add_new
from dist_torch.ops._reduce import type_name

__all__ = ["affine_grid", "grid_sample"]

_MODES = ("bilinear", "nearest", "bicubic")
_PADDINGS = ("zeros", "border", "reflection")
_A = -0.75  # the cubic convolution constant torch uses
_DEFAULT_WARNING = (
    "Default grid_sample and affine_grid behavior has changed to align_corners=False since "
    "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
    "documentation of grid_sample for details.")


# --------------------------------------------------------------------------- coordinates

def _unnormalize(xp, g, size, align_corners):
    """Pixel coordinate of normalized ``g`` and its derivative d(coord)/d(g)."""
    if align_corners:
        return (g + 1) / 2 * (size - 1), (size - 1) / 2
    return ((g + 1) * size - 1) / 2, size / 2


def _clip(xp, x, size):
    """Clamp into ``[0, size - 1]``; the borders count as outside for the gradient."""
    mult = ((x > 0) & (x < size - 1)).astype(x.dtype)
    return xp.clip(x, 0, size - 1), mult


def _reflect(xp, x, twice_low, twice_high):
    """Reflect ``x`` into ``[twice_low / 2, twice_high / 2]`` and the sign of d(out)/d(x)."""
    if twice_low == twice_high:
        return xp.zeros_like(x), xp.zeros_like(x)
    low = twice_low / 2
    span = (twice_high - twice_low) / 2
    x = x - low
    sign = xp.where(x < 0, -1.0, 1.0).astype(x.dtype)
    x = xp.abs(x)
    extra = xp.fmod(x, span)
    even = (xp.floor(x / span) % 2) == 0
    out = xp.where(even, extra + low, span - extra + low)
    return out, xp.where(even, sign, -sign)


def _pad_coords(xp, x, size, padding_mode, align_corners):
    """Apply the padding rule to source coordinates; returns (coords, derivative)."""
    if padding_mode == "border":
        return _clip(xp, x, size)
    if padding_mode == "reflection":
        if align_corners:
            x, m1 = _reflect(xp, x, 0, 2 * (size - 1))
        else:
            x, m1 = _reflect(xp, x, -1, 2 * size - 1)
        x, m2 = _clip(xp, x, size)
        return x, m1 * m2
    return x, None


def _cubic1(t):
    return ((_A + 2) * t - (_A + 3)) * t * t + 1


def _cubic2(t):
    return ((_A * t - 5 * _A) * t + 8 * _A) * t - 4 * _A


def _dcubic1(t):
    return (3 * (_A + 2) * t - 2 * (_A + 3)) * t


def _dcubic2(t):
    return (3 * _A * t - 10 * _A) * t + 8 * _A


def _dim_taps(xp, x, size, mode, padding_mode, align_corners):
    """Per-dim taps ``[(index float array, weight, d weight / d x)]`` for coordinates ``x``."""
    if mode == "nearest":
        return [(xp.rint(x), xp.ones_like(x), xp.zeros_like(x))]
    x0 = xp.floor(x)
    t = x - x0
    if mode == "bilinear":
        one = xp.ones_like(x)
        return [(x0, 1 - t, -one), (x0 + 1, t, one)]
    weights = (_cubic2(t + 1), _cubic1(t), _cubic1(1 - t), _cubic2(2 - t))
    grads = (_dcubic2(t + 1), _dcubic1(t), -_dcubic1(1 - t), -_dcubic2(2 - t))
    taps = []
    for k in range(4):
        idx, _ = _pad_coords(xp, x0 + (k - 1), size, padding_mode, align_corners)
        taps.append((idx, weights[k], grads[k]))
    return taps


def _sample_plan(input_shape, grid, mode, padding_mode, align_corners):
    """Coordinates of every output point: per spatial dim its taps, and d(coord)/d(grid)."""
    xp = array_module(grid)
    spatial = input_shape[2:]
    nd = len(spatial)
    per_dim, mults = [], []
    for k, size in enumerate(spatial):
        g = grid[..., nd - 1 - k]  # grid[..., 0] is x, the last spatial dim
        x, mult = _unnormalize(xp, g, size, align_corners)
        if mode != "bicubic":
            x, pad_mult = _pad_coords(xp, x, size, padding_mode, align_corners)
            if pad_mult is not None:
                mult = pad_mult * mult
        per_dim.append(_dim_taps(xp, x, size, mode, padding_mode, align_corners))
        mults.append(mult)
    return per_dim, mults


def _combos(per_dim):
    """Every combination of one tap per dim."""
    combos = [()]
    for taps in per_dim:
        combos = [c + (tap,) for c in combos for tap in taps]
    return combos


def _tap_rows(xp, combo, spatial, n):
    """Row of each output point's tap in the ``(N * prod(spatial), C)`` input, and its
    in-bounds mask."""
    mask = None
    lin = None
    for (idx, _, _), size in zip(combo, spatial):
        inside = (idx >= 0) & (idx <= size - 1)
        mask = inside if mask is None else mask & inside
        i = xp.clip(xp.where(inside, idx, 0), 0, size - 1).astype(np.int64)
        lin = i if lin is None else lin * size + i
    batch = xp.arange(n, dtype=np.int64).reshape((n,) + (1,) * (lin.ndim - 1))
    return lin + batch * math.prod(spatial), mask


def _channels_last(a):
    xp = array_module(a)
    order = (0,) + tuple(range(2, a.ndim)) + (1,)
    return xp.ascontiguousarray(a.transpose(order)).reshape(-1, a.shape[1])


class GridSampler(Primitive):
    """Sample ``input`` (N, C, *S) at ``grid`` (N, *O, d) -> (N, C, *O)."""

    def forward(ctx, input, grid, mode, padding_mode, align_corners):
        xp = array_module(input)
        ctx.mode, ctx.padding_mode, ctx.align_corners = mode, padding_mode, align_corners
        ctx.save_for_backward(input, grid)
        n, c = input.shape[:2]
        out_spatial = grid.shape[1:-1]
        rows = _channels_last(input)
        per_dim, _ = _sample_plan(input.shape, grid, mode, padding_mode, align_corners)
        out = xp.zeros(grid.shape[:-1] + (c,), dtype=input.dtype)
        for combo in _combos(per_dim):
            lin, mask = _tap_rows(xp, combo, input.shape[2:], n)
            w = mask.astype(input.dtype)
            for _, wd, _ in combo:
                w = w * wd
            out += w[..., None] * rows[lin]
        order = (0, out.ndim - 1) + tuple(range(1, out.ndim - 1))
        return xp.ascontiguousarray(out.transpose(order)).reshape((n, c) + out_spatial)

    def backward(ctx, grad):
        input, grid = ctx.saved_tensors
        xp = array_module(grad)
        n, c = input.shape[:2]
        spatial = input.shape[2:]
        nd = len(spatial)
        g = _channels_last(grad).reshape(grid.shape[:-1] + (c,))
        per_dim, mults = _sample_plan(input.shape, grid, ctx.mode, ctx.padding_mode,
                                      ctx.align_corners)
        need_input, need_grid = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        rows = _channels_last(input) if need_grid else None
        lins, values = [], []
        dcoord = [xp.zeros(grid.shape[:-1], dtype=grid.dtype) for _ in range(nd)]
        chan = xp.arange(c, dtype=np.int64)
        for combo in _combos(per_dim):
            lin, mask = _tap_rows(xp, combo, spatial, n)
            maskf = mask.astype(input.dtype)
            weights = [wd for _, wd, _ in combo]
            if need_input:
                w = maskf
                for wd in weights:
                    w = w * wd
                lins.append(lin[..., None] * c + chan)
                values.append(w[..., None] * g)
            if need_grid and ctx.mode != "nearest":
                gv = (rows[lin] * g).sum(axis=-1) * maskf
                for k in range(nd):
                    term = gv * combo[k][2]
                    for j in range(nd):
                        if j != k:
                            term = term * weights[j]
                    dcoord[k] += term
        grad_input = grad_grid = None
        if need_input:
            lin = xp.concatenate([a.reshape(-1) for a in lins])
            vals = xp.concatenate([v.reshape(-1) for v in values])
            shape = (n,) + tuple(spatial) + (c,)
            acc = scatter_add_new(shape, input.dtype, lin, vals)
            order = (0, nd + 1) + tuple(range(1, nd + 1))
            grad_input = xp.ascontiguousarray(acc.transpose(order))
        if need_grid:
            grad_grid = xp.zeros_like(grid)
            if ctx.mode != "nearest":
                for k in range(nd):
                    grad_grid[..., nd - 1 - k] = dcoord[k] * mults[k]
        return grad_input, grad_grid, None, None, None


class GridSampler2D(GridSampler):
    _name = "GridSampler2DBackward0"


class GridSampler3D(GridSampler):
    _name = "GridSampler3DBackward0"


@autocast_op("grid_sampler")
def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    """Sample ``input`` at the normalized locations in ``grid`` (``-1`` and ``1`` are the
    image's edges, or its corner pixels' centres with ``align_corners``).

    Args:
        input: ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        grid: ``(N, H_out, W_out, 2)`` or ``(N, D_out, H_out, W_out, 3)``, last dim ``(x, y[,
            z])``.
        mode: ``'bilinear'``, ``'nearest'`` or ``'bicubic'`` (4-D input only).
        padding_mode: ``'zeros'``, ``'border'`` or ``'reflection'`` for outside points.
        align_corners: default False (with a warning, as torch).

    Returns:
        ``(N, C, H_out, W_out)`` or ``(N, C, D_out, H_out, W_out)``.
    """
    if mode not in _MODES:
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', "
                         f"'nearest' or 'bicubic', but got: '{mode}'")
    if padding_mode not in _PADDINGS:
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', "
                         f"'border', or 'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_DEFAULT_WARNING, stacklevel=2)
        align_corners = False
    if input.device != grid.device:
        raise RuntimeError("grid_sampler(): expected input and grid to be on same device, but "
                           f"input is on {input.device} and grid is on {grid.device}")
    if input.dtype != grid.dtype:
        raise RuntimeError(f"expected scalar type {type_name(input._data.dtype)} but found "
                           f"{type_name(grid._data.dtype)}")
    if input.ndim not in (4, 5) or grid.ndim != input.ndim:
        raise RuntimeError("grid_sampler(): expected 4D or 5D input and grid with same number "
                           f"of dimensions, but got input with sizes {list(input.shape)} and "
                           f"grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError("grid_sampler(): expected grid and input to have same batch size, "
                           f"but got input with sizes {list(input.shape)} and grid with sizes "
                           f"{list(grid.shape)}")
    nd = input.ndim - 2
    if grid.shape[-1] != nd:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {nd} in last "
                           f"dimension, but got grid with sizes {list(grid.shape)}")
    for d in range(2, input.ndim):
        if input.shape[d] == 0:
            raise RuntimeError("grid_sampler(): expected input to have non-empty spatial "
                               f"dimensions, but input has sizes {list(input.shape)} with "
                               f"dimension {d} being empty")
    if mode == "bicubic" and nd != 2:
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.is_floating_point():
        kernel = "grid_sampler_2d_cpu_kernel_impl" if nd == 2 else "grid_sampler_3d_cpu"
        raise NotImplementedError(f'"{kernel}" not implemented for '
                                  f"'{type_name(input._data.dtype)}'")
    fn = GridSampler2D if nd == 2 else GridSampler3D
    return fn.apply(input, grid, mode, padding_mode, bool(align_corners))


# --------------------------------------------------------------------------- affine_grid

def _base_grid(xp, spatial, align_corners, dtype):
    """``(prod(spatial), d + 1)`` rows ``(x, y[, z], 1)`` of normalized output positions."""
    axes = []
    for n in spatial:
        if n <= 1:
            axes.append(xp.zeros(n, dtype=dtype))
            continue
        line = xp.linspace(-1, 1, n, dtype=dtype)
        axes.append(line if align_corners else line * ((n - 1) / n))
    mesh = xp.meshgrid(*axes, indexing="ij")
    cols = [m.reshape(-1) for m in reversed(mesh)]  # x (last dim) first
    cols.append(xp.ones(math.prod(spatial), dtype=dtype))
    return xp.stack(cols, axis=1)


class AffineGridGenerator(Primitive):
    _name = "AffineGridGeneratorBackward0"

    def forward(ctx, theta, size, align_corners):
        xp = array_module(theta)
        spatial = tuple(size[2:])
        base = _base_grid(xp, spatial, align_corners, theta.dtype)
        ctx.base = base
        out = xp.matmul(base, theta.transpose(0, 2, 1))  # (N, P, d)
        return out.reshape((size[0],) + spatial + (len(spatial),))

    def backward(ctx, grad):
        xp = array_module(grad)
        n, d = grad.shape[0], grad.shape[-1]
        g = grad.reshape(n, -1, d)
        return xp.matmul(g.transpose(0, 2, 1), ctx.base)


def affine_grid(theta: Tensor, size, align_corners: bool | None = None) -> Tensor:
    """The sampling grid of the affine maps ``theta`` for :func:`grid_sample`.

    Args:
        theta: ``(N, 2, 3)`` (2-D) or ``(N, 3, 4)`` (3-D) affine matrices.
        size: the output image size ``(N, C, H, W)`` or ``(N, C, D, H, W)``.
        align_corners: as in :func:`grid_sample` (default False, with a warning).

    Returns:
        ``(N, H, W, 2)`` or ``(N, D, H, W, 3)``.
    """
    if align_corners is None:
        warnings.warn(_DEFAULT_WARNING, stacklevel=2)
        align_corners = False
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = tuple(int(s) for s in size)
    if len(size) == 4:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (2, 3):
            raise ValueError("Expected a batch of 2D affine matrices of shape Nx2x3 for size "
                             f"{size}. Got {theta.shape}.")
    elif len(size) == 5:
        if theta.ndim != 3 or tuple(theta.shape[-2:]) != (3, 4):
            raise ValueError("Expected a batch of 3D affine matrices of shape Nx3x4 for size "
                             f"{size}. Got {theta.shape}.")
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D "
                                  f"affine transforms, respectively. Got size {size}.")
    spatial = size[2:]
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size "
                      "grids when align_corners=True. This is not an intended use case of "
                      "affine_grid. See the documentation of affine_grid for details.",
                      stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        k = len(spatial) + 1
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {k}] but got: [{theta.shape[0]}, {k}].")
    return AffineGridGenerator.apply(theta, size=size, align_corners=bool(align_corners))
