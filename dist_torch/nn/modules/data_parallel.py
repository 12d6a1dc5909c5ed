"""DataParallel: single-process data parallelism over the visible GPUs.

The batch is split along ``dim`` over ``device_ids``, the module is replicated on each of
those devices (its parameters copied through differentiable ``.to`` calls, so gradients flow
back to the originals), the replicas run one after the other (not in threads: a GPU runs
its kernels asynchronously anyway) and the outputs are concatenated on ``output_device``.
Without CUDA the wrapper simply calls the module, as torch does.
"""

from __future__ import annotations

import warnings

import dist_torch as _dt
from dist_torch._tensor import Tensor
from dist_torch.nn.modules.module import Module

__all__ = ["DataParallel"]


def _index(device) -> int:
    from dist_torch.cuda._utils import _get_device_index
    return _get_device_index(device, optional=True)


def _is_namedtuple(obj) -> bool:
    return isinstance(obj, tuple) and hasattr(obj, "_asdict") and hasattr(obj, "_fields")


def _scatter(obj, devices, dim):
    """``obj`` split into one piece per device (fewer when a tensor has fewer chunks):
    tensors are chunked along ``dim``, containers split element-wise, anything else shared."""
    if isinstance(obj, Tensor):
        chunks = obj.chunk(len(devices), dim)
        return [chunk.to(_dt.device("cuda", d)) for chunk, d in zip(chunks, devices)]
    if _is_namedtuple(obj):
        return [type(obj)(*args) for args in zip(*(_scatter(o, devices, dim) for o in obj))]
    if isinstance(obj, tuple) and obj:
        return list(zip(*(_scatter(o, devices, dim) for o in obj)))
    if isinstance(obj, list) and obj:
        return [list(i) for i in zip(*(_scatter(o, devices, dim) for o in obj))]
    if isinstance(obj, dict) and obj:
        return [type(obj)(i) for i in zip(*(_scatter(o, devices, dim) for o in obj.items()))]
    return [obj for _ in devices]


def _scatter_kwargs(inputs, kwargs, devices, dim):
    inputs = _scatter(inputs, devices, dim) if inputs else []
    kwargs = _scatter(kwargs, devices, dim) if kwargs else []
    if len(inputs) < len(kwargs):
        inputs.extend(() for _ in range(len(kwargs) - len(inputs)))
    elif len(kwargs) < len(inputs):
        kwargs.extend({} for _ in range(len(inputs) - len(kwargs)))
    return tuple(inputs), tuple(kwargs)


def _gather(outputs, device, dim):
    """The replicas' outputs merged on ``device``: tensors concatenated along ``dim``
    (0-dim tensors stacked into a vector, with torch's warning), containers element-wise."""
    first = outputs[0]
    if isinstance(first, Tensor):
        target = _dt.device("cuda", device) if device >= 0 else _dt.device("cpu")
        moved = [o.to(target) for o in outputs]
        if all(o.dim() == 0 for o in moved):
            warnings.warn("Was asked to gather along dimension 0, but all input tensors were "
                          "scalars; will instead unsqueeze and return a vector.", stacklevel=3)
            return _dt.stack(moved)
        return _dt.cat(moved, dim)
    if first is None:
        return None
    if isinstance(first, dict):
        if not all(len(first) == len(o) for o in outputs):
            raise ValueError("All dicts must have the same number of keys")
        return type(first)((k, _gather([o[k] for o in outputs], device, dim)) for k in first)
    if _is_namedtuple(first):
        return type(first)._make(_gather(list(parts), device, dim) for parts in zip(*outputs))
    return type(first)(_gather(list(parts), device, dim) for parts in zip(*outputs))


def _replicate(module: Module, devices):
    """One shallow copy of the module tree per device, parameters and buffers copied there
    (differentiably: the copies' gradients reach the original parameters)."""
    tree = list(module.named_modules(remove_duplicate=True))
    replicas = []
    for d in devices:
        target = _dt.device("cuda", d)
        copies = {}
        for _, m in tree:
            r = object.__new__(type(m))
            r.__dict__.update(m.__dict__)
            object.__setattr__(r, "_parameters", {
                k: (None if p is None else p.to(target)) for k, p in m._parameters.items()})
            object.__setattr__(r, "_buffers", {
                k: (None if b is None else b.to(target)) for k, b in m._buffers.items()})
            object.__setattr__(r, "_is_replica", True)
            copies[id(m)] = r
        for _, m in tree:
            object.__setattr__(copies[id(m)], "_modules", {
                k: (None if c is None else copies[id(c)]) for k, c in m._modules.items()})
        replicas.append(copies[id(module)])
    return replicas


class DataParallel(Module):
    """Split each batch over several GPUs of this process, run a replica of ``module`` on
    each, and gather the outputs on ``output_device``.

    Args:
        module: the module to parallelise (its parameters must sit on ``device_ids[0]``).
        device_ids: CUDA devices to use (default: all).
        output_device: where the outputs are gathered (default: ``device_ids[0]``).
        dim: the batch dimension that inputs are split along and outputs joined along.

    Without CUDA it just calls ``module``. The replicas run sequentially in this thread
    (torch uses one thread per device).
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0):
        super().__init__()
        if not _dt.cuda.is_available():
            self.module = module
            self.device_ids = []
            return
        if device_ids is None:
            device_ids = list(range(_dt.cuda.device_count()))
        if output_device is None:
            output_device = device_ids[0]
        self.dim = dim
        self.module = module
        self.device_ids = [_index(d) for d in device_ids]
        self.output_device = _index(output_device)
        self.src_device_obj = _dt.device("cuda", self.device_ids[0])
        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs, **kwargs):
        if not self.device_ids:
            return self.module(*inputs, **kwargs)
        for t in (*self.module.parameters(), *self.module.buffers()):
            if t.device != self.src_device_obj:
                raise RuntimeError("module must have its parameters and buffers on device "
                                   f"{self.src_device_obj} (device_ids[0]) but found one of "
                                   f"them on device: {t.device}")
        inputs, module_kwargs = self.scatter(inputs, kwargs, self.device_ids)
        if not inputs and not module_kwargs:
            inputs, module_kwargs = ((),), ({},)
        if len(self.device_ids) == 1:
            return self.module(*inputs[0], **module_kwargs[0])
        replicas = self.replicate(self.module, self.device_ids[:len(inputs)])
        outputs = self.parallel_apply(replicas, inputs, module_kwargs)
        return self.gather(outputs, self.output_device)

    def replicate(self, module, device_ids):
        return _replicate(module, [_index(d) for d in device_ids])

    def scatter(self, inputs, kwargs, device_ids):
        return _scatter_kwargs(inputs, kwargs, [_index(d) for d in device_ids], self.dim)

    def parallel_apply(self, replicas, inputs, kwargs):
        outputs = []
        for replica, args, kw, d in zip(replicas, inputs, kwargs, self.device_ids):
            with _dt.cuda.device(d):
                outputs.append(replica(*args, **kw))
        return outputs

    def gather(self, outputs, output_device):
        return _gather(outputs, _index(output_device), self.dim)
