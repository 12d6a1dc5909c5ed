"""torch.optim: optimizers and learning-rate schedulers."""

from dist_torch.optim import lr_scheduler  # noqa: F401
from dist_torch.optim.adadelta import Adadelta
from dist_torch.optim.adafactor import Adafactor
from dist_torch.optim.adagrad import Adagrad
from dist_torch.optim.adam import Adam
from dist_torch.optim.adamax import Adamax
from dist_torch.optim.adamw import AdamW
from dist_torch.optim.asgd import ASGD
from dist_torch.optim.lbfgs import LBFGS
from dist_torch.optim.nadam import NAdam
from dist_torch.optim.optimizer import Optimizer
from dist_torch.optim.radam import RAdam
from dist_torch.optim.rmsprop import RMSprop
from dist_torch.optim.rprop import Rprop
from dist_torch.optim.sgd import SGD

__all__ = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS",
           "NAdam", "Optimizer", "RAdam", "RMSprop", "Rprop", "SGD", "lr_scheduler"]
