"""SyncBatchNorm: batch normalization whose statistics cover the whole global batch.

In training, the per-channel mean and variance are computed over every rank's rows (two
all-reduces: sums and row counts, then squared deviations), so a model trained with DDP sees
the same normalization as one process on the global batch, even when ranks hold different
numbers of rows. Backward all-reduces the two per-channel sums that the input gradient needs;
weight and bias gradients stay local and DDP combines them like any other parameter's.
"""

from __future__ import annotations

from dist_torch.autograd.function import Primitive
from dist_torch.backend import array_module
from dist_torch.nn.modules.batchnorm import _BatchNorm
from dist_torch.ops.norm import _narrow, _widen, update_running_stats

__all__ = ["SyncBatchNorm"]


def _allreduce_sum(group, array):
    from dist_torch.distributed.process_group import ReduceOp
    group.allreduce([array], ReduceOp.SUM).wait()
    return array


class SyncBatchNormFunction(Primitive):
    """Training-mode batch norm over the rows of every rank in ``group``."""

    _name = "SyncBatchNormBackward"

    def forward(ctx, x, weight, bias, running_mean, running_var, momentum, eps, group):
        xp = array_module(x)
        c = x.shape[1]
        axes = (0,) + tuple(range(2, x.ndim))
        shape = (1, c) + (1,) * (x.ndim - 2)
        work = _widen(x)
        local_rows = x.size // c if c else 0
        sums = xp.empty(c + 1, dtype=work.dtype)
        sums[:c] = work.sum(axis=axes)
        sums[c] = local_rows
        _allreduce_sum(group, sums)
        n = int(round(float(sums[c])))
        if n <= 1:
            raise ValueError("Expected more than 1 value per channel when training, got input "
                             f"size {list(x.shape)} on this rank and {n} values per channel "
                             "across all ranks")
        mean = sums[:c] / n
        xhat = work - mean.reshape(shape)
        var = _allreduce_sum(group, (xhat * xhat).sum(axis=axes)) / n
        invstd = 1.0 / xp.sqrt(var + eps)
        xhat *= invstd.reshape(shape)
        update_running_stats(running_mean, running_var, mean, var * (n / (n - 1)), momentum)
        out = xhat * weight.reshape(shape) if weight is not None else xhat.copy()
        if bias is not None:
            out += bias.reshape(shape)
        ctx.axes, ctx.shape, ctx.n, ctx.group = axes, shape, n, group
        ctx.save_for_backward(xhat, invstd, weight)
        return _narrow(out, x.dtype)

    def backward(ctx, grad):
        xhat, invstd, weight = ctx.saved_tensors
        needs = ctx.needs_input_grad
        axes, shape, n = ctx.axes, ctx.shape, ctx.n
        g = _widen(grad)
        c = xhat.shape[1]
        local = array_module(g).empty(2 * c, dtype=g.dtype)
        local[:c] = g.sum(axis=axes)
        local[c:] = (g * xhat).sum(axis=axes)
        grad_w = local[c:].copy() if needs[1] else None  # local: DDP combines parameters
        grad_b = local[:c].copy() if len(needs) > 2 and needs[2] else None
        _allreduce_sum(ctx.group, local)  # every rank runs this, whatever it needs
        grad_x = None
        if needs[0]:
            scale = invstd if weight is None else weight * invstd
            grad_x = xhat * (local[c:] / n).reshape(shape)
            grad_x += (local[:c] / n).reshape(shape)
            array_module(g).subtract(g, grad_x, out=grad_x)
            grad_x *= scale.reshape(shape)
        return grad_x, grad_w, grad_b


class SyncBatchNorm(_BatchNorm):
    """BatchNorm over ``(N, C, *)`` inputs with statistics synchronized across the ranks of
    ``process_group`` in training mode (eval mode uses the running statistics, locally).

    Example::

        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = DistributedDataParallel(model)
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype)
        self.process_group = process_group

    def _check_input_dim(self, input):
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, input):
        self._check_input_dim(input)
        if input.shape[1] != self.num_features:
            raise ValueError(f"SyncBatchNorm expected input with {self.num_features} channels, "
                             f"got input of size {list(input.shape)}")
        if not self.training:
            return super().forward(input)
        from dist_torch import distributed as dist
        if not dist.is_initialized():
            return super().forward(input)  # one process: plain batch norm
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        group = dist._resolve_group(self.process_group)
        return SyncBatchNormFunction.apply(
            input, self.weight, self.bias,
            None if self.running_mean is None else self.running_mean._data,
            None if self.running_var is None else self.running_var._data,
            momentum=factor, eps=self.eps, group=group)

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """A copy of ``module``'s tree with every BatchNorm*d replaced by SyncBatchNorm (same
        parameters, buffers and training mode); other modules are kept as they are."""
        converted = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            converted = cls(module.num_features, module.eps, module.momentum, module.affine,
                            module.track_running_stats, process_group)
            if module.affine:
                converted.weight = module.weight
                converted.bias = module.bias
            converted.running_mean = module.running_mean
            converted.running_var = module.running_var
            converted.num_batches_tracked = module.num_batches_tracked
            converted.training = module.training
        for name, child in module.named_children():
            converted.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return converted
