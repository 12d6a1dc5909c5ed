"""torch.func: composable function transforms (grad, vjp, jvp, jacrev, jacfwd, vmap) and
functional_call. See dist_torch/func/_transforms.py for what differs from torch."""

from dist_torch.func._functional_call import functional_call
from dist_torch.func._transforms import grad, grad_and_value, hessian, jacfwd, jacrev, jvp, vjp
from dist_torch.func._vmap import vmap

__all__ = ["grad", "grad_and_value", "vjp", "jvp", "jacrev", "jacfwd", "hessian", "vmap",
           "functional_call"]
