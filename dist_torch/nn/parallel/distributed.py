"""DistributedDataParallel: one model replica per rank, gradients all-reduced in buckets.

Construction checks that every rank holds the same parameters (names, shapes, dtypes) and
broadcasts rank 0's parameters and buffers. During backward, each parameter's
post-accumulate-grad hook marks it ready; a bucket whose parameters are all ready starts its
all-reduce asynchronously (in bucket order, identical on every rank) while backward goes on,
and the end of backward waits for every bucket and writes the reduced gradients back, so
``optimizer.step()`` sees them.

Two ways to combine the ranks' gradients:

- ``batch_weighting="equal"`` (torch's rule): the average over ranks. Exact when every rank
  holds the same number of rows (use :class:`~dist_torch.utils.data.DistributedSampler`).
- ``batch_weighting="rows"``: each rank's gradient is weighted by its share of the global
  batch's rows. With each global batch split across ranks
  (:class:`~dist_torch.utils.data.DistributedBatchSampler`) and a loss that is the mean over
  the rank's rows, the result equals the gradient of one process on the whole global batch,
  for any batch size and world size (a global batch of 10 on 3 ranks: 4, 3 and 3 rows).
  Forward counts the global rows (one small all-reduce) and scales the gradient flowing into
  the module's outputs by ``rows / global rows``, so every term of backward, including those
  that cross ranks inside SyncBatchNorm, carries the right weight; buckets are then summed.
"""

from __future__ import annotations

import contextlib

import numpy

from dist_torch._tensor import Tensor, _wrap
from dist_torch.autograd import grad_mode
from dist_torch.autograd.engine import queue_callback
from dist_torch.autograd.function import AccumulateGrad
from dist_torch.cuda import device_of
from dist_torch.nn.modules.module import Module
from dist_torch.nn.parallel._reducer import bucket_cap_bytes, build_buckets

__all__ = ["DistributedDataParallel"]

_WEIGHTINGS = ("equal", "rows")


def _distributed():
    from dist_torch import distributed
    return distributed


def _batch_rows(value):
    """Rows (size of dim 0) of the first tensor found in a forward's arguments."""
    if isinstance(value, Tensor):
        return value.shape[0] if value.dim() else 1
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        for item in value:
            rows = _batch_rows(item)
            if rows is not None:
                return rows
    return None


def _scale_gradients(value, scale: float) -> None:
    """Multiply the gradient that reaches each output tensor by ``scale``."""
    if isinstance(value, Tensor):
        if value.requires_grad:
            value.register_hook(lambda grad: grad * scale)
    elif isinstance(value, dict):
        for item in value.values():
            _scale_gradients(item, scale)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _scale_gradients(item, scale)


def _reachable_leaves(outputs) -> set:
    """ids of the leaf tensors whose AccumulateGrad nodes the outputs' graphs reach."""
    stack, seen, leaves = [], set(), set()

    def collect(value):
        if isinstance(value, Tensor):
            if value.grad_fn is not None:
                stack.append(value.grad_fn)
            elif value.requires_grad:
                leaves.add(id(value))
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                collect(item)

    collect(outputs)
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if type(node) is AccumulateGrad:
            leaves.add(id(node.variable))
            continue
        for edge in node._edges:
            if edge is not None:
                stack.append(edge[0])
    return leaves


class GradBucket:
    """What a communication hook receives: a flat gradient buffer and its parameters."""

    def __init__(self, bucket, is_last: bool):
        self._bucket = bucket
        self._is_last = is_last

    def index(self) -> int:
        return self._bucket.index

    def buffer(self) -> Tensor:
        return _wrap(self._bucket.buffer)

    def is_last(self) -> bool:
        return self._is_last

    def parameters(self) -> list:
        return list(self._bucket.params)

    def gradients(self) -> list:
        b = self._bucket
        return [_wrap(b.buffer[o:o + p.numel()].reshape(p._data.shape))
                for p, o in zip(b.params, b.offsets)]


class DistributedDataParallel(Module):
    """Data-parallel training of ``module`` over the ranks of a process group.

    Args:
        module: the model; every rank must build the same architecture.
        broadcast_buffers: broadcast rank 0's buffers (e.g. BatchNorm statistics) before each
            forward.
        process_group: the group to reduce over (default: the world).
        bucket_cap_mb: bucket size (default 25; the first bucket is capped at 1 MiB).
        find_unused_parameters: allow parameters that receive no gradient in an iteration.
            Without it, such a parameter is an error that names it.
        gradient_as_bucket_view: keep every bucket's buffer across iterations, with each
            ``param.grad`` a view of it, so that backward accumulates straight into the bucket
            (with ``zero_grad(set_to_none=False)``) and nothing is copied; a gradient tensor
            kept from an earlier iteration then changes with the bucket, as in torch.
            Without it each iteration packs the gradients into a new buffer (one copy) and
            ``param.grad`` becomes a view of that.
        batch_weighting: ``"equal"`` averages the ranks' gradients (torch's behaviour);
            ``"rows"`` weights each rank by its share of the global batch's rows (see the
            module docstring).

    Example::

        dist.init_process_group()
        model = DistributedDataParallel(Net())
        loss_fn(model(x), y).backward()   # gradients are averaged across ranks here
        optimizer.step()
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, init_sync: bool = True, process_group=None,
                 bucket_cap_mb=None, find_unused_parameters: bool = False,
                 check_reduction: bool = False, gradient_as_bucket_view: bool = False,
                 static_graph: bool = False, *, batch_weighting: str = "equal", **kwargs):
        super().__init__()
        if batch_weighting not in _WEIGHTINGS:
            raise ValueError(f"batch_weighting must be one of {_WEIGHTINGS}, got "
                             f"{batch_weighting!r}")
        dist = _distributed()
        self.module = module
        self.process_group = dist._resolve_group(process_group)
        self.dim = dim
        self.broadcast_buffers = broadcast_buffers
        self.find_unused_parameters = find_unused_parameters
        self.batch_weighting = batch_weighting
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        self._check_same_model(named)
        if init_sync:
            self._sync_module_states()
        self._param_names = {id(p): n for n, p in named}
        params = [p for _, p in reversed(named)]
        self._buckets = build_buckets(params, bucket_cap_bytes(bucket_cap_mb),
                                      as_view=gradient_as_bucket_view)
        self._bucket_of = {id(p): b for b in self._buckets for p in b.params}
        self._xp = self._buckets[0].xp if self._buckets else numpy
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._on_grad_ready)
                              for p in params]
        self._comm_hook = None
        self._comm_state = None
        self._join_active = False
        self._join_divide_by_initial = True
        self._active_ranks = self.process_group.size()
        self._reset_iteration()

    # ------------------------------------------------------------------ setup

    def _check_same_model(self, named) -> None:
        """Every rank must hold the same parameters; name the first difference otherwise."""
        signature = [(n, tuple(p.shape), p.dtype.name) for n, p in named]
        everyone = self.process_group.allgather_object(signature)
        reference = everyone[0]
        for rank, theirs in enumerate(everyone[1:], start=1):
            if theirs == reference:
                continue
            for i in range(max(len(reference), len(theirs))):
                ours_i = reference[i] if i < len(reference) else None
                theirs_i = theirs[i] if i < len(theirs) else None
                if ours_i == theirs_i:
                    continue
                raise RuntimeError(
                    "DistributedDataParallel: the model differs across ranks: "
                    f"{_describe(ours_i)} on rank 0 but {_describe(theirs_i)} on rank {rank} "
                    f"(parameter {i}; rank 0 has {len(reference)} parameters requiring grad, "
                    f"rank {rank} has {len(theirs)})")

    def _module_buffers(self):
        return [b for _, b in self.module.named_buffers()]

    def _sync_module_states(self, src: int = 0) -> None:
        arrays = [p._data for p in self.module.parameters()] + \
                 [b._data for b in self._module_buffers()]
        if arrays and self.process_group.size() > 1:
            self.process_group.broadcast(arrays, src=src).wait()

    def _sync_buffers(self) -> None:
        arrays = [b._data for b in self._module_buffers()]
        if arrays and self.process_group.size() > 1:
            self.process_group.broadcast(arrays, src=0).wait()

    # ------------------------------------------------------------------ forward

    def forward(self, *inputs, **kwargs):
        if self._join_active:
            self._active_ranks = self._allreduce_count(1)
            if self._join_throw and self._active_ranks < self.process_group.size():
                raise RuntimeError(f"Rank {self.process_group.rank()} detected that another "
                                   "rank exhausted its inputs (join with "
                                   "throw_on_early_termination=True)")
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._sync_buffers()
        scale = None
        if self.batch_weighting == "rows" and grad_mode.state.grad_enabled:
            # no count without autograd: evaluation under no_grad communicates nothing here
            rows = _batch_rows((inputs, kwargs))
            if rows is None:
                raise ValueError("batch_weighting='rows' needs a tensor argument whose first "
                                 "dimension is the batch")
            total = self._allreduce_count(rows)
            scale = rows / total if total else 0.0
        output = self.module(*inputs, **kwargs)
        self._expect_sync = grad_mode.state.grad_enabled and self.require_backward_grad_sync
        if scale is not None:
            _scale_gradients(output, scale)
        if self._expect_sync and self.find_unused_parameters:
            self._mark_unused(output)
        return output

    def _mark_unused(self, output) -> None:
        used = _reachable_leaves(output)
        for bucket in self._buckets:
            for p in bucket.params:
                if id(p) not in used and id(p) not in self._ready:
                    self._locally_unused.add(id(p))
                    # launched from backward only, so every rank issues buckets in the same
                    # place relative to other collectives (SyncBatchNorm's, say)
                    self._mark_ready(p, launch=False)

    # ------------------------------------------------------------------ backward

    def _reset_iteration(self) -> None:
        for bucket in self._buckets:
            bucket.reset()
        self._ready = set()
        self._locally_unused = set()
        self._next_bucket = 0
        self._callback_queued = False
        self._expect_sync = False

    def _on_grad_ready(self, param) -> None:
        if not self._expect_sync:
            return  # no_sync(), eval, or no forward through DDP: gradients stay local
        if id(param) in self._ready:
            if id(param) in self._locally_unused:
                raise RuntimeError(
                    f"DistributedDataParallel: parameter '{self._param_names[id(param)]}' "
                    "was found unused after forward but received a gradient in backward")
            raise RuntimeError(
                f"DistributedDataParallel: parameter '{self._param_names[id(param)]}' got a "
                "gradient twice in one iteration (backward called twice after one forward?)")
        self._mark_ready(param)

    def _mark_ready(self, param, launch: bool = True) -> None:
        if launch and not self._callback_queued:
            queue_callback(self._finalize)
            self._callback_queued = True
        self._ready.add(id(param))
        bucket = self._bucket_of[id(param)]
        bucket.pending -= 1
        if launch and bucket.pending == 0:
            self._launch_ready()

    def _launch_ready(self) -> None:
        buckets = self._buckets
        while self._next_bucket < len(buckets) and buckets[self._next_bucket].pending == 0:
            self._launch(buckets[self._next_bucket])
            self._next_bucket += 1

    def _launch(self, bucket) -> None:
        from dist_torch.distributed.process_group import ReduceOp
        is_last = bucket.index == len(self._buckets) - 1
        op = ReduceOp.SUM
        if self.batch_weighting == "rows" or self._comm_hook is not None:
            bucket.pack()  # rows: already weighted in backward; hooks divide themselves
        elif self._join_divide_by_initial or self._active_ranks == self.process_group.size():
            bucket.pack()
            op = ReduceOp.AVG  # divided on the communication thread, off backward's path
        else:
            bucket.pack(scale=1.0 / self._active_ranks)
        if self._comm_hook is not None:
            bucket.work = self._comm_hook(self._comm_state, GradBucket(bucket, is_last))
        else:
            bucket.work = self.process_group.allreduce([bucket.buffer], op)

    def _finalize(self) -> None:
        """End of backward: launch what is left, wait for every bucket, write gradients."""
        try:
            missing = [name for key, name in self._param_names.items()
                       if key not in self._ready]
            if missing:
                raise RuntimeError(
                    "DistributedDataParallel: these parameters received no gradient in this "
                    f"iteration: {', '.join(missing)}. Make sure every parameter takes part in "
                    "computing the loss, or pass find_unused_parameters=True.")
            self._launch_ready()
            unused_everywhere = self._globally_unused() if self.find_unused_parameters \
                else set()
            for bucket in self._buckets:
                bucket.unpack(self._wait(bucket), skip=unused_everywhere)
        finally:
            self._reset_iteration()
        _report_progress()

    def _wait(self, bucket):
        work = bucket.work
        if self._comm_hook is None:
            work.wait()
            return bucket.buffer
        result = work.wait()
        if isinstance(result, (list, tuple)):
            result = result[0]
        return result._data if isinstance(result, Tensor) else result

    def _globally_unused(self) -> set:
        """Parameters no rank used: their ``.grad`` is left as it was (torch's rule)."""
        from dist_torch.distributed.process_group import ReduceOp
        params = [p for b in self._buckets for p in b.params]
        used = self._int32([0 if id(p) in self._locally_unused else 1 for p in params])
        self.process_group.allreduce([used], ReduceOp.SUM).wait()
        return {id(p) for p, count in zip(params, used.tolist()) if count == 0}

    def _int32(self, values):
        """An int32 array of ``values`` for control all-reduces, on the parameters' device."""
        if not self._buckets:
            return numpy.asarray(values, dtype=numpy.int32)
        with device_of(self._buckets[0].params[0]):
            return self._xp.asarray(values, dtype=self._xp.int32)

    def _allreduce_count(self, value: int, op=None) -> int:
        from dist_torch.distributed.process_group import ReduceOp
        flag = self._int32([value])
        self.process_group.allreduce([flag], op or ReduceOp.SUM).wait()
        return int(flag[0])

    def _allreduce_max(self, value: int) -> int:
        from dist_torch.distributed.process_group import ReduceOp
        return self._allreduce_count(value, ReduceOp.MAX)

    # ------------------------------------------------------------------ user controls

    @contextlib.contextmanager
    def no_sync(self):
        """Accumulate gradients locally (no communication) inside the block.

        Example::

            with ddp.no_sync():
                loss_fn(ddp(x1), y1).backward()   # local only
            loss_fn(ddp(x2), y2).backward()       # reduces the sum of both
        """
        previous = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = previous

    @contextlib.contextmanager
    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False):
        """Train with uneven numbers of batches per rank.

        Inside the block every forward first counts the ranks still training. A rank that
        leaves the block (out of data) keeps answering the others' collectives with zero
        gradients until every rank has left, so no rank hangs. With
        ``divide_by_initial_world_size`` gradients are averaged over the whole world (zeros
        from finished ranks included); otherwise over the ranks still training.
        """
        if not enable:
            yield
            return
        self._join_active = True
        self._join_divide_by_initial = divide_by_initial_world_size
        self._join_throw = throw_on_early_termination
        try:
            yield
            still_training = self._allreduce_count(0)
            last_to_join = still_training == 0
            while still_training > 0:
                if throw_on_early_termination:
                    raise RuntimeError(f"Rank {self.process_group.rank()} exhausted all inputs "
                                       "(join with throw_on_early_termination=True)")
                self._shadow_iteration()
                still_training = self._allreduce_count(0)
            # ranks that stopped early kept stale parameters: take the last joiner's (torch)
            src = self._allreduce_max(self.process_group.rank() if last_to_join else -1)
            self._sync_module_states(src)
        finally:
            self._join_active = False
            self._join_divide_by_initial = True
            self._active_ranks = self.process_group.size()

    def _shadow_iteration(self) -> None:
        """The collectives one training iteration issues, with nothing to contribute."""
        from dist_torch.distributed.process_group import ReduceOp
        if self.broadcast_buffers and self.require_forward_param_sync:
            self._sync_buffers()
        if self.batch_weighting == "rows" and grad_mode.state.grad_enabled:
            self._allreduce_count(0)  # the forward's global row count
        for bucket in self._buckets:  # zeros (this rank's last gradients stay as they are)
            zeros = bucket.zeros()
            self.process_group.allreduce([zeros], ReduceOp.SUM).wait()
        if self.find_unused_parameters:
            used = self._int32([0] * sum(len(b.params) for b in self._buckets))
            self.process_group.allreduce([used], ReduceOp.SUM).wait()

    def register_comm_hook(self, state, hook) -> None:
        """Replace the bucket all-reduce by ``hook(state, bucket) -> Future`` whose value is
        the bucket's reduced (averaged) gradients, e.g. ``fp16_compress_hook``."""
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook can only be called once")
        self._comm_hook, self._comm_state = hook, state

    def extra_repr(self) -> str:
        return ""


def _describe(entry) -> str:
    if entry is None:
        return "no parameter"
    name, shape, dtype = entry
    return f"parameter '{name}' of shape {list(shape)} and dtype {dtype}"


def _report_progress() -> None:
    try:
        from dist_torch.distributed import _progress
    except ImportError:
        return
    _progress.report_progress()
