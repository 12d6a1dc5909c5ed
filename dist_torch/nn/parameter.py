"""nn.Parameter: a leaf tensor that a Module registers as one of its parameters."""

from __future__ import annotations

from dist_torch._tensor import Tensor, _wrap


class Parameter(Tensor):
    """A tensor that is a module parameter: assigning it to a Module attribute registers it.

    Shares storage with ``data``; requires grad unless ``requires_grad=False``.

    Example::

        >>> w = torch.nn.Parameter(torch.zeros(2))
        >>> w.requires_grad
        True
    """

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from dist_torch._creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter data must be a Tensor, got {type(data).__name__}")
        param = object.__new__(cls)
        param._data = data._data
        param._vc = data._version_counter()
        if requires_grad:
            param.requires_grad_(True)
        return param

    def __init__(self, data=None, requires_grad=True):
        pass

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return _rebuild_parameter, (Tensor.__reduce_ex__(self, protocol), self._requires_grad)

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        out = Parameter(_wrap(self._data.copy()), self._requires_grad)
        if self._grad is not None:
            out._grad = self._grad.__deepcopy__({})
        memo[id(self)] = out
        return out


def _rebuild_parameter(reduced, requires_grad):
    rebuild, args = reduced
    return Parameter(rebuild(*args), requires_grad)


class Buffer(Tensor):
    """Marks a tensor assigned to a Module attribute as a buffer (``nn.Buffer``)."""

    def __new__(cls, data=None, *, persistent=True):
        if data is None:
            from dist_torch._creation import empty
            data = empty(0)
        buf = object.__new__(cls)
        buf._data = data._data
        buf.persistent = persistent
        return buf

    def __init__(self, data=None, *, persistent=True):
        pass
