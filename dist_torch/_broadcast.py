"""Broadcasting rules shared by ops and the autograd engine."""

from __future__ import annotations


def broadcast_shapes(*shapes) -> tuple:
    """The shape that ``shapes`` broadcast to; RuntimeError naming both sizes otherwise."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for shape in shapes:
        offset = ndim - len(shape)
        for i, size in enumerate(shape):
            j = i + offset
            if out[j] == 1:
                out[j] = size
            elif size != 1 and size != out[j]:
                raise RuntimeError(
                    f"The size of tensor a ({out[j]}) must match the size of tensor b ({size}) "
                    f"at non-singleton dimension {j}")
    return tuple(out)


def sum_to_shape(grad, shape):
    """Sum ``grad`` over the dimensions along which ``shape`` was broadcast to grad's shape.

    Raises ValueError when ``shape`` does not broadcast to ``grad.shape``.
    """
    gshape = grad.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    if lead < 0:
        raise ValueError(f"shape {list(shape)} does not broadcast to {list(gshape)}")
    axes = list(range(lead))
    for i, size in enumerate(shape):
        gsize = gshape[i + lead]
        if size == 1 and gsize != 1:
            axes.append(i + lead)
        elif size != gsize:
            raise ValueError(f"shape {list(shape)} does not broadcast to {list(gshape)}")
    return grad.sum(axis=tuple(axes)).reshape(shape)
