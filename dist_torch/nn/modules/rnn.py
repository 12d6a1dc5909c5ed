"""Recurrent layers: RNN, LSTM, GRU and their single-step cells.

Each layer and direction projects the whole input sequence with one GEMM, then runs the fused
:class:`dist_torch.ops.rnn.Recurrence` primitive over the time steps (one batched GEMM per
step, backpropagation through time in one backward node).
"""

from __future__ import annotations

import math
import numbers
import warnings

from dist_torch.nn import init
from dist_torch.nn.functional.dropout import dropout as _dropout
from dist_torch.nn.modules.module import Module
from dist_torch.nn.parameter import Parameter
from dist_torch.ops.linear import linear
from dist_torch.ops.rnn import GATES, recurrence

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]


def _size_str(shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ")"


class RNNBase(Module):
    """Shared machinery of RNN, LSTM and GRU: parameters, argument checks and the layer loop.

    ``mode`` is one of ``'RNN_TANH'``, ``'RNN_RELU'``, ``'LSTM'``, ``'GRU'``.
    """

    _MODES = {"RNN_TANH": "tanh", "RNN_RELU": "relu", "LSTM": "lstm", "GRU": "gru"}

    def __init__(self, mode: str, input_size: int, hidden_size: int, num_layers: int = 1,
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0,
                 bidirectional: bool = False, proj_size: int = 0, device=None, dtype=None):
        super().__init__()
        from dist_torch._creation import empty
        self.mode = mode
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.bidirectional = bidirectional
        self.proj_size = proj_size
        num_directions = 2 if bidirectional else 1
        if not isinstance(dropout, numbers.Number) or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        self.dropout = float(dropout)
        if not isinstance(hidden_size, int) or isinstance(hidden_size, bool):
            raise TypeError(f"hidden_size should be of type int, got: "
                            f"{type(hidden_size).__name__}")
        if hidden_size <= 0:
            raise ValueError("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ValueError("num_layers must be greater than zero")
        if proj_size < 0:
            raise ValueError("proj_size should be a positive integer or zero to disable "
                             "projections")
        if proj_size >= hidden_size:
            raise ValueError("proj_size has to be smaller than hidden_size")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=2)
        if mode not in self._MODES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        gate_size = GATES[self._MODES[mode]] * hidden_size
        real_hidden = proj_size if proj_size > 0 else hidden_size
        names = []
        for layer in range(num_layers):
            for direction in range(num_directions):
                layer_input = input_size if layer == 0 else real_hidden * num_directions
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, real_hidden))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if proj_size > 0:
                    shapes.append(("weight_hr", (proj_size, hidden_size)))
                for name, shape in shapes:
                    setattr(self, name + suffix,
                            Parameter(empty(shape, device=device, dtype=dtype)))
                    names.append(name + suffix)
        self._flat_weights_names = names
        self._all_weights = [names[i:i + len(names) // (num_layers * num_directions)]
                             for i in range(0, len(names),
                                            len(names) // (num_layers * num_directions))]
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def flatten_parameters(self) -> None:
        """Kept for torch compatibility (parameters are used as they are)."""

    @property
    def _flat_weights(self):
        return [getattr(self, name) for name in self._flat_weights_names]

    @property
    def all_weights(self):
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s

    # ------------------------------------------------------------------ forward

    def _check_input(self, input, batched):
        expected = 3 if batched else 2
        if input.dim() != expected:
            raise RuntimeError(f"input must have {expected} dimensions, got {input.dim()}")
        if self.input_size != input.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {input.size(-1)}")

    def _expected_hidden(self, input, proj=True):
        mini_batch = input.size(0) if self.batch_first else input.size(1)
        directions = 2 if self.bidirectional else 1
        size = self.proj_size if proj and self.proj_size > 0 else self.hidden_size
        return (self.num_layers * directions, mini_batch, size)

    @staticmethod
    def _check_hidden_size(hx, expected, msg="Expected hidden size {}, got {}"):
        if tuple(hx.shape) != expected:
            raise RuntimeError(msg.format(_size_str(expected), list(hx.shape)))

    def _check_dims(self, input):
        if input.dim() not in (2, 3):
            what = "tensor " if self.mode.startswith("RNN") else ""
            raise ValueError(f"{type(self).__name__}: Expected input to be 2D or 3D, got "
                             f"{input.dim()}D {what}instead")
        weight = self.weight_ih_l0
        if input.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({input.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({input.dtype})")

    def _run(self, x, h0, c0):
        """``x`` ``(T, B, I)``; ``h0``/``c0`` ``(L*D, B, *)`` or None. Returns the output
        sequence and the stacked final states."""
        from dist_torch.ops.join import cat, stack
        if x.size(0) == 0:
            raise RuntimeError("Expected sequence length to be larger than 0 in RNN")
        mode = self._MODES[self.mode]
        directions = 2 if self.bidirectional else 1
        per_dir = len(self._flat_weights_names) // (self.num_layers * directions)
        weights = self._flat_weights
        h_last, c_last = [], []
        layer_input = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                idx = layer * directions + d
                w = weights[idx * per_dir:(idx + 1) * per_dir]
                w_ih, w_hh = w[0], w[1]
                b_ih, b_hh = (w[2], w[3]) if self.bias else (None, None)
                w_hr = w[-1] if self.proj_size > 0 else None
                xproj = linear(layer_input, w_ih, b_ih)
                result = recurrence(xproj, None if h0 is None else h0[idx],
                                    None if c0 is None else c0[idx], w_hh, b_hh, w_hr, mode,
                                    reverse=d == 1)
                outs.append(result[0])
                h_last.append(result[1])
                if mode == "lstm":
                    c_last.append(result[2])
            layer_input = outs[0] if directions == 1 else cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = _dropout(layer_input, self.dropout, True)
        return layer_input, stack(h_last, 0), (stack(c_last, 0) if c_last else None)

    def _forward(self, input, hx):
        self._check_dims(input)
        batched = input.dim() == 3
        is_lstm = self.mode == "LSTM"
        batch_dim = 0 if self.batch_first else 1
        if not batched:
            input = input.unsqueeze(batch_dim)  # noqa: A001
            if hx is not None:
                if is_lstm:
                    if hx[0].dim() != 2 or hx[1].dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx and cx should also be "
                                           f"2-D but got ({hx[0].dim()}-D, {hx[1].dim()}-D) "
                                           "tensors")
                    hx = (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
                else:
                    if hx.dim() != 2:
                        raise RuntimeError(f"For unbatched 2-D input, hx should also be 2-D but "
                                           f"got {hx.dim()}-D tensor")
                    hx = hx.unsqueeze(1)
        elif hx is not None:
            if is_lstm:
                if hx[0].dim() != 3 or hx[1].dim() != 3:
                    raise RuntimeError(f"For batched 3-D input, hx and cx should also be 3-D "
                                       f"but got ({hx[0].dim()}-D, {hx[1].dim()}-D) tensors")
            elif hx.dim() != 3:
                raise RuntimeError(f"For batched 3-D input, hx should also be 3-D but got "
                                   f"{hx.dim()}-D tensor")
        self._check_input(input, True)
        if hx is not None:
            if is_lstm:
                self._check_hidden_size(hx[0], self._expected_hidden(input),
                                        "Expected hidden[0] size {}, got {}")
                self._check_hidden_size(hx[1], self._expected_hidden(input, proj=False),
                                        "Expected hidden[1] size {}, got {}")
            else:
                self._check_hidden_size(hx, self._expected_hidden(input))
        x = input.transpose(0, 1) if self.batch_first else input
        h0, c0 = (hx if is_lstm else (hx, None)) if hx is not None else (None, None)
        output, h_n, c_n = self._run(x, h0, c0)
        if self.batch_first:
            output = output.transpose(0, 1)
        if not batched:
            output = output.squeeze(batch_dim)
            h_n = h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        return output, ((h_n, c_n) if is_lstm else h_n)

    def _run_packed(self, data, batch_sizes, h0, c0):
        """Packed ``data`` ``(N, I)`` with ``batch_sizes`` (NumPy); ``h0``/``c0`` sorted like
        the batch or None. Runs one fused recurrence per stretch of equal batch size (one
        per distinct sequence length), never one per time step."""
        from dist_torch._creation import zeros
        from dist_torch.ops.join import cat, stack
        mode = self._MODES[self.mode]
        directions = 2 if self.bidirectional else 1
        per_dir = len(self._flat_weights_names) // (self.num_layers * directions)
        weights = self._flat_weights
        batch = int(batch_sizes[0])
        real_hidden = self.proj_size if self.proj_size > 0 else self.hidden_size
        if h0 is None:
            h0 = zeros((self.num_layers * directions, batch, real_hidden), dtype=data.dtype,
                       device=data.device)
        if mode == "lstm" and c0 is None:
            c0 = zeros((self.num_layers * directions, batch, self.hidden_size),
                       dtype=data.dtype, device=data.device)
        starts = [0] + [t for t in range(1, len(batch_sizes))
                        if batch_sizes[t] != batch_sizes[t - 1]]
        ends = starts[1:] + [len(batch_sizes)]
        offsets = [0]
        for size in batch_sizes:
            offsets.append(offsets[-1] + int(size))
        segments = [(t0, t1, int(batch_sizes[t0])) for t0, t1 in zip(starts, ends)]
        h_last, c_last = [], []
        layer_input = data
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                idx = layer * directions + d
                w = weights[idx * per_dir:(idx + 1) * per_dir]
                b_hh = w[3] if self.bias else None
                w_hr = w[-1] if self.proj_size > 0 else None
                xproj = linear(layer_input, w[0], w[2] if self.bias else None)
                width = xproj.size(1)
                pieces = [None] * len(segments)
                h, c = h0[idx], (c0[idx] if mode == "lstm" else None)
                order = range(len(segments)) if d == 0 else range(len(segments) - 1, -1, -1)
                done_h, done_c = [], []
                rows = 0
                for k in order:
                    t0, t1, size = segments[k]
                    xs = xproj[offsets[t0]:offsets[t1]].reshape(t1 - t0, size, width)
                    if d == 0:  # shrinking batch: the first `size` rows go on
                        h_in = h[:size]
                        c_in = c[:size] if c is not None else None
                    else:  # growing batch: sequences ending here start from h0
                        h_in = h0[idx][:size] if rows == 0 else \
                            cat([h, h0[idx][rows:size]], 0)
                        c_in = None if c is None else (
                            c0[idx][:size] if rows == 0 else cat([c, c0[idx][rows:size]], 0))
                    result = recurrence(xs, h_in, c_in, w[1], b_hh, w_hr, mode,
                                        reverse=d == 1)
                    pieces[k] = result[0].reshape(-1, result[0].size(2))
                    h = result[1]
                    c = result[2] if mode == "lstm" else None
                    rows = size
                    if d == 0:
                        following = segments[k + 1][2] if k + 1 < len(segments) else 0
                        done_h.append(h[following:])
                        if c is not None:
                            done_c.append(c[following:])
                if d == 0:
                    h = cat(done_h[::-1], 0)
                    c = cat(done_c[::-1], 0) if done_c else None
                outs.append(cat(pieces, 0))
                h_last.append(h)
                if mode == "lstm":
                    c_last.append(c)
            layer_input = outs[0] if directions == 1 else cat(outs, 1)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = _dropout(layer_input, self.dropout, True)
        return layer_input, stack(h_last, 0), (stack(c_last, 0) if c_last else None)

    def _forward_packed(self, packed, hx):
        import numpy as np

        from dist_torch.nn.utils.rnn import PackedSequence
        data, batch_sizes, sorted_indices, unsorted_indices = packed
        weight = self.weight_ih_l0
        if data.dtype != weight.dtype:
            raise ValueError(f"RNN input dtype ({data.dtype}) does not match weight dtype "
                             f"({weight.dtype}). Convert input: input.to({weight.dtype}), or "
                             f"convert model: model.to({data.dtype})")
        if data.dim() != 2:
            raise RuntimeError(f"input must have 2 dimensions, got {data.dim()}")
        if self.input_size != data.size(-1):
            raise RuntimeError(f"input.size(-1) must be equal to input_size. Expected "
                               f"{self.input_size}, got {data.size(-1)}")
        sizes = np.asarray(batch_sizes.numpy(), dtype=np.int64)
        batch = int(sizes[0])
        directions = 2 if self.bidirectional else 1
        is_lstm = self.mode == "LSTM"
        h0 = c0 = None
        if hx is not None:
            h0, c0 = hx if is_lstm else (hx, None)
            if sorted_indices is not None:
                h0 = h0.index_select(1, sorted_indices)
                c0 = c0.index_select(1, sorted_indices) if c0 is not None else None
            size = self.proj_size if self.proj_size > 0 else self.hidden_size
            expected = (self.num_layers * directions, batch, size)
            if is_lstm:
                self._check_hidden_size(h0, expected, "Expected hidden[0] size {}, got {}")
                self._check_hidden_size(c0, expected[:2] + (self.hidden_size,),
                                        "Expected hidden[1] size {}, got {}")
            else:
                self._check_hidden_size(h0, expected)
        output, h_n, c_n = self._run_packed(data, sizes, h0, c0)
        if unsorted_indices is not None:
            h_n = h_n.index_select(1, unsorted_indices)
            c_n = c_n.index_select(1, unsorted_indices) if c_n is not None else None
        packed_out = PackedSequence(output, batch_sizes, sorted_indices, unsorted_indices)
        return packed_out, ((h_n, c_n) if is_lstm else h_n)

    def forward(self, input, hx=None):
        from dist_torch.nn.utils.rnn import PackedSequence
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        return self._forward(input, hx)


class RNN(RNNBase):
    """Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)`` (or ReLU).

    Args:
        input_size, hidden_size: feature sizes of ``x`` and ``h``.
        num_layers: stacked layers (default 1).
        nonlinearity: ``'tanh'`` or ``'relu'``.
        bias: use ``b_ih`` and ``b_hh``.
        batch_first: input/output are ``(N, L, H)`` instead of ``(L, N, H)``.
        dropout: dropout on the outputs of every layer but the last (training only).
        bidirectional: also run each layer backwards and concatenate.

    Shape:
        input ``(L, N, H_in)`` (or unbatched ``(L, H_in)``), ``h_0`` ``(D*num_layers, N,
        H_out)``; returns ``(output (L, N, D*H_out), h_n (D*num_layers, N, H_out))``.

    Example::

        >>> rnn = torch.nn.RNN(10, 20, 2)
        >>> out, h_n = rnn(torch.randn(5, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None,
                 **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"RNN got unexpected keyword arguments {sorted(kwargs)}")
        if nonlinearity == "tanh":
            mode = "RNN_TANH"
        elif nonlinearity == "relu":
            mode = "RNN_RELU"
        else:
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity  # torch's repr leaves it out


class LSTM(RNNBase):
    """Long short-term memory (gates ``i, f, g, o``), optionally with projections.

    Args as :class:`RNN` (no ``nonlinearity``) plus ``proj_size``: project ``h`` to this
    size with ``weight_hr`` (0: no projection).

    Shape:
        returns ``(output, (h_n, c_n))``; ``hx`` is a pair ``(h_0, c_0)``.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit (gates ``r, z, n``; ``n = tanh(W_in x + b_in + r * (W_hn h +
    b_hn))``). Args and shapes as :class:`RNN` (no ``nonlinearity``)."""

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None, **kwargs):
        if "proj_size" in kwargs:
            raise ValueError("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kwargs:
            raise TypeError(f"GRU got unexpected keyword arguments {sorted(kwargs)}")
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# --------------------------------------------------------------------------- cells

class RNNCellBase(Module):
    """Parameters ``weight_ih``, ``weight_hh``, ``bias_ih``, ``bias_hh`` of one cell."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool, num_chunks: int,
                 device=None, dtype=None):
        super().__init__()
        from dist_torch._creation import empty
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bias
        self.weight_ih = Parameter(empty((num_chunks * hidden_size, input_size), device=device,
                                         dtype=dtype))
        self.weight_hh = Parameter(empty((num_chunks * hidden_size, hidden_size),
                                         device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
            self.bias_hh = Parameter(empty(num_chunks * hidden_size, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        stdv = 1.0 / math.sqrt(self.hidden_size) if self.hidden_size > 0 else 0
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        nonlinearity = getattr(self, "nonlinearity", "tanh")
        if nonlinearity != "tanh":
            s += f", nonlinearity={nonlinearity}"
        return s

    def _prepare(self, input, hx_list):
        """Validate; return the batched input and states (unsqueezed when unbatched)."""
        if input.dim() not in (1, 2):
            raise ValueError(f"{type(self).__name__}: Expected input to be 1D or 2D, got "
                             f"{input.dim()}D instead")
        for h in hx_list:
            if h is not None and h.dim() not in (1, 2):
                raise ValueError(f"{type(self).__name__}: Expected hidden to be 1D or 2D, got "
                                 f"{h.dim()}D instead")
        batched = input.dim() == 2
        if not batched:
            input = input.unsqueeze(0)  # noqa: A001
            hx_list = [None if h is None else h.unsqueeze(0) for h in hx_list]
        if input.size(1) != self.input_size:
            raise RuntimeError(f"input has inconsistent input_size: got {input.size(1)} "
                               f"expected {self.input_size}")
        for i, h in enumerate(hx_list):
            if h is None:
                continue
            if input.size(0) != h.size(0):
                raise RuntimeError(f"Input batch size {input.size(0)} doesn't match hidden{i} "
                                   f"batch size {h.size(0)}")
            if h.size(1) != self.hidden_size:
                raise RuntimeError(f"hidden{i} has inconsistent hidden_size: got {h.size(1)}, "
                                   f"expected {self.hidden_size}")
        return input, hx_list, batched

    def _step(self, input, h, c, mode):
        xproj = linear(input, self.weight_ih, self.bias_ih).unsqueeze(0)
        return recurrence(xproj, h, c, self.weight_hh, self.bias_hh, None, mode)


class RNNCell(RNNCellBase):
    """One step of an Elman RNN: ``h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Shape: input ``(N, H_in)`` or ``(H_in)``, hidden ``(N, H)``; returns ``h'``.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 nonlinearity: str = "tanh", device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device,
                         dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        if self.nonlinearity not in ("tanh", "relu"):
            raise RuntimeError(f"Unknown nonlinearity: {self.nonlinearity}")
        x, (h,), batched = self._prepare(input, [hx])
        out = self._step(x, h, None, self.nonlinearity)[1]
        return out if batched else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step; ``hx`` is ``(h, c)``; returns ``(h', c')``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        states = [None, None] if hx is None else list(hx)
        x, (h, c), batched = self._prepare(input, states)
        _, h1, c1 = self._step(x, h, c, "lstm")
        return (h1, c1) if batched else (h1.squeeze(0), c1.squeeze(0))


class GRUCell(RNNCellBase):
    """One GRU step; returns ``h'``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device,
                         dtype=dtype)

    def forward(self, input, hx=None):
        x, (h,), batched = self._prepare(input, [hx])
        out = self._step(x, h, None, "gru")[1]
        return out if batched else out.squeeze(0)
