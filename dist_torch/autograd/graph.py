"""torch.autograd.graph: the Node type that ``grad_fn`` objects are instances of."""

from dist_torch.autograd.function import Node

__all__ = ["Node"]
