"""Tensor printing (stub: being written)."""

import numpy as np


def tensor_repr(t):
    return f"tensor({np.array2string(np.asarray(t._data))})"
