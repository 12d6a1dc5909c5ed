"""torch.optim: optimizers and learning-rate schedulers."""

from dist_torch.optim import lr_scheduler  # noqa: F401
from dist_torch.optim.adadelta import Adadelta
from dist_torch.optim.adagrad import Adagrad
from dist_torch.optim.adam import Adam
from dist_torch.optim.adamw import AdamW
from dist_torch.optim.optimizer import Optimizer
from dist_torch.optim.rmsprop import RMSprop
from dist_torch.optim.sgd import SGD

__all__ = ["Adadelta", "Adagrad", "Adam", "AdamW", "Optimizer", "RMSprop", "SGD",
           "lr_scheduler"]
