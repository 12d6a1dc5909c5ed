"""AdaptiveLogSoftmaxWithLoss: the adaptive softmax of Grave et al. (2016)."""

from __future__ import annotations

from collections import namedtuple

import dist_torch as _dt
from dist_torch.nn.functional.activation import log_softmax
from dist_torch.nn.modules.container import ModuleList, Sequential
from dist_torch.nn.modules.linear import Linear
from dist_torch.nn.modules.module import Module

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax: frequent classes in a head, rare ones in smaller tail clusters.

    Args:
        in_features: size of each input sample.
        n_classes: number of classes (sorted by decreasing frequency).
        cutoffs: increasing class boundaries in ``[1, n_classes - 1]``: classes below
            ``cutoffs[0]`` sit in the head, each following range forms one cluster.
        div_value: cluster ``i`` (from 1) projects to ``in_features // div_value ** i``.
        head_bias: give the head a bias.

    ``forward(input, target)`` returns ``(output, loss)``: the target log-probabilities
    ``(N,)`` and their negative mean; :meth:`log_prob` gives all classes, :meth:`predict`
    the most likely one.
    """

    def __init__(self, in_features: int, n_classes: int, cutoffs, div_value: float = 4.0,
                 head_bias: bool = False, device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if len(cutoffs) == 0:
            raise ValueError("cutoffs should be a sequence of length larger than 0")
        if (cutoffs != sorted(cutoffs) or min(cutoffs) <= 0 or max(cutoffs) > n_classes - 1
                or len(set(cutoffs)) != len(cutoffs) or any(int(c) != c for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers sorted "
                             "in an increasing order, where each value is between 1 and "
                             "n_classes-1")
        factory = {"device": device, "dtype": dtype}
        self.in_features = in_features
        self.n_classes = n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        self.head = Linear(in_features, self.head_size, bias=head_bias, **factory)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hidden = int(in_features // (div_value ** (i + 1)))
            size = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hidden, bias=False, **factory),
                                        Linear(hidden, size, bias=False, **factory)))

    def reset_parameters(self) -> None:
        """Re-initialise the head and every tail projection."""
        self.head.reset_parameters()
        for i2h, h2o in self.tail:
            i2h.reset_parameters()
            h2o.reset_parameters()

    def forward(self, input_, target_):
        targ_dim = target_.dim()
        if targ_dim == 1:
            if input_.size(0) != target_.size(0):
                raise RuntimeError("Input and target should have the same size in the batch "
                                   "dimension.")
            if input_.dim() != 2:
                raise RuntimeError("1D target tensor expects 2D input tensors, but found "
                                   f"inputs with size {input_.size()}")
        elif targ_dim == 0:
            if input_.dim() != 1:
                raise RuntimeError("0D target tensor expects 1D input tensors, but found "
                                   f"inputs with size {input_.size()}")
        else:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        batched = targ_dim > 0
        input = input_ if batched else input_.unsqueeze(0)
        target = target_ if batched else target_.unsqueeze(0)
        if target.numel() and (bool((target < 0).any()) or bool(
                (target >= self.n_classes).any())):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but "
                               f"values in range [{target.min().item()}, "
                               f"{target.max().item()}] were found. ")
        # cluster of each row: 0 = head shortlist, i = tail cluster i - 1
        cluster = _dt.zeros_like(target)
        for bound in self.cutoffs[:-1]:
            cluster = cluster + (target >= bound).to(target.dtype)
        head_col = _dt.where(cluster == 0, target, cluster + (self.shortlist_size - 1))
        head_logprob = log_softmax(self.head(input), dim=1)
        output = head_logprob.gather(1, head_col.unsqueeze(1)).squeeze(1)
        for i in range(1, self.n_clusters + 1):
            rows = (cluster == i).nonzero().flatten()
            if rows.numel() == 0:
                continue
            relative = target.index_select(0, rows) - self.cutoffs[i - 1]
            logprob = log_softmax(self.tail[i - 1](input.index_select(0, rows)), dim=1)
            output = output.index_add(0, rows, logprob.gather(1, relative.unsqueeze(1))
                                      .squeeze(1))
        loss = (-output).mean()
        if not batched:
            output = output.squeeze(0)
        return _ASMoutput(output, loss)

    def _full_log_prob(self, input, head_output):
        head_logprob = log_softmax(head_output, dim=1)
        pieces = [head_logprob[:, :self.shortlist_size]]
        for i, tail in enumerate(self.tail):
            column = self.shortlist_size + i
            pieces.append(log_softmax(tail(input), dim=1)
                          + head_logprob[:, column:column + 1])
        return _dt.cat(pieces, dim=1)

    def log_prob(self, input):
        """Log-probabilities ``(N, n_classes)`` of every class."""
        return self._full_log_prob(input, self.head(input))

    def predict(self, input):
        """The most likely class of each row, ``(N,)`` (same as ``log_prob(input).argmax(1)``
        but only the head is needed where it already points into the shortlist)."""
        head_output = self.head(input)
        output = _dt.argmax(head_output, dim=1)
        outside = output >= self.shortlist_size
        if not bool(outside.any()):
            return output
        full = _dt.argmax(self._full_log_prob(input, head_output), dim=1)
        return _dt.where(outside, full, output)
